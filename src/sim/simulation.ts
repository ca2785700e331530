/**
 * One schedule: the production witness (ArbitrationService over the Arbiter) and two production
 * sidecar runtimes (SidecarRuntime over SidecarCore), on a virtual real-time clock with a virtual
 * network and faults. See src/sim/README.md for the model; the parts are:
 *  - world.ts: time, the event queue's clock, random streams, trace and violations;
 *  - network.ts: six directed links with delays, losses, duplicates and cuts;
 *  - witness-node.ts: the witness process and its store (writes, crashes, wipes);
 *  - sidecar-node.ts: each node's sidecar process; node-machine.ts: its workloads and watchdog;
 *  - faults.ts: the fault episodes; checkers.ts: S1, S2 and liveness.
 * After the fault phase every fault heals, and a final probe loses the active node (crash,
 * isolation or freeze): the other must take over within the bound (L1).
 */
import type { KeptRestartOutcome } from './node-parts';
import type { PastDeadlineLanding } from './held-answers';
import { scheduleStaleSyncs } from './sim-sync';
import { failoverBoundMs } from '../core/sidecar/timing';
import type { ArbiterConfig } from '../core/witness/arbiter-config';
import { Checkers } from './checkers';
import { EventQueue, type Task } from './event-queue';
import { Faults } from './faults';
import { PRODUCTION, type SimHooks } from './hooks';
import { Network } from './network';
import { type Plan, PRIMARY, SECONDARY } from './plan';
import { Rng } from './prng';
import { SidecarNode } from './sidecar-node';
import { isStale } from './stale-runs';
import { WitnessSite } from './witness-site';
import { Trace, type TraceLevel, type Violation, type ViolationKind, type World } from './world';

export type { TraceLevel, Violation, ViolationKind } from './world';

export interface ScheduleResult {
  readonly seed: number;
  readonly simulatedMs: number;
  readonly events: number;
  /** The first few violations of each kind/sub, in order. */
  readonly violations: readonly Violation[];
  /** How many of each kind/sub ('S1/two-running', ...), all of them. */
  readonly violationCounts: Readonly<Record<string, number>>;
  /** The final probe's failover time (real ms), when it ran and the other node took over. */
  readonly probeFailoverMs: number | undefined;
  /** Failovers seen during the fault phase (active node crashed, frozen or isolated). */
  readonly faultFailoversMs: readonly number[];
  /** Restarts that keep the workload (design §9.8), by how they ended. */
  readonly keptRestarts: Readonly<Record<KeptRestartOutcome, number>>;
  /** Answers that landed past their call's deadline (held-answers.ts), by what they landed on. */
  readonly answersPastDeadline: Readonly<Record<PastDeadlineLanding, number>>;
  readonly leaseMs: number;
  readonly failoverBoundMs: number;
  readonly activations: number;
  /** Acquires the freshness gate refused (design §21.6). */
  readonly gateRefusals: number;
  /** The probe's standby was refused by the gate and did not take over: no failover was owed. */
  readonly probeRefusedByGate: boolean;
  readonly timeline: readonly string[];
}

export interface ScheduleOptions {
  readonly hooks?: SimHooks;
  readonly trace?: TraceLevel;
  /** Stop the schedule at its first violation (the default: go on, collecting them all). */
  readonly stopAtFirstViolation?: boolean;
}

const MAX_VIOLATIONS_PER_KIND = 5;
/** The stream of the standby-freshness draws (design §21.6), apart from every other. */
const FRESHNESS_RUN_DRAWS = 0x6c3f7e21;
/** The stream of the whole-machine freezes' draws (design §14), apart from every other. */
const FREEZE_RUN_DRAWS = 0x2f4ee2e5;
/** The stream of the janitor's and the wall clock's draws (FORGET_KINDS), apart from every other. */
const FORGET_RUN_DRAWS = 0x2f0e6e77;

/** The probe waits for the pair to settle at most this many heartbeats. */
const PROBE_ATTEMPTS = 200;
/** The settled pair is watched for a lease and this many heartbeats before the probe. */
const QUIET_WATCH_HEARTBEATS = 5;

