/**
 * One schedule: the production witness Arbiter and two production SidecarCores, driven exactly as
 * the real shells drive them, on a virtual real-time clock with a virtual network and faults.
 *
 * Model (see src/sim/README.md for the long version):
 *  - Real time `t` is the simulator's; every party reads only its own monotonic clock, which runs
 *    at a constant rate within [1-rhoActual, 1+rhoActual] of real time, from an origin that is new
 *    for every process incarnation (performance.now() starts again in a new process).
 *  - Six directed links, each with its own delay, jitter, loss, duplication and reordering, and
 *    with silent (blackhole) and resetting (connection refused) cuts. Every call has a deadline.
 *  - The witness persists a decision (FIFO writes, random fsync time) before it answers; a crash
 *    loses writes not yet durable; a wipe starts a new store with a generation from a wall clock
 *    that only moves forward.
 *  - Per node: the sidecar process (may crash, restart with a new core, or pause), the workload
 *    processes and their watchdog. The watchdog SIGTERMs the workload at the last stop deadline it
 *    was fed, and at once when the sidecar dies; SIGKILL after the stop timeout; the process is
 *    dead at most KILL_SETTLE_MS later.
 *
 * Checks: S1 (two workload processes of different nodes alive at one instant), S2 (an activation
 * whose epoch is not above every earlier activation's), liveness after the faults heal (no stretch
 * without an active node longer than the bound the configuration implies, plus a documented slack),
 * and L1 on a final failover probe (the active node crashes, is isolated or frozen; the other node
 * must start within the bound).
 */
import { EPOCH_COUNTER_BITS, generationForOpen, generationFromWallClock } from '../core/epoch';
import { restartGrace } from '../core/lease';
import type { SidecarCore } from '../core/sidecar/sidecar-core';
import { failoverBoundMs, KILL_SETTLE_MS, stopBudget } from '../core/sidecar/timing';
import type { Action, PeerReply, SidecarSettings, WitnessAnswer } from '../core/sidecar/types';
import { Arbiter, type ArbiterConfig } from '../core/witness/arbiter';
import { ArbitrationError } from '../core/witness/errors';
import type { Decision, DurableGroup, LeaseAnswer } from '../core/witness/types';
import { EventQueue, type Task } from './event-queue';
import { createSidecar, PRODUCTION, type SimHooks } from './hooks';
import { type EpisodeKind, type Plan, PARTY_NAMES, PRIMARY, SECONDARY, WITNESS } from './plan';
import { Rng } from './prng';

export type ViolationKind = 'S1' | 'S2' | 'liveness' | 'error';

export interface Violation {
  readonly kind: ViolationKind;
  /** Which rule, e.g. 'same-epoch-restart', 'gap-after-heal', 'failover-probe'. */
  readonly sub: string;
  /** Real simulated time, ms. */
  readonly at: number;
  readonly detail: string;
  /** Number of timeline lines written when it was found (when tracing). */
  readonly traceIndex: number;
}

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
  /**
   * Observations that are not violations of S1/S2/L1 but worth counting, e.g. 'self-superseded':
   * the witness granted a node a new epoch while that node's workload ran healthily under the
   * previous one (a delayed or duplicated Acquire); the node then stops it (design §3.4).
   */
  readonly notes: Readonly<Record<string, number>>;
  readonly leaseMs: number;
  readonly failoverBoundMs: number;
  readonly activations: number;
  readonly timeline: readonly string[];
}

/** 0: no timeline; 1: notable events (the default timeline); 2: every message as well. */
export type TraceLevel = 0 | 1 | 2;

export interface ScheduleOptions {
  readonly hooks?: SimHooks;
  readonly trace?: TraceLevel;
  /** Stop the schedule at its first violation (the default: go on, collecting them all). */
  readonly stopAtFirstViolation?: boolean;
}

/** The wall clock at the start of every schedule (only the witness reads it, to pick generations). */
const WALL0_MS = 1_750_000_000_000;
const MAX_VIOLATIONS_PER_KIND = 5;
/** Timers are set a hair after the local deadline they wait for, so the clock reads >= it. */
const TIMER_EPSILON_MS = 1e-6;
const COUNTER_MASK = (1n << EPOCH_COUNTER_BITS) - 1n;

interface LinkState {
  /** Active silent cuts: messages vanish, calls time out. */
  silent: number;
  /** Active resetting cuts: requests are refused at once. */
  reset: number;
}

class Workload {
  alive = true;
  /** SIGTERM sent (by the sidecar or the watchdog); no longer counts as active for liveness. */
  terminating = false;
  /** Watchdog: the last deadline fed (sidecar's clock), and a token that cancels older timers. */
  fedDeadline = Number.NaN;
  watchdogToken = 0;

  constructor(
    readonly id: number,
    readonly machine: number,
    readonly owner: number,
    readonly epoch: bigint,
    readonly startedAt: number,
  ) {}
}

class SidecarProc {
  paused = false;
  /** Inputs that arrived while paused, replayed in order at SIGCONT. */
  deferred: Task[] = [];
  tickDeferred = false;
  workload: Workload | undefined;
  armedDeadline = Number.NaN;
  deadlineToken = 0;
  lastStatus = '';
  /** Cancels the SIGCONT of an earlier pause when the process is resumed otherwise. */
  pauseToken = 0;
  core!: SidecarCore;

  constructor(
    readonly inc: number,
    /** This process's clock origin: local = rate * t + offset. */
    readonly offset: number,
  ) {}
}

interface Machine {
  readonly index: number;
  readonly name: string;
  readonly rate: number;
  readonly settings: SidecarSettings;
  sidecar: SidecarProc | undefined;
  procs: Workload[];
}

interface WitnessProc {
  up: boolean;
  inc: number;
  offset: number;
  arbiter: Arbiter | undefined;
  /** Real time at which its start-up grace ends. */
  graceEnd: number;
  /** Requests held back while their group's decision waits for its write, in arrival order. */
  waiting: Task[];
}

interface Store {
  /** False until the first start creates it. */
  created: boolean;
  generation: bigint;
  records: Map<string, DurableGroup>;
  /** Real time at which the last queued write becomes durable (writes land in call order). */
  tail: number;
}

export class Simulation {
  private readonly q = new EventQueue();
  private t = 0;
  private events = 0;
  private readonly hooks: SimHooks;
  private readonly traceLevel: TraceLevel;
  private readonly tr1: boolean;
  private readonly tr2: boolean;
  private readonly stopAtFirst: boolean;
  private readonly timeline: string[] = [];
  private readonly violations: Violation[] = [];
  private readonly violationCounts: Record<string, number> = {};
  private done = false;

