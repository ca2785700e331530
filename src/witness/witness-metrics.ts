/**
 * The witness's Prometheus metrics (design §19.2). Every label takes values from a fixed set (rule
 * names, refusal reasons, verdicts, RPC method names), never a group or node name, so the series
 * count is the same at 2 groups and at 20,000. Per-group figures are Admin.ListGroups' (`witness
 * status --json`) and each sidecar's own /metrics. Label sets are created at start, at zero, so
 * that rate() sees the first event of each.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Arbiter } from '../core/witness/arbiter';
import { ACQUIRE_RULES, HEARTBEAT_RULES, RELEASE_RULES } from '../core/witness/rules';
import type { Decision, Verdict } from '../core/witness/types';
import { LATENCY_BUCKETS, programRegistry } from '../http/metrics-registry';
import { loadWitnessProto } from '../proto/load-proto';
import { type CensusFigures, GroupCensus } from './group-census';

export const WITNESS_METRICS_PREFIX = 'failover_witness_';

const RULES = [...HEARTBEAT_RULES, ...ACQUIRE_RULES, ...RELEASE_RULES];
const HEARTBEAT_RULE_NAMES = new Set(HEARTBEAT_RULES.map((rule) => rule.name));
const HEARTBEAT_VERDICTS: readonly Verdict[] = ['renewed', 'acknowledged', 'refused'];

/** The RPCs a latency is kept for: every call of Witness and Admin but Watch, which lasts as long as its watcher. */
export function timedMethods(): string[] {
  const v1 = loadWitnessProto().grpcObject.witness.v1;
  return [v1.Witness.service, v1.Admin.service].flatMap((service) =>
    Object.entries(service)
      .filter(([, method]) => method.requestStream || !method.responseStream)
      .map(([name]) => name),
  );
}

export class WitnessMetrics {
  readonly registry: Registry = programRegistry(WITNESS_METRICS_PREFIX);
  private readonly grants: Counter<'rule'>;
  private readonly refusals: Counter<'rule' | 'reason'>;
  private readonly renewals: Counter<'verdict'>;
  private readonly releases: Counter;
  private readonly rpcDuration: Histogram<'method'>;
  private readonly storeWrite: Histogram<'result'>;

  constructor(arbiter: Arbiter, now: () => number) {
    const registers = [this.registry];
    const p = WITNESS_METRICS_PREFIX;
    this.grants = new Counter({
      name: `${p}grants_total`,
      help: 'Grants of a new epoch, by rule.',
      labelNames: ['rule'],
      registers,
    });
    this.refusals = new Counter({
      name: `${p}refusals_total`,
      help: 'Requests refused, by rule and reason (a standby asking during a partition is refused each heartbeat).',
      labelNames: ['rule', 'reason'],
      registers,
    });
    this.renewals = new Counter({
      name: `${p}renewals_total`,
      help: 'Heartbeats (Renew, KeepAlive messages) answered, by verdict.',
      labelNames: ['verdict'],
      registers,
    });
    this.releases = new Counter({ name: `${p}releases_total`, help: 'Groups released by their holder.', registers });
    this.rpcDuration = new Histogram({
      name: `${p}rpc_duration_seconds`,
      help: 'From a call (or a KeepAlive message) in to its answer out, store write included, by method.',
      labelNames: ['method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeWrite = new Histogram({
      name: `${p}store_write_duration_seconds`,
      help: 'Durable writes of decisions and forgotten groups (fsync included), by result.',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.zeroEveryLabelSet();
    this.addCensusGauges(new GroupCensus(arbiter, now), arbiter, now);
  }

  /** A decision answered (after its write, if it needed one). */
  decided(decision: Decision): void {
    const { rule } = decision;
    const { verdict, reason } = decision.answer;
    if (HEARTBEAT_RULE_NAMES.has(rule)) this.renewals.inc({ verdict });
    if (verdict === 'granted') this.grants.inc({ rule });
    else if (verdict === 'refused') this.refusals.inc({ rule, reason: reason ?? '' });
    else if (verdict === 'released') this.releases.inc();
  }

  /** Starts timing one call of `method`; the function returned ends it. */
  timeCall(method: string): () => void {
    const end = this.rpcDuration.startTimer({ method });
    return () => void end();
  }

  /** How long a store write took, measured by the caller around it. */
  storeWritten(startedAt: number, ok: boolean): void {
    this.storeWrite.observe({ result: ok ? 'ok' : 'failed' }, (performance.now() - startedAt) / 1000);
  }

  private zeroEveryLabelSet(): void {
    for (const rule of RULES) {
      if (rule.outcome.kind === 'grant') this.grants.inc({ rule: rule.name }, 0);
      if (rule.outcome.kind === 'refuse') this.refusals.inc({ rule: rule.name, reason: rule.outcome.reason }, 0);
    }
    for (const verdict of HEARTBEAT_VERDICTS) this.renewals.inc({ verdict }, 0);
    for (const method of timedMethods()) this.rpcDuration.zero({ method });
    for (const result of ['ok', 'failed']) this.storeWrite.zero({ result });
  }

  private addCensusGauges(census: GroupCensus, arbiter: Arbiter, now: () => number): void {
    const gauge = (name: string, help: string, value: (f: CensusFigures) => number): void => {
      new Gauge({
        name: `${WITNESS_METRICS_PREFIX}${name}`,
        help,
        registers: [this.registry],
        async collect() {
          this.set(value(await census.figures()));
        },
      });
    };
    gauge('groups', 'Groups the witness knows.', (f) => f.groups);
    gauge('nodes', 'Nodes heard since this witness started, in all groups.', (f) => f.nodes);
    gauge('groups_held', "Groups whose holder's lease is live at the witness.", (f) => f.held);
    gauge('nodes_in_maintenance', 'Nodes an operator put in maintenance.', (f) => f.nodesInMaintenance);
    gauge(
      'nodes_removed',
      'Nodes an operator removed from their group, heard since the start or not.',
      (f) => f.nodesRemoved,
    );
    gauge('switchovers_pending', 'Groups whose holder was asked to hand over.', (f) => f.switchoversPending);
    gauge(
      'holder_lease_min_remaining_seconds',
      'The least lease left of any held group (NaN when none is held): a holder late to renew shows here first.',
      (f) => f.minHolderLeaseMs / 1000,
    );
    new Gauge({
      name: `${WITNESS_METRICS_PREFIX}in_startup_grace`,
      help: '1 while the start-up grace lasts: nothing new is granted, renewals are answered.',
      registers: [this.registry],
      collect() {
        this.set(arbiter.inStartupGrace(now()) ? 1 : 0);
      },
    });
  }
}