export class Simulation implements World {
  private readonly q = new EventQueue();
  t = 0;
  private events = 0;
  healed = false;
  private done = false;
  private quietWatched = false;
  private healAt = Number.NaN;
  readonly net: Rng;
  readonly proc: Rng;
  readonly fault: Rng;
  readonly operator: Rng;
  readonly restart: Rng;
  readonly freeze: Rng;
  readonly freshness: Rng;
  readonly forget: Rng;
  readonly trace: Trace;
  private readonly stopAtFirst: boolean;
  private readonly violations: Violation[] = [];
  private readonly violationCounts: Record<string, number> = {};

  private readonly network: Network;
  private readonly witness: WitnessSite;
  private readonly nodes: SidecarNode[];
  private readonly checkers: Checkers;
  private readonly faults: Faults;
  private incarnations = 0;
  private workloadIds = 0;

  constructor(
    readonly plan: Plan,
    options: ScheduleOptions = {},
  ) {
    const hooks = options.hooks ?? PRODUCTION;
    this.stopAtFirst = options.stopAtFirstViolation ?? false;
    const root = new Rng(plan.seed ^ 0x5eed5eed);
    this.net = root.fork();
    this.proc = root.fork();
    this.fault = root.fork();
    this.operator = root.fork();
    this.restart = root.fork();
    this.freshness = new Rng(plan.seed ^ FRESHNESS_RUN_DRAWS);
    this.freeze = new Rng(plan.seed ^ FREEZE_RUN_DRAWS);
    this.forget = new Rng(plan.seed ^ FORGET_RUN_DRAWS);
    this.network = new Network(this);
    const config: ArbiterConfig = hooks.arbiterConfig ? hooks.arbiterConfig(plan.witness, plan) : plan.witness;
    this.witness = new WitnessSite(this, this.network, config, {
      answerBeforePersist: hooks.answerBeforePersist === true,
      onGrant: (from, answer, runHeardBefore) => {
        this.checkNotSelfSuperseded(from, BigInt(answer.epoch), runHeardBefore);
        this.checkNotInMaintenance(from, answer.group);
      },
      onStaleRefusal: (from) => this.checkers.onStaleRefusal(this.nodes[from] as SidecarNode),
    });
    this.trace = new Trace(options.trace ?? 0, () => this.t, this.witness.gen0);
    this.checkers = new Checkers(
      this,
      this.network,
      this.witness,
      () => this.nodes,
      (afterMs) =>
        this.at(this.t + afterMs, () => {
          this.done = true;
        }),
    );
    this.nodes = [PRIMARY, SECONDARY].map(
      (index) =>
        new SidecarNode(index, index === PRIMARY ? plan.primary : plan.secondary, {
          world: this,
          network: this.network,
          witness: this.witness,
          observer: this.checkers,
          peer: () => this.nodes[1 - index] as SidecarNode,
          createCore: hooks.createSidecar,
          nextIncarnation: () => ++this.incarnations,
          nextWorkloadId: () => ++this.workloadIds,
        }),
    );
    this.faults = new Faults(this, {
      network: this.network,
      witness: this.witness,
      nodes: this.nodes,
      noteLoss: (node) => this.checkers.noteLoss(node),
    });
  }

