/**
 * The sidecar's Prometheus metrics (design §19.3). One process serves one node, so `group` and
 * `node` go on every series as constant labels (the registry's defaults): a dashboard joins a
 * pair's two sidecars by `group` without any label growing with the fleet.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EPOCH_COUNTER_BITS } from '../core/epoch';
import { RULE_LISTS } from '../core/sidecar/decision-rules';
import type { Action, SidecarView, WorkloadPhase } from '../core/sidecar/types';
import { LATENCY_BUCKETS, programRegistry } from '../http/metrics-registry';

export const SIDECAR_METRICS_PREFIX = 'failover_sidecar_';

const PHASES: readonly WorkloadPhase[] = ['stopped', 'starting', 'running', 'stopping'];
const ACTIONS: ReadonlySet<string> = new Set<Action['kind']>(['start', 'stop', 'acquire', 'release']);
export type WitnessCall = 'Renew' | 'Acquire' | 'Release';
const WITNESS_CALLS: readonly WitnessCall[] = ['Renew', 'Acquire', 'Release'];
const COUNTER_MASK = (1n << EPOCH_COUNTER_BITS) - 1n;

export class SidecarMetrics {
  readonly registry: Registry;
  private readonly decisions: Counter<'rule' | 'action'>;
  private readonly witnessCalls: Histogram<'method' | 'result'>;

  constructor(group: string, node: string, view: () => SidecarView) {
    this.registry = programRegistry(SIDECAR_METRICS_PREFIX, { group, node });
    const registers = [this.registry];
    const p = SIDECAR_METRICS_PREFIX;
    this.decisions = new Counter({
      name: `${p}decisions_total`,
      help: "Actions the sidecar's rules took (start, stop, acquire, release), by rule.",
      labelNames: ['rule', 'action'],
      registers,
    });
    this.witnessCalls = new Histogram({
      name: `${p}witness_rpc_duration_seconds`,
      help: 'Calls to the witness, from sent to answered (or given up: result unanswered), by method.',
      labelNames: ['method', 'result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    for (const row of Object.values(RULE_LISTS).flat()) {
      if (ACTIONS.has(row.outcome)) this.decisions.inc({ rule: row.name, action: row.outcome }, 0);
    }
    for (const method of WITNESS_CALLS) {
      for (const result of ['answered', 'unanswered']) this.witnessCalls.zero({ method, result });
    }
    new Gauge({
      name: `${p}workload_state`,
      help: 'The workload phase: 1 for the current one of stopped, starting, running, stopping.',
      labelNames: ['state'],
      registers,
      collect() {
        const now = view().workload;
        for (const state of PHASES) this.set({ state }, state === now ? 1 : 0);
      },
    });
    const gauge = (name: string, help: string, value: (v: SidecarView) => number): void => {
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.set(value(view()));
        },
      });
    };
    gauge('holding', '1 while this node holds the group (at the witness, or by the peer in simple mode).', (v) =>
      v.holding ? 1 : 0,
    );
    gauge('peer_reachable', '1 while the peer sidecar answers heartbeats.', (v) => (v.peerUp ? 1 : 0));
    gauge('witness_reachable', '1 while the witness answers heartbeats.', (v) => (v.witnessUp ? 1 : 0));
    // An epoch is 63 bits, past a float's 53: in two exact halves (src/core/epoch.ts).
    gauge(
      'epoch_generation',
      "The epoch's store generation (its high bits): changes when the witness's store is new.",
      (v) => Number(v.epoch >> EPOCH_COUNTER_BITS),
    );
    gauge(
      'epoch_sequence',
      "The epoch's sequence number (its low 23 bits): one more at each grant in the group.",
      (v) => Number(v.epoch & COUNTER_MASK),
    );
    gauge(
      'stop_deadline_remaining_seconds',
      'Time left before a running workload must begin to stop; 0 when stopped.',
      (v) => v.msUntilStop / 1000,
    );
    gauge(
      'witness_lease_remaining_seconds',
      "The witness lease's time left at this node.",
      (v) => v.witnessLeaseMs / 1000,
    );
    gauge('peer_lease_remaining_seconds', "The peer lease's time left at this node.", (v) => v.peerLeaseMs / 1000);
  }

  acted(action: Action): void {
    this.decisions.inc({ rule: action.rule, action: action.kind });
  }

  /** Starts timing a call to the witness; the function returned ends it, answered or not. */
  timeWitnessCall(method: WitnessCall): (answered: boolean) => void {
    const end = this.witnessCalls.startTimer({ method });
    return (answered) => void end({ result: answered ? 'answered' : 'unanswered' });
  }
}