  private readonly net: Rng;
  private readonly proc: Rng;
  private readonly fault: Rng;
  private readonly machines: Machine[];
  private readonly witness: WitnessProc;
  private store: Store;
  private readonly gen0: bigint;
  private readonly witnessConfig: ArbiterConfig;
  private readonly links: LinkState[] = [];
  private readonly activeEpisodes = new Map<number, () => void>();
  private episodeIds = 0;
  private incarnations = 0;
  private workloadIds = 0;
  private healed = false;

  // S1 / S2
  private overlapping = false;
  private maxActivated = 0n;
  private maxActivatedBy = -1;
  private activations = 0;

  // liveness
  private activeCount = 0;
  private gapStart = 0;
  private healAt = Number.NaN;
  /** When the last message sent during the fault phase arrives (held-back messages included). */
  private lastFaultArrival = 0;
  private lastWorkloadCrash = Number.NEGATIVE_INFINITY;
  private readonly maxTailDelay: number;
  private probeAt = Number.NaN;
  private probeVictim = -1;
  private probeFailover: number | undefined;
  private faultCandidate: { node: number; at: number } | undefined;
  private readonly faultFailovers: number[] = [];
  private readonly notes: Record<string, number> = {};

  constructor(
    private readonly plan: Plan,
    options: ScheduleOptions = {},
  ) {
    this.hooks = options.hooks ?? PRODUCTION;
    this.traceLevel = options.trace ?? 0;
    this.tr1 = this.traceLevel >= 1;
    this.tr2 = this.traceLevel >= 2;
    this.stopAtFirst = options.stopAtFirstViolation ?? false;
    const root = new Rng(plan.seed ^ 0x5eed5eed);
    this.net = root.fork();
    this.proc = root.fork();
    this.fault = root.fork();
    for (let i = 0; i < 9; i += 1) this.links.push({ silent: 0, reset: 0 });
    let maxTail = 0;
    for (let from = 0; from < 3; from += 1) {
      for (let to = 0; to < 3; to += 1) {
        if (from === to) continue;
        const l = plan.links[from * 3 + to];
        if (l !== undefined) maxTail = Math.max(maxTail, l.baseDelayMs + l.jitterMs);
      }
    }
    this.maxTailDelay = maxTail;
    this.machines = [PRIMARY, SECONDARY].map((index) => ({
      index,
      name: PARTY_NAMES[index] as string,
      rate: plan.clockRates[index] as number,
      settings: index === PRIMARY ? plan.primary : plan.secondary,
      sidecar: undefined,
      procs: [],
    }));
    this.witnessConfig = this.hooks.arbiterConfig ? this.hooks.arbiterConfig(plan.witness, plan) : plan.witness;
    this.gen0 = generationFromWallClock(WALL0_MS);
    this.store = { created: false, generation: this.gen0, records: new Map(), tail: 0 };
    this.witness = { up: false, inc: 0, offset: 0, arbiter: undefined, graceEnd: 0, waiting: [] };
  }