  run(): ScheduleResult {
    const plan = this.plan;
    if (this.trace.on1) this.trace.log(1, 'sim', `schedule ${hex(plan.seed)}`);
    // A late first start: the pair starts cold with the witness down (design §10.2).
    this.at(plan.witnessFirstStartMs, () => this.witness.start(false, 'first start'));
    // The sidecars start within one heartbeat of each other.
    for (const node of this.nodes) this.at(this.proc.range(0, node.settings.heartbeatMs), () => node.startSidecar());
    this.faults.begin();
    scheduleStaleSyncs(
      this,
      this.nodes.map((n) => n.syncTruth),
    );
    this.at(plan.faultPhaseMs, () => this.heal());
    const q = this.q;
    try {
      while (!this.done && q.size > 0) {
        this.t = q.peekTime();
        const task = q.pop();
        this.events += 1;
        task();
      }
    } catch (error) {
      const e = error as Error;
      this.violate('error', 'exception', `${e.name}: ${e.message}\n${e.stack ?? ''}`);
    }
    const c = this.checkers;
    return {
      seed: plan.seed,
      simulatedMs: this.t,
      events: this.events,
      violations: this.violations,
      violationCounts: this.violationCounts,
      probeFailoverMs: c.probeFailover,
      faultFailoversMs: c.faultFailovers,
      keptRestarts: c.keptRestarts,
      answersPastDeadline: c.answersPastDeadline,
      leaseMs: plan.primary.leaseMs,
      failoverBoundMs: failoverBoundMs(plan.primary),
      activations: c.activations,
      gateRefusals: c.gateRefusals,
      probeRefusedByGate: c.probeFailover === undefined && c.gateRefusedSince(c.probeStartedAt),
      timeline: this.trace.lines,
    };
  }

  at(time: number, task: Task): void {
    this.q.push(time < this.t ? this.t : time, task);
  }

  violate(kind: ViolationKind, sub: string, detail: string): void {
    if (this.trace.on1) this.trace.log(1, '!!', `${kind} violation (${sub}): ${detail}`);
    const key = `${kind}/${sub}`;
    const seen = (this.violationCounts[key] ?? 0) + 1;
    this.violationCounts[key] = seen;
    // Every kind is kept, however many of another came first; each at most a few times.
    if (seen <= MAX_VIOLATIONS_PER_KIND) {
      this.violations.push({ kind, sub, at: this.t, detail, traceIndex: this.trace.lines.length });
    }
    if (this.stopAtFirst) this.done = true;
  }

  /** Design §9.6, §9.7: a node an operator put in maintenance, or removed, is granted nothing until taken out. */
  private checkNotInMaintenance(from: number, group: string): void {
    const node = this.nodes[from];
    if (node === undefined) return;
    if (this.witness.inMaintenance(group, node.settings.node))
      this.violate('liveness', 'granted-in-maintenance', `the witness grants ${node.name} while it is in maintenance`);
    if (this.witness.isRemoved(group, node.settings.node))
      this.violate('liveness', 'granted-while-removed', `the witness grants ${node.name} while it is removed`);
  }

  /**
   * L2 (design §3.4): the witness never grants a new epoch to a node whose workload runs healthily
   * under an older one (a late or duplicated Acquire of the running holder); that would stop a
   * healthy run for nothing.
   */
  private checkNotSelfSuperseded(from: number, epoch: bigint, runHeardBefore: bigint): void {
    const node = this.nodes[from];
    const running = node?.activeWorkload();
    if (node === undefined || running === undefined || running.epoch >= epoch) return;
    // A run frozen with its machine, or stale since, is not healthy: its lease may have lapsed at
    // the witness unrenewed (design §14), and a grant then is no fault.
    if (isStale(running, this.t)) return;
    // A cold run's epoch was agreed without the witness: a grant it decides for an Acquire it got
    // before it heard of the run (a paused or slow witness) may supersede it, and the run stops
    // (design §10.2). Once the node has said it runs under it, an older Acquire is refused.
    if (running.cold && runHeardBefore < running.epoch) return;
    this.violate(
      'liveness',
      'self-superseded',
      `the witness grants ${node.name} epoch ${this.trace.epoch(epoch)} while its workload runs healthily under ${this.trace.epoch(running.epoch)}`,
    );
  }

  // ---- the quiet tail and the probe ------------------------------------------------------------

  private heal(): void {
    this.healed = true;
    // Quiet from the moment the last message of the fault phase has landed: a message held back
    // for seconds is a fault too (a stale "I am up" keeps the peer from taking over).
    const healAt = Math.max(this.t, this.network.lastFaultArrival);
    this.healAt = healAt;
    this.network.endAllCuts();
    for (const node of this.nodes) node.syncTruth.failing = false;
    for (const node of this.nodes) node.thawMachine();
    if (this.trace.on1) this.trace.log(1, 'sim', 'HEAL: every fault ends; everything up and connected from now on');
    for (const node of this.nodes) {
      const sc = node.sidecar;
      // A hand-over still under way would end in an exit during the quiet tail: it ends now.
      if (sc?.handingOver === true) node.crashSidecar('exits at the heal, its hand-over unfinished');
      if (node.sidecar === undefined) node.startSidecar();
      else if (sc?.paused === true) node.resumeSidecar(sc.inc);
    }
    this.witness.healed();
    this.checkers.healed(healAt);
    this.at(healAt + this.plan.primary.heartbeatMs, () => this.probe(0));
  }