  run(): ScheduleResult {
    const plan = this.plan;
    if (this.tr1) this.log(1, 'sim', `schedule ${hex(plan.seed)}`);
    this.startWitness(false, 'first start');
    // The sidecars start within one heartbeat of each other.
    for (const m of this.machines) {
      this.at(this.proc.range(0, m.settings.heartbeatMs), () => this.startSidecar(m));
    }
    for (const [kind, episode] of Object.entries(plan.episodes)) {
      this.at(this.fault.exp(episode.meanGapMs), () => this.episode(kind as EpisodeKind));
    }
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
    return {
      seed: plan.seed,
      simulatedMs: this.t,
      events: this.events,
      violations: this.violations,
      violationCounts: this.violationCounts,
      probeFailoverMs: this.probeFailover,
      faultFailoversMs: this.faultFailovers,
      notes: this.notes,
      leaseMs: plan.primary.leaseMs,
      failoverBoundMs: failoverBoundMs(plan.primary),
      activations: this.activations,
      timeline: this.timeline,
    };
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private at(time: number, task: Task): void {
    this.q.push(time < this.t ? this.t : time, task);
  }

  private log(level: 1 | 2, who: string, text: string): void {
    if (this.traceLevel < level) return;
    this.timeline.push(`${this.t.toFixed(3).padStart(11)}  ${who.padEnd(3)} ${text}`);
  }

  private violate(kind: ViolationKind, sub: string, detail: string): void {
    if (this.tr1) this.log(1, '!!', `${kind} violation (${sub}): ${detail}`);
    const key = `${kind}/${sub}`;
    const seen = (this.violationCounts[key] ?? 0) + 1;
    this.violationCounts[key] = seen;
    // Every kind is kept, however many of another came first; each at most a few times.
    if (seen <= MAX_VIOLATIONS_PER_KIND) {
      this.violations.push({ kind, sub, at: this.t, detail, traceIndex: this.timeline.length });
    }
    if (this.stopAtFirst) this.done = true;
  }

  private e(epoch: bigint): string {
    if (epoch === 0n) return '0';
    const gen = epoch >> EPOCH_COUNTER_BITS;
    const counter = epoch & COUNTER_MASK;
    return gen === this.gen0 ? `${counter}` : `${gen - this.gen0}:${counter}`;
  }

  private localNow(m: Machine, sc: SidecarProc): number {
    return m.rate * this.t + sc.offset;
  }

  private witnessNow(): number {
    return (this.plan.clockRates[WITNESS] as number) * this.t + this.witness.offset;
  }

  /**
   * Runs `fn` in the sidecar process incarnation `inc` of machine `m`: dropped if that process is
   * gone, queued until SIGCONT if it is paused.
   */
  private gate(m: Machine, inc: number, fn: (sc: SidecarProc) => void): void {
    const sc = m.sidecar;
    if (sc === undefined || sc.inc !== inc) return;
    if (sc.paused) {
      sc.deferred.push(() => this.gate(m, inc, fn));
      return;
    }
    fn(sc);
  }

  // ---- network ---------------------------------------------------------------------------------

  private delay(from: number, to: number): number {
    const l = this.plan.links[from * 3 + to];
    if (l === undefined) return 0;
    let d = l.baseDelayMs + this.net.next() * l.jitterMs;
    if (!this.healed && l.spike > 0 && this.net.next() < l.spike) d += this.net.exp(l.spikeMeanMs);
    return d;
  }

  /**
   * Sends one message. `onRefused` runs (at the sender) when the link resets it; silent cuts and
   * losses drop it without a word. A cut that starts while the message flies also drops it.
   */
  private transmit(from: number, to: number, what: string, onArrive: () => void, onRefused: Task | undefined): void {
    const link = this.links[from * 3 + to] as LinkState;
    const name = this.tr2 ? `${PARTY_NAMES[from]}->${PARTY_NAMES[to]}` : '';
    if (link.silent > 0) {
      if (this.tr2) this.log(2, 'net', `${name} ${what}: vanishes (cut)`);
      return;
    }
    if (link.reset > 0) {
      if (this.tr2) this.log(2, 'net', `${name} ${what}: refused (reset)`);
      if (onRefused !== undefined) this.at(this.t + 0.5, onRefused);
      return;
    }
    const l = this.plan.links[from * 3 + to];
    if (!this.healed && l !== undefined && l.loss > 0 && this.net.next() < l.loss) {
      if (this.tr2) this.log(2, 'net', `${name} ${what}: lost`);
      return;
    }
    const arrival = this.t + this.delay(from, to);
    if (!this.healed && arrival > this.lastFaultArrival) this.lastFaultArrival = arrival;
    const deliver = (): void => {
      if (link.silent > 0 || link.reset > 0) {
        if (this.tr2) this.log(2, 'net', `${name} ${what}: vanishes in flight (cut)`);
        return;
      }
      onArrive();
    };
    this.at(arrival, deliver);
    if (!this.healed && l !== undefined && l.duplication > 0 && this.net.next() < l.duplication) {
      if (this.tr2) this.log(2, 'net', `${name} ${what}: duplicated`);
      const again = this.t + this.delay(from, to);
      if (again > this.lastFaultArrival) this.lastFaultArrival = again;
      this.at(again, deliver);
    }
  }

  /**
   * A call from a sidecar: answered at most once; after the deadline the answer is ignored and
   * `onFail` (acquire and release only) runs. Every callback is an input: decide() follows.
   */
  private call<A>(
    m: Machine,
    sc: SidecarProc,
    onAnswer: (sc: SidecarProc, now: number, answer: A) => void,
    onFail: ((sc: SidecarProc, now: number) => void) | undefined,
  ): { answer: (a: A) => void; fail: Task } {
    const inc = sc.inc;
    const deadline = this.t + this.plan.callDeadlineMs / m.rate;
    let done = false;
    const answer = (a: A): void =>
      this.gate(m, inc, (s) => {
        // A call without a failure callback needs no timer: an answer after the deadline is dropped.
        if (done || this.t > deadline) return;
        done = true;
        const now = this.localNow(m, s);
        onAnswer(s, now, a);
        this.decideAndAct(m, s, now);
      });
    const fail = (): void =>
      this.gate(m, inc, (s) => {
        if (done) return;
        done = true;
        if (onFail === undefined) return;
        const now = this.localNow(m, s);
        onFail(s, now);
        this.decideAndAct(m, s, now);
      });
    if (onFail !== undefined) this.at(deadline, fail);
    return { answer, fail };
  }

  // ---- the witness -----------------------------------------------------------------------------

  private startWitness(wipe: boolean, why: string): void {
    const w = this.witness;
    if (w.up) return;
    const wall = WALL0_MS + this.t;
    if (wipe || !this.store.created) {
      this.store = { created: true, generation: generationFromWallClock(wall), records: new Map(), tail: this.t };
    } else {
      // The real shell's open: a generation above everything recorded, never ahead of the wall clock.
      const open = generationForOpen(
        this.store.generation,
        [...this.store.records.values()].map((r) => r.epoch),
        wall,
      );
      if (open.aheadOfWallClockMs > 0) {
        this.at(this.t + open.aheadOfWallClockMs, () => this.startWitness(false, why));
        return;
      }
      this.store.generation = open.generation;
    }
    w.up = true;
    w.inc += 1;
    w.waiting = [];
    w.offset = this.proc.range(0, 1e6);
    const now = this.witnessNow();
    w.arbiter = new Arbiter(this.witnessConfig, {
      now,
      generation: this.store.generation,
      records: [...this.store.records.values()],
    });
    const rate = this.plan.clockRates[WITNESS] as number;
    w.graceEnd = this.t + restartGrace(this.witnessConfig.maxLeaseMs, this.witnessConfig.bounds) / rate;
    const rec = this.store.records.get(this.plan.primary.group);
    if (this.tr1)
      this.log(
        1,
        'W',
        `witness starts (${why})${wipe ? ' with a WIPED store' : ''}: generation ${this.store.generation - this.gen0}, ` +
          `record ${rec === undefined ? 'none' : `${rec.holder || '-'}@${this.e(rec.epoch)}`}`,
      );
  }

  private crashWitness(why: string, downMs: number): void {
    const w = this.witness;
    if (!w.up) return;
    w.up = false;
    w.inc += 1;
    w.arbiter = undefined;
    // Requests held back behind a write die with the process: their callers time out.
    w.waiting = [];
    this.store.tail = this.t;
    if (this.tr1) this.log(1, 'W', `witness CRASHES (${why}); down for ${downMs.toFixed(1)}ms`);
    const inc = w.inc;
    this.at(this.t + downMs, () => {
      if (w.up || w.inc !== inc) return;
      const wipe = !this.healed && this.plan.wipeProbability > 0 && this.fault.chance(this.plan.wipeProbability);
      this.startWitness(wipe, 'restart');
    });
  }

  /** A request reaches the witness machine. */
  private witnessReceive(
    from: number,
    what: string,
    run: (arbiter: Arbiter, now: number) => Decision,
    answer: (a: WitnessAnswer) => void,
    fail: Task,
  ): void {
    const w = this.witness;
    const arbiter = w.arbiter;
    if (!w.up || arbiter === undefined) {
      if (this.tr2) this.log(2, 'W', `${what} from ${PARTY_NAMES[from]}: witness down, connection refused`);
      this.transmit(WITNESS, from, 'refusal', fail, undefined);
      return;
    }
    // The one group's last decision still waits for its write: this request waits behind it.
    if (arbiter.isPending(this.plan.primary.group)) {
      if (this.tr2) this.log(2, 'W', `${what} from ${PARTY_NAMES[from]}: waits for the group's write`);
      w.waiting.push(() => this.witnessReceive(from, what, run, answer, fail));
      return;
    }
    let decision: Decision;
    try {
      decision = run(arbiter, this.witnessNow());
    } catch (error) {
      if (!(error instanceof ArbitrationError)) throw error;
      if (this.tr1) this.log(1, 'W', `${what} from ${PARTY_NAMES[from]}: error ${error.kind}: ${error.message}`);
      this.transmit(WITNESS, from, 'error', fail, undefined);
      return;
    }
    const a = decision.answer;
    const reply = toWitnessAnswer(a);
    if (a.verdict === 'granted') {
      const m = this.machines[from] as Machine;
      const running = m.procs.find((p) => p.alive && !p.terminating);
      if (running !== undefined && running.epoch < a.epoch) {
        this.notes['self-superseded'] = (this.notes['self-superseded'] ?? 0) + 1;
        if (this.tr1)
          this.log(
            1,
            'W',
            `note: grants ${m.name} a new epoch while its workload runs under ${this.e(running.epoch)} (a late Acquire)`,
          );
      }
    }
    if (this.tr1) {
      const text =
        `${what} from ${PARTY_NAMES[from]}: ${a.verdict}${a.reason ? ` (${a.reason})` : ''} ` +
        `holder ${a.holder || '-'}@${this.e(a.epoch)} [${decision.rule}]` +
        (a.retryAfterMs > 0 ? ` retry ${a.retryAfterMs}ms` : '');
      if (this.traceLevel >= (a.verdict === 'renewed' || a.verdict === 'acknowledged' ? 2 : 1)) this.log(1, 'W', text);
    }
    const send = (): void => this.transmit(WITNESS, from, `answer ${a.verdict}`, () => answer(reply), undefined);
    if (decision.persist === undefined) {
      send();
      return;
    }
    this.persist(decision, send, () => this.transmit(WITNESS, from, 'error', fail, undefined));
  }

  /** The group's write settled: what waited behind it runs, until one leaves a write pending again. */
  private runWaiting(): void {
    const w = this.witness;
    while (w.waiting.length > 0 && w.arbiter !== undefined && !w.arbiter.isPending(this.plan.primary.group)) {
      (w.waiting.shift() as Task)();
    }
  }

  /**
   * The record is durable before the answer leaves (unless a broken shell is simulated), and the
   * decision takes effect only then; a write that fails (write-failure) rolls it back.
   */
  private persist(decision: Decision, send: Task, refuse: Task): void {
    const record = decision.persist as DurableGroup;
    const w = this.witness;
    const inc = w.inc;
    const start = Math.max(this.t, this.store.tail);
    const durableAt = start + this.proc.range(0, this.plan.writeDelayMaxMs);
    this.store.tail = durableAt;
    const answerFirst = this.hooks.answerBeforePersist === true;
    let crash: 'none' | 'before' | 'after' = 'none';
    if (!this.healed && this.plan.crashOnWriteProbability > 0 && this.fault.chance(this.plan.crashOnWriteProbability)) {
      crash = this.fault.chance(0.5) ? 'before' : 'after';
    }
    const fails =
      !this.healed && this.plan.writeFailProbability > 0 && this.fault.chance(this.plan.writeFailProbability);
    const downMs = this.fault.range(1, 0.5 * this.plan.primary.leaseMs);
    if (answerFirst) send();
    if (crash === 'before') {
      this.at(this.proc.range(this.t, durableAt), () => {
        if (w.inc === inc) this.crashWitness('crash while a store write is in flight', downMs);
      });
    }
    this.at(durableAt, () => {
      if (w.inc !== inc) {
        if (this.tr1)
          this.log(1, 'W', `write ${record.holder || '-'}@${this.e(record.epoch)} LOST (witness crashed first)`);
        return;
      }
      const arbiter = w.arbiter as Arbiter;
      if (fails) {
        if (this.tr1) this.log(1, 'W', `write ${record.holder || '-'}@${this.e(record.epoch)} FAILS (disk full)`);
        arbiter.abort(record.group);
        if (!answerFirst) refuse();
        this.runWaiting();
        return;
      }
      if (decision.generation !== undefined && decision.generation > this.store.generation)
        this.store.generation = decision.generation;
      this.store.records.set(record.group, record);
      arbiter.commit(record.group);
      if (this.tr1) this.log(1, 'W', `durable: ${record.holder || '-'}@${this.e(record.epoch)}`);
      if (crash === 'after') {
        this.crashWitness('crash after the write, before the answer', downMs);
        return;
      }
      if (!answerFirst) send();
      this.runWaiting();
    });
  }

  // ---- the sidecars ----------------------------------------------------------------------------

  private startSidecar(m: Machine): void {
    if (m.sidecar !== undefined) return;
    const sc = new SidecarProc(++this.incarnations, this.proc.range(0, 1e6));
    m.sidecar = sc;
    sc.core = createSidecar(this.hooks, m.settings, this.localNow(m, sc));
    if (this.tr1) this.log(1, m.name, `sidecar starts (incarnation ${sc.inc})`);
    const inc = sc.inc;
    this.at(this.t + this.proc.range(0, m.settings.heartbeatMs) / m.rate, () => this.tick(m, inc));
  }

  private crashSidecar(m: Machine, why: string): void {
    const sc = m.sidecar;
    if (sc === undefined) return;
    m.sidecar = undefined;
    if (this.tr1) this.log(1, m.name, `sidecar ${why}`);
    for (const w of m.procs) {
      if (w.owner === sc.inc && w.alive && !w.terminating)
        this.beginStop(w, 'watchdog: the sidecar is gone (pipe closed)');
    }
  }

  private pauseSidecar(m: Machine, ms: number): void {
    const sc = m.sidecar;
    if (sc === undefined || sc.paused) return;
    sc.paused = true;
    const token = ++sc.pauseToken;
    if (this.tr1)
      this.log(
        1,
        m.name,
        Number.isFinite(ms) ? `sidecar PAUSED (SIGSTOP) for ${ms.toFixed(1)}ms` : 'sidecar PAUSED for good',
      );
    if (Number.isFinite(ms)) this.at(this.t + ms, () => this.resumeSidecar(m, sc.inc, token));
  }

  private resumeSidecar(m: Machine, inc: number, token: number): void {
    const sc = m.sidecar;
    if (sc === undefined || sc.inc !== inc || !sc.paused || sc.pauseToken !== token) return;
    sc.paused = false;
    sc.pauseToken += 1;
    if (this.tr1) this.log(1, m.name, `sidecar resumes (SIGCONT), ${sc.deferred.length} queued inputs`);
    const queued = sc.deferred;
    sc.deferred = [];
    for (const task of queued) task();
  }

  private tick(m: Machine, inc: number): void {
    const sc = m.sidecar;
    if (sc === undefined || sc.inc !== inc) return;
    if (sc.paused) {
      // Timers that fire while the process is stopped run once, at SIGCONT.
      if (!sc.tickDeferred) {
        sc.tickDeferred = true;
        sc.deferred.push(() => this.tick(m, inc));
      }
      return;
    }
    sc.tickDeferred = false;
    const now = this.localNow(m, sc);
    this.sendWitnessHeartbeat(m, sc, now);
    this.sendPeerHeartbeat(m, sc, now);
    this.decideAndAct(m, sc, now);
    this.at(this.t + m.settings.heartbeatMs / m.rate, () => this.tick(m, inc));
  }

  private sendWitnessHeartbeat(m: Machine, sc: SidecarProc, now: number): void {
    const hb = sc.core.witnessHeartbeat();
    const sentAt = now;
    const s = m.settings;
    const input = {
      group: s.group,
      node: s.node,
      role: s.role,
      heldEpoch: hb.heldEpoch,
      knownEpoch: hb.knownEpoch,
      leaseMs: hb.leaseMs,
    };
    const c = this.call<WitnessAnswer>(
      m,
      sc,
      (s2, n, a) => {
        if (this.tr2)
          this.log(
            2,
            m.name,
            `witness answers heartbeat (held ${this.e(hb.heldEpoch)}): ${a.verdict} ${a.holder || '-'}@${this.e(a.epoch)}`,
          );
        s2.core.onWitnessHeartbeatAnswer(sentAt, hb.heldEpoch, a, n);
      },
      undefined,
    );
    if (this.tr2) this.log(2, m.name, `heartbeat -> W (held ${this.e(hb.heldEpoch)}, known ${this.e(hb.knownEpoch)})`);
    this.transmit(
      m.index,
      WITNESS,
      'heartbeat',
      () => this.witnessReceive(m.index, 'heartbeat', (a, wn) => a.heartbeat(input, wn), c.answer, c.fail),
      c.fail,
    );
  }

  private sendPeerHeartbeat(m: Machine, sc: SidecarProc, now: number): void {
    const state = sc.core.peerState(now);
    const sentAt = now;
    const sentEpoch = state.epoch;
    const other = this.machines[1 - m.index] as Machine;
    const c = this.call<PeerReply>(
      m,
      sc,
      (s2, n, reply) => {
        if (this.tr2)
          this.log(
            2,
            m.name,
            `peer reply: ${reply.state.workload}@${this.e(reply.state.epoch)}` +
              (reply.leaseMs > 0 ? `, peer lease ${reply.leaseMs}ms for ${this.e(reply.leaseForEpoch)}` : ''),
          );
        s2.core.onPeerReply(sentAt, sentEpoch, reply, n);
      },
      undefined,
    );
    if (this.tr2) this.log(2, m.name, `peer heartbeat -> ${other.name} (${state.workload}@${this.e(state.epoch)})`);
    this.transmit(
      m.index,
      other.index,
      'peer heartbeat',
      () => {
        const target = other.sidecar;
        if (target === undefined) {
          this.transmit(other.index, m.index, 'refusal', c.fail, undefined);
          return;
        }
        this.gate(other, target.inc, (s2) => {
          const n = this.localNow(other, s2);
          const reply = s2.core.onPeerHeartbeat(state, n);
          if (this.tr2)
            this.log(
              2,
              other.name,
              `peer heartbeat from ${m.name} (${state.workload}@${this.e(state.epoch)})` +
                (reply.leaseMs > 0 ? `: grants a peer lease for ${this.e(reply.leaseForEpoch)}` : ''),
            );
          this.transmit(other.index, m.index, 'peer reply', () => c.answer(reply), undefined);
          this.decideAndAct(other, s2, n);
        });
      },
      c.fail,
    );
  }

  private sendAcquire(m: Machine, sc: SidecarProc, now: number): void {
    const sentAt = now;
    const s = m.settings;
    const input = {
      group: s.group,
      node: s.node,
      knownEpoch: sc.core.witnessHeartbeat().knownEpoch,
      leaseMs: s.leaseMs,
    };
    const c = this.call<WitnessAnswer>(
      m,
      sc,
      (s2, n, a) => {
        if (this.tr1) this.log(1, m.name, `acquire answered: ${a.verdict} ${a.holder || '-'}@${this.e(a.epoch)}`);
        s2.core.onAcquireAnswer(sentAt, a, n);
      },
      (s2, n) => {
        if (this.tr1) this.log(1, m.name, 'acquire failed (deadline, refused or error)');
        s2.core.onAcquireAnswer(sentAt, undefined, n);
      },
    );
    if (this.tr1) this.log(1, m.name, `acquire -> W (known ${this.e(input.knownEpoch)})`);
    this.transmit(
      m.index,
      WITNESS,
      'acquire',
      () => this.witnessReceive(m.index, 'acquire', (a, wn) => a.acquire(input, wn), c.answer, c.fail),
      c.fail,
    );
  }

  private sendRelease(m: Machine, sc: SidecarProc, epoch: bigint): void {
    const s = m.settings;
    const input = { group: s.group, node: s.node, epoch, knownEpoch: sc.core.witnessHeartbeat().knownEpoch };
    const c = this.call<WitnessAnswer>(
      m,
      sc,
      (s2, n, a) => {
        if (this.tr1) this.log(1, m.name, `release answered: ${a.verdict}`);
        s2.core.onReleaseAnswer(epoch, a, n);
      },
      (s2, n) => {
        if (this.tr1) this.log(1, m.name, 'release failed');
        s2.core.onReleaseAnswer(epoch, undefined, n);
      },
    );
    if (this.tr1) this.log(1, m.name, `release ${this.e(epoch)} -> W`);
    this.transmit(
      m.index,
      WITNESS,
      'release',
      () => this.witnessReceive(m.index, 'release', (a, wn) => a.release(input, wn), c.answer, c.fail),
      c.fail,
    );
  }

  /** decide(), carry out the actions, feed the watchdog, set the timer for the stop deadline. */
  private decideAndAct(m: Machine, sc: SidecarProc, now: number): void {
    const actions = sc.core.decide(now);
    for (const action of actions) this.act(m, sc, action, now);
    this.feedWatchdog(m, sc, now);
    this.armDeadline(m, sc, now);
    if (this.traceLevel > 0) {
      const v = sc.core.view(now);
      const status =
        `${v.workload}@${this.e(v.epoch)} known ${this.e(v.knownEpoch)}${v.holding ? ' holding' : ''} ` +
        `peer ${v.peerUp ? 'up' : 'down'} witness ${v.witnessUp ? 'up' : 'down'}`;
      if (status !== sc.lastStatus) {
        sc.lastStatus = status;
        if (this.tr1) this.log(1, m.name, `status: ${status} (${v.lastDecision})`);
      }
    }
  }

  private act(m: Machine, sc: SidecarProc, action: Action, now: number): void {
    switch (action.kind) {
      case 'start':
        this.startWorkload(m, sc, action.epoch, action.why);
        return;
      case 'stop': {
        const w = sc.workload;
        if (this.tr1) this.log(1, m.name, `decides STOP: ${action.why}`);
        if (w !== undefined && w.alive && !w.terminating) this.beginStop(w, `sidecar: ${action.why}`);
        return;
      }
      case 'acquire':
        this.sendAcquire(m, sc, now);
        return;
      case 'release':
        this.sendRelease(m, sc, action.epoch);
        return;
    }
  }

  // ---- workloads and watchdogs -----------------------------------------------------------------

  private startWorkload(m: Machine, sc: SidecarProc, epoch: bigint, why: string): void {
    const w = new Workload(++this.workloadIds, m.index, sc.inc, epoch, this.t);
    if (sc.workload !== undefined && sc.workload.alive) {
      this.violate('error', 'shell', `${m.name} starts a workload while its previous one still runs`);
    }
    sc.workload = w;
    m.procs.push(w);
    if (this.tr1) this.log(1, m.name, `decides START epoch ${this.e(epoch)}: ${why}`);
    this.onActivation(m, w, why);
    const inc = sc.inc;
    const startDelay = this.proc.range(0, this.plan.startDelayMaxMs);
    this.at(this.t + startDelay / m.rate, () =>
      this.gate(m, inc, (s) => {
        if (s.workload !== w || !w.alive || w.terminating) return;
        const now = this.localNow(m, s);
        if (this.tr1) this.log(1, m.name, `supervisor: workload ${this.e(epoch)} is running`);
        s.core.onWorkload('running', now);
        this.decideAndAct(m, s, now);
      }),
    );
    if (this.plan.faults.has('workload-crash') && !this.healed) {
      this.at(this.t + this.proc.exp(this.plan.workloadMeanLifeMs), () => {
        if (w.alive && !w.terminating && !this.healed) {
          this.die(w, true, 'CRASHES by itself');
        }
      });
    }
  }

  private beginStop(w: Workload, why: string): void {
    if (!w.alive || w.terminating) return;
    w.terminating = true;
    this.onDeactivation(w);
    const m = this.machines[w.machine] as Machine;
    const stopTimeout = m.settings.stopTimeoutMs;
    const ignores = this.plan.ignoreSigtermProbability > 0 && this.proc.chance(this.plan.ignoreSigtermProbability);
    const exitAfter = ignores ? Number.POSITIVE_INFINITY : this.proc.range(0, this.plan.stopTimeMaxMs);
    if (this.tr1)
      this.log(1, m.name, `SIGTERM workload ${this.e(w.epoch)} (${why})${ignores ? '; it ignores SIGTERM' : ''}`);
    if (exitAfter < stopTimeout) {
      this.at(this.t + exitAfter / m.rate, () => this.die(w, false, 'exits after SIGTERM'));
      return;
    }
    this.at(this.t + stopTimeout / m.rate, () => {
      if (!w.alive) return;
      if (this.tr1) this.log(1, m.name, `SIGKILL workload ${this.e(w.epoch)} (stop timeout)`);
      const settle = this.proc.chance(0.5) ? KILL_SETTLE_MS : this.proc.range(0, KILL_SETTLE_MS);
      this.at(this.t + settle / m.rate, () => this.die(w, false, 'is dead after SIGKILL'));
    });
  }

  private die(w: Workload, byItself: boolean, why: string): void {
    if (!w.alive) return;
    const m = this.machines[w.machine] as Machine;
    w.alive = false;
    const wasActive = !w.terminating;
    w.terminating = true;
    m.procs = m.procs.filter((p) => p !== w);
    if (m.procs.length === 0) this.overlapping = false;
    if (wasActive) this.onDeactivation(w);
    if (this.tr1) this.log(1, m.name, `workload ${this.e(w.epoch)} ${why}`);
    this.at(this.t, () =>
      this.gate(m, w.owner, (s) => {
        if (s.workload !== w) return;
        s.workload = undefined;
        const now = this.localNow(m, s);
        // The cool-down after repeated failures counts from this report (late if the sidecar was paused).
        if (byItself) this.lastWorkloadCrash = this.t;
        s.core.onWorkload('stopped', now, byItself);
        this.decideAndAct(m, s, now);
      }),
    );
  }

  /** After each decide the watchdog gets the current stop deadline while the workload runs. */
  private feedWatchdog(m: Machine, sc: SidecarProc, now: number): void {
    const w = sc.workload;
    if (w === undefined || !w.alive || w.terminating) return;
    const deadline = sc.core.stopDeadline();
    if (deadline === w.fedDeadline) return;
    w.fedDeadline = deadline;
    const token = ++w.watchdogToken;
    if (deadline === Number.POSITIVE_INFINITY) return;
    const when = deadline === Number.NEGATIVE_INFINITY ? this.t : this.t + (deadline - now) / m.rate;
    this.at(when, () => {
      if (w.watchdogToken !== token || !w.alive || w.terminating) return;
      this.beginStop(w, 'watchdog: the stop deadline passed without a renewal from the sidecar');
    });
  }

  private armDeadline(m: Machine, sc: SidecarProc, now: number): void {
    const w = sc.workload;
    if (w === undefined || !w.alive) return;
    const deadline = sc.core.stopDeadline();
    if (!(deadline > now) || deadline === Number.POSITIVE_INFINITY || deadline === sc.armedDeadline) return;
    sc.armedDeadline = deadline;
    const token = ++sc.deadlineToken;
    this.at(this.t + (deadline - now) / m.rate + TIMER_EPSILON_MS, () =>
      this.gate(m, sc.inc, (s) => {
        if (s.deadlineToken !== token) return;
        this.decideAndAct(m, s, this.localNow(m, s));
      }),
    );
  }

  // ---- checks ----------------------------------------------------------------------------------

  private onActivation(m: Machine, w: Workload, why: string): void {
    this.activations += 1;
    const other = this.machines[1 - m.index] as Machine;
    // S1: from the start action until the process is dead, a workload counts as running.
    if (other.procs.length > 0 && !this.overlapping) {
      this.overlapping = true;
      const them = other.procs.map(
        (p) => `epoch ${this.e(p.epoch)} since ${p.startedAt.toFixed(3)}${p.terminating ? ' (stopping)' : ''}`,
      );
      this.violate(
        'S1',
        'two-running',
        `${m.name} starts epoch ${this.e(w.epoch)} while ${other.name} runs ${them.join(', ')}`,
      );
    }
    // S2: strictly above every epoch activated before in the group.
    if (w.epoch <= this.maxActivated) {
      const sameRestart = w.epoch === this.maxActivated && this.maxActivatedBy === m.index;
      this.violate(
        'S2',
        sameRestart ? 'same-epoch-restart' : 'not-above-earlier',
        `${m.name} activates epoch ${this.e(w.epoch)} (${why}), but epoch ${this.e(this.maxActivated)} was activated ` +
          `before by ${PARTY_NAMES[this.maxActivatedBy]}`,
      );
    } else {
      this.maxActivated = w.epoch;
      this.maxActivatedBy = m.index;
    }
    // Liveness: a stretch without an active node ends.
    this.activeCount += 1;
    if (this.activeCount === 1 && this.healed) this.checkGap('gap-after-heal');
    // Failover times.
    if (this.faultCandidate !== undefined && this.faultCandidate.node !== m.index && !this.healed) {
      this.faultFailovers.push(this.t - this.faultCandidate.at);
    }
    this.faultCandidate = undefined;
    if (this.probeVictim >= 0 && m.index !== this.probeVictim && this.probeFailover === undefined) {
      this.probeFailover = this.t - this.probeAt;
      if (this.tr1) this.log(1, 'sim', `probe: ${m.name} took over after ${this.probeFailover.toFixed(1)}ms`);
      const allowed = this.probeAllowance();
      if (this.probeFailover > allowed) {
        this.violate(
          'liveness',
          'failover-probe',
          `${m.name} took over ${this.probeFailover.toFixed(1)}ms after the active node was lost; bound ${allowed.toFixed(1)}ms`,
        );
      }
      const s = m.settings;
      this.at(this.t + Math.max(s.leaseMs, s.peerLeaseMs, stopBudget(s)) * 1.5, () => {
        this.done = true;
      });
    }
  }

  private onDeactivation(w: Workload): void {
    void w;
    this.activeCount -= 1;
    if (this.activeCount === 0) this.gapStart = this.t;
  }

  /**
   * The liveness allowance for a stretch without an active node (real ms). The bound the sidecar
   * prints (failoverBoundMs: the longest of timeout, promise and witness hold, plus two heartbeats)
   * plus a slack for what that bound leaves out: the stop of a node handing the group over (stop
   * budget), one more heartbeat and one call deadline (an answer lost just before the heal), four
   * one-way delays (two round trips) and one durable write at the witness, all stretched by the
   * slowest clock. A witness restarted near the heal adds what is left of its start-up grace (its
   * longest lease may exceed the sidecar's), stretched by the ratio of the witness's clock to the
   * node's (the node waits `retryAfterMs` of witness time on its own clock); a workload that
   * crashed by itself shortly before adds the failure cool-down.
   */
  private gapAllowance(gapStart: number): number {
    const s = this.plan.primary;
    const rho = this.plan.rhoActual;
    const stretch = 1 / (1 - rho);
    const slack =
      stopBudget(s) + s.heartbeatMs + this.plan.callDeadlineMs + 4 * this.maxTailDelay + this.plan.writeDelayMaxMs;
    let allowed = (failoverBoundMs(s) + slack) * stretch;
    const graceLeft = this.witness.graceEnd - gapStart;
    if (graceLeft > 0) allowed = Math.max(allowed, graceLeft * (1 + rho) * stretch + slack * stretch);
    if (gapStart - this.lastWorkloadCrash < (s.failureCooldownMs + failoverBoundMs(s) + slack) * stretch) {
      allowed += s.failureCooldownMs * stretch;
    }
    return allowed;
  }

  /**
   * L1 for the probe: the printed bound plus two round trips and one durable write at the witness
   * (the bound's second heartbeat stands for "one round trip"; a short heartbeat does not cover a
   * slow link or fsync), stretched by the slowest clock.
   */
  private probeAllowance(): number {
    const s = this.plan.primary;
    return (failoverBoundMs(s) + 4 * this.maxTailDelay + this.plan.writeDelayMaxMs) / (1 - this.plan.rhoActual);
  }

  private checkGap(sub: string): boolean {
    const start = Math.max(this.gapStart, this.healAt);
    const gap = this.t - start;
    const allowed = this.gapAllowance(start);
    if (gap > allowed) {
      this.violate(
        'liveness',
        sub,
        `no node active for ${gap.toFixed(1)}ms after ${start.toFixed(3)} (everything up and connected); allowed ${allowed.toFixed(1)}ms`,
      );
      return false;
    }
    return true;
  }

  // ---- faults ----------------------------------------------------------------------------------

  private episode(kind: EpisodeKind): void {
    if (this.healed || this.t >= this.plan.faultPhaseMs) return;
    const e = this.plan.episodes[kind];
    if (e === undefined) return;
    const f = this.fault;
    const length = Math.max(0.1, f.exp(e.meanLengthMs));
    switch (kind) {
      case 'partition': {
        const [a, b] = f.pick(PAIRS);
        this.cut(
          [a * 3 + b, b * 3 + a],
          'reset',
          length,
          `partition ${PARTY_NAMES[a]}<->${PARTY_NAMES[b]} (connections reset)`,
        );
        break;
      }
      case 'blackhole': {
        const [a, b] = f.pick(PAIRS);
        this.cut([a * 3 + b, b * 3 + a], 'silent', length, `blackhole ${PARTY_NAMES[a]}<->${PARTY_NAMES[b]} (silent)`);
        break;
      }
      case 'one-way': {
        const [a, b] = f.pick(PAIRS);
        const [from, to] = f.chance(0.5) ? [a, b] : [b, a];
        this.cut([from * 3 + to], 'silent', length, `one-way cut ${PARTY_NAMES[from]}->${PARTY_NAMES[to]}`);
        break;
      }
      case 'isolate': {
        const party = f.int(3);
        const others = [0, 1, 2].filter((p) => p !== party);
        const idx = others.flatMap((o) => [party * 3 + o, o * 3 + party]);
        this.cut(idx, f.chance(0.5) ? 'silent' : 'reset', length, `isolate ${PARTY_NAMES[party]}`);
        if (party !== WITNESS) this.noteLoss(party);
        break;
      }
      case 'sidecar-crash': {
        const m = this.machines[f.int(2)] as Machine;
        if (m.sidecar === undefined) break;
        this.noteLoss(m.index);
        this.crashSidecar(m, `CRASHES (kill -9); restarts in ${length.toFixed(1)}ms`);
        this.at(this.t + length, () => {
          if (!this.healed) this.startSidecar(m);
        });
        break;
      }
      case 'sidecar-pause': {
        const m = this.machines[f.int(2)] as Machine;
        if (m.sidecar === undefined || m.sidecar.paused) break;
        this.noteLoss(m.index);
        this.pauseSidecar(m, length);
        break;
      }
      case 'witness-crash':
        this.crashWitness('kill -9', length);
        break;
    }
    this.at(this.t + f.exp(e.meanGapMs), () => this.episode(kind));
  }

  private cut(idx: readonly number[], mode: 'silent' | 'reset', length: number, what: string): void {
    const id = ++this.episodeIds;
    for (const i of idx) (this.links[i] as LinkState)[mode] += 1;
    this.activeEpisodes.set(id, () => {
      for (const i of idx) (this.links[i] as LinkState)[mode] -= 1;
    });
    if (this.tr1) this.log(1, 'net', `${what} for ${length.toFixed(1)}ms`);
    if (!Number.isFinite(length)) return;
    this.at(this.t + length, () => {
      const end = this.activeEpisodes.get(id);
      if (end === undefined) return;
      end();
      this.activeEpisodes.delete(id);
      if (this.tr1) this.log(1, 'net', `${what}: healed`);
    });
  }

  /** The active node is crashed, frozen or isolated: time the failover, if one follows. */
  private noteLoss(node: number): void {
    const m = this.machines[node] as Machine;
    if (m.procs.some((p) => p.alive && !p.terminating)) this.faultCandidate = { node, at: this.t };
  }

  // ---- the quiet tail and the probe ------------------------------------------------------------

  private heal(): void {
    this.healed = true;
    // Quiet from the moment the last message of the fault phase has landed: a message held back
    // for seconds is a fault too (a stale "I am up" keeps the peer from taking over).
    this.healAt = Math.max(this.t, this.lastFaultArrival);
    for (const end of this.activeEpisodes.values()) end();
    this.activeEpisodes.clear();
    if (this.tr1) this.log(1, 'sim', 'HEAL: every fault ends; everything up and connected from now on');
    for (const m of this.machines) {
      const sc = m.sidecar;
      if (sc === undefined) this.startSidecar(m);
      else if (sc.paused) this.resumeSidecar(m, sc.inc, sc.pauseToken);
    }
    if (!this.witness.up) this.startWitness(false, 'restart at heal');
    if (this.activeCount === 0) this.gapStart = this.t;
    this.at(this.healAt + this.plan.primary.heartbeatMs, () => this.probe(0));
  }

  /**
   * The failover probe, once the pair has settled after the heal: one node runs (its workload
   * reported running), the other stands by with nothing alive, the witness is past its start-up
   * grace and no workload crashed within a failure cool-down (the standby might have given up).
   */
  private probe(attempt: number): void {
    const s = this.plan.primary;
    const retry = (): void => this.at(this.t + s.heartbeatMs, () => this.probe(attempt + 1));
    if (this.activeCount === 0) {
      // No active node: the gap check decides when that has lasted too long.
      if (!this.checkGap('gap-after-heal')) {
        this.done = true;
        return;
      }
      retry();
      return;
    }
    const victim = this.machines.find((m) => m.procs.some((p) => p.alive && !p.terminating)) as Machine;
    const other = this.machines[1 - victim.index] as Machine;
    const vw = victim.sidecar?.workload;
    const stretch = 1 / (1 - this.plan.rhoActual);
    const settled =
      vw !== undefined &&
      vw.alive &&
      !vw.terminating &&
      this.t - vw.startedAt >= s.heartbeatMs &&
      other.procs.length === 0 &&
      this.t >= this.witness.graceEnd &&
      this.t >= this.lastWorkloadCrash + s.failureCooldownMs * stretch;
    if (!settled && attempt < 200) {
      retry();
      return;
    }
    this.probeVictim = victim.index;
    this.probeAt = this.t;
    const kind = this.plan.probe;
    if (this.tr1)
      this.log(1, 'sim', `PROBE: the active node ${victim.name} is lost (${kind}); ${other.name} must take over`);
    if (kind === 'crash') this.crashSidecar(victim, 'CRASHES for good (probe)');
    else if (kind === 'pause') this.pauseSidecar(victim, Number.POSITIVE_INFINITY);
    else {
      const others = [0, 1, 2].filter((p) => p !== victim.index);
      this.cut(
        others.flatMap((o) => [victim.index * 3 + o, o * 3 + victim.index]),
        'silent',
        Number.POSITIVE_INFINITY,
        `isolate ${victim.name} for good (probe)`,
      );
    }
    const limit = this.probeAllowance() * 3 + this.gapAllowance(this.t);
    this.at(this.t + limit, () => {
      if (this.probeFailover !== undefined) return;
      this.violate(
        'liveness',
        'failover-probe',
        `${other.name} did not take over within ${limit.toFixed(1)}ms of losing ${victim.name}`,
      );
      this.done = true;
    });
  }
}

const PAIRS: readonly (readonly [number, number])[] = [
  [PRIMARY, SECONDARY],
  [PRIMARY, WITNESS],
  [SECONDARY, WITNESS],
];

function toWitnessAnswer(a: LeaseAnswer): WitnessAnswer {
  return { verdict: a.verdict, holder: a.holder, epoch: a.epoch, leaseMs: a.leaseMs, retryAfterMs: a.retryAfterMs };
}

export function hex(seed: number): string {
  return `0x${(seed >>> 0).toString(16).padStart(8, '0')}`;
}