  /**
   * The failover probe, once the pair has settled after the heal: one node runs (its workload
   * reported running), the other stands by with nothing alive, the witness is past its start-up
   * grace and no workload crashed within a failure cool-down (the standby might have given up).
   */
  private probe(attempt: number): void {
    const s = this.plan.primary;
    const c = this.checkers;
    const retry = (): void => this.at(this.t + s.heartbeatMs, () => this.probe(attempt + 1));
    if (c.activeCount === 0) {
      // No active node: the gap check decides when that has lasted too long.
      if (!c.checkGap('gap-after-heal')) {
        this.done = true;
        return;
      }
      retry();
      return;
    }
    const victim = this.nodes.find((n) => n.activeWorkload() !== undefined) as SidecarNode;
    const other = this.nodes[1 - victim.index] as SidecarNode;
    const vw = victim.sidecar?.workload;
    const stretch = 1 / (1 - this.plan.rhoActual);
    const settled =
      vw !== undefined &&
      vw.alive &&
      !vw.terminating &&
      this.t - vw.startedAt >= s.heartbeatMs &&
      other.procs.length === 0 &&
      this.t >= this.witness.graceEnd &&
      this.t >= c.lastWorkloadCrash + c.cooldownAfterCrash();
    if (!settled && attempt < PROBE_ATTEMPTS) {
      retry();
      return;
    }
    if (settled && !this.quietWatched) {
      // Watch the settled pair for a lease and a few heartbeats before the probe (L2), once every
      // lease in force was asked for after the heal: one from the fault phase may end in a stop.
      const watchFrom = this.healAt + Math.max(s.leaseMs, s.peerLeaseMs) * stretch;
      if (this.t < watchFrom) {
        this.at(watchFrom, () => this.probe(attempt));
        return;
      }
      this.quietWatched = true;
      c.watchQuiet(true);
      this.at(this.t + s.leaseMs + QUIET_WATCH_HEARTBEATS * s.heartbeatMs, () => {
        c.watchQuiet(false);
        this.probe(attempt + 1);
      });
      return;
    }
    c.probeStarted(victim);
    const kind = this.plan.probe;
    if (this.trace.on1)
      this.trace.log(1, 'sim', `PROBE: the active node ${victim.name} is lost (${kind}); ${other.name} must take over`);
    if (kind === 'crash') victim.crashSidecar('CRASHES for good (probe)');
    else if (kind === 'pause') victim.pauseSidecar(Number.POSITIVE_INFINITY);
    else if (kind === 'sigterm') victim.sigtermSidecar(undefined);
    else {
      const others = [0, 1, 2].filter((p) => p !== victim.index);
      this.network.cut(
        others.flatMap((o) => [victim.index * 3 + o, o * 3 + victim.index]),
        'silent',
        Number.POSITIVE_INFINITY,
        `isolate ${victim.name} for good (probe)`,
      );
    }
    const limit = c.probeAllowance() * 3 + c.gapAllowance(this.t);
    this.at(this.t + limit, () => {
      if (c.probeFailover !== undefined) return;
      // The freshness gate refuses a standby too stale to take over: no failover is owed (design §21.6).
      if (c.gateRefusedSince(c.probeStartedAt)) {
        this.done = true;
        return;
      }
      this.violate(
        'liveness',
        'failover-probe',
        `${other.name} did not take over within ${limit.toFixed(1)}ms of losing ${victim.name}`,
      );
      this.done = true;
    });
  }
}

export function hex(seed: number): string {
  return `0x${(seed >>> 0).toString(16).padStart(8, '0')}`;
}
