/**
 * Two production SidecarRuntimes and the production ArbitrationService, on test ports: each
 * party reads its own clock (real time times its rate), timers run on the harness's event queue,
 * calls travel through the harness's network (harness-network.ts) to the other runtime or to the
 * witness (harness-witness.ts), and the runtime's workload is the harness's process model
 * (harness-workload.ts), which checks S1 and S2 at every start and the stop deadline at every feed.
 *
 * What each runtime does is recorded where it reaches a port: 'start', 'stop', 'acquire' and
 * 'release' with the why of the action the core ordered (the harness checks that the runtime
 * carries out exactly the core's actions, in order), the supervisor's 'running' and 'stopped', the
 * answers, the peer states sent and the leases heard.
 */
import pino from 'pino';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import type { Action, PeerReply, PeerState, SidecarSettings, WitnessAnswer } from '../../src/core/sidecar/types';
import type { GroupView } from '../../src/core/witness/types';
import type { PeerTransport, Timers, WitnessTransport } from '../../src/sidecar/sidecar-ports';
import { SidecarRuntime } from '../../src/sidecar/sidecar-runtime';
import { HarnessNetwork, type FateFn, type NetworkOptions } from './harness-network';
import { firstRealTimeReading, HarnessTime } from './harness-time';
import { HarnessWitness } from './harness-witness';
import { HarnessWorkloads, type DriverContext, type WorkloadOptions } from './harness-workload';
import { arbiterConfig, other, settings, type NodeId, type Party } from './sidecar-test-settings';

const SILENT = pino({ level: 'silent' });

export interface LogEntry {
  readonly t: number;
  readonly node: NodeId;
  readonly kind: string;
  readonly epoch?: bigint;
  readonly detail?: string;
}

export interface HarnessOptions extends NetworkOptions, WorkloadOptions {
  readonly p?: Partial<SidecarSettings>;
  readonly s?: Partial<SidecarSettings>;
  /** When each sidecar starts (its first heartbeat); undefined: not started. */
  readonly startAt?: { readonly p?: number; readonly s?: number };
  readonly arbiterStartAt?: number;
  readonly arbiterMaxLeaseMs?: number;
  /**
   * Clock rates (local ms per real ms; 1 unless given): each party reads its own monotonic clock,
   * `real * rate`, and heartbeats every heartbeatMs of it.
   */
  readonly rates?: Partial<Record<Party, number>>;
}

/** What a test may read of a node's core; only its runtime drives it. */
export type CoreReadings = Pick<SidecarCore, 'view' | 'peerState' | 'stopDeadline'>;

/** One sidecar process: its runtime, the core inside it, and the actions the core ordered last. */
interface Sidecar {
  readonly incarnation: number;
  readonly runtime: SidecarRuntime;
  readonly core: SidecarCore;
  readonly ordered: Action[];
  readonly ctx: DriverContext;
}

export class Harness {
  readonly log: LogEntry[] = [];
  readonly settings: Record<NodeId, SidecarSettings>;
  readonly witness: HarnessWitness;
  /** Peer states as sent in heartbeats and replies. */
  readonly statesSent: { t: number; node: NodeId; state: PeerState }[] = [];
  /** Leases as the holder received them: witness renewals and peer leases, with their send time. */
  readonly leasesHeard: { t: number; node: NodeId; what: 'witness' | 'peer'; sentAt: number; leaseMs: number }[] = [];
  readonly acquireAnswers: { t: number; node: NodeId; sentAt: number; answer: WitnessAnswer | undefined }[] = [];

  private readonly time = new HarnessTime(() => this.tail());
  private readonly network: HarnessNetwork;
  private readonly workloads: HarnessWorkloads;
  private readonly sidecars: Partial<Record<NodeId, Sidecar>> = {};
  private readonly incarnations: Record<NodeId, number> = { p: 0, s: 0 };
  private readonly rate: Record<Party, number>;

  constructor(options: HarnessOptions = {}) {
    this.settings = { p: settings('p', options.p), s: settings('s', options.s) };
    this.rate = { p: options.rates?.p ?? 1, s: options.rates?.s ?? 1, w: options.rates?.w ?? 1 };
    const config = arbiterConfig(this.settings.p, options.arbiterMaxLeaseMs);
    this.witness = new HarnessWitness(config, () => this.clock('w'), this.clock('w', options.arbiterStartAt ?? 0));
    this.network = new HarnessNetwork(this.time, (p) => p === 'w' || this.sidecars[p] !== undefined, options);
    this.workloads = new HarnessWorkloads(this.time, options);
    const startAt = options.startAt ?? { p: 0, s: 50 };
    for (const n of ['p', 's'] as const) {
      const at = startAt[n];
      if (at !== undefined) this.at(at, () => this.startSidecar(n));
    }
  }

  // -- time --

  get now(): number {
    return this.time.now;
  }

  /** What party `p`'s monotonic clock reads at real time `real` (now by default). */
  clock(p: Party, real = this.now): number {
    return real * this.rate[p];
  }

  at(t: number, run: () => void): void {
    this.time.at(t, run);
  }

  runUntil(t: number): void {
    this.time.runUntil(t);
  }

  /** Runs until `pred` holds after an event, or fails at `limit`. */
  runUntilTrue(pred: () => boolean, limit: number): number {
    return this.time.runUntilTrue(pred, limit);
  }

  // -- network --

  get fate(): FateFn | undefined {
    return this.network.fate;
  }

  set fate(fate: FateFn | undefined) {
    this.network.fate = fate;
  }

  /** Last time anything from this party arrived anywhere. */
  get lastHeardFrom(): Readonly<Record<Party, number>> {
    return this.network.lastHeardFrom;
  }

  cutLink(a: Party, b: Party, direction: 'both' | 'one-way' = 'both'): void {
    this.network.cutLink(a, b, direction);
  }

  healLink(a: Party, b: Party): void {
    this.network.healLink(a, b);
  }

  isolate(n: Party): void {
    this.network.isolate(n);
  }

  healAll(): void {
    this.network.healAll();
  }

  setDelay(from: Party, to: Party, ms: number): void {
    this.network.setDelay(from, to, ms);
  }

  /** Delivers every held-back request now, in the order they were sent. */
  releaseHeld(): number {
    return this.network.releaseHeld();
  }

  // -- the witness --

  /** What the witness holds for the group now. */
  witnessView(): GroupView {
    return this.witness.view(this.clock('w'));
  }

  restartWitness(wipe: boolean): void {
    this.witness.restart(wipe, this.now);
  }

  // -- sidecars --

  sidecarUp(n: NodeId): boolean {
    return this.sidecars[n] !== undefined;
  }

  core(n: NodeId): CoreReadings {
    return this.sidecar(n).core;
  }

  running(n: NodeId): boolean {
    const w = this.sidecars[n]?.runtime.view().workload;
    return w === 'running' || w === 'starting';
  }

  startSidecar(n: NodeId): void {
    const incarnation = ++this.incarnations[n];
    const listens = (): boolean => this.sidecars[n]?.incarnation === incarnation;
    const ordered: Action[] = [];
    let core: SidecarCore | undefined;
    const ctx: DriverContext = {
      node: n,
      stopTimeoutMs: this.settings[n].stopTimeoutMs,
      clock: () => this.clock(n),
      listens,
      why: (kind) => this.takeOrdered(n, ordered, kind).why,
      epoch: () => (core as SidecarCore).view(this.clock(n)).epoch,
      record: (kind, epoch, detail) => this.record(n, kind, epoch, detail),
      tail: () => this.tail(),
    };
    const runtime = new SidecarRuntime(this.settings[n], {
      clock: { now: () => this.clock(n) },
      timers: this.timers(n, listens),
      peer: this.peerTransport(n, listens),
      witness: this.settings[n].mode === 'standard' ? this.witnessTransport(n, listens, ordered) : undefined,
      workload: this.workloads.driver(ctx),
      logger: SILENT,
      createCore: (s, now) => {
        core = new OrderedCore(s, now, (actions) => {
          if (ordered.length > 0)
            throw new Error(`${n}: the runtime left ${ordered.map((a) => a.kind).join(', ')} undone\n${this.tail()}`);
          ordered.push(...actions);
        });
        return core;
      },
    });
    this.sidecars[n] = { incarnation, runtime, core: core as SidecarCore, ordered, ctx };
    this.record(n, 'sidecar-start');
    runtime.begin();
  }

  /** kill -9 of the sidecar: its watchdog kills the workload, which is gone within stopTimeoutMs. */
  crash(n: NodeId): void {
    const sc = this.sidecars[n];
    delete this.sidecars[n];
    this.record(n, 'sidecar-crash');
    if (sc === undefined) return;
    sc.runtime.halt();
    this.workloads.sidecarCrashed(sc.ctx);
  }

  /** The workload exits by itself (crash, bug): the supervisor reports it at once. */
  exit(n: NodeId): boolean {
    return this.workloads.exit(n);
  }

  // -- the record --

  record(node: NodeId, kind: string, epoch?: bigint, detail?: string): void {
    this.log.push({ t: this.now, node, kind, epoch, detail });
  }

  entries(node: NodeId, kind: string): LogEntry[] {
    return this.log.filter((e) => e.node === node && e.kind === kind);
  }

  tail(count = 40): string {
    return this.log
      .slice(-count)
      .map(
        (e) =>
          `  ${e.t.toFixed(3)} ${e.node} ${e.kind}${e.epoch === undefined ? '' : ` ${e.epoch}`}${e.detail ? ` (${e.detail})` : ''}`,
      )
      .join('\n');
  }

  // -- the runtime's ports --

  private sidecar(n: NodeId): Sidecar {
    const sc = this.sidecars[n];
    if (sc === undefined) throw new Error(`sidecar ${n} is not running`);
    return sc;
  }

  /** The next action the core ordered, which must be the one the runtime now carries out. */
  private takeOrdered<K extends Action['kind']>(n: NodeId, ordered: Action[], kind: K): Extract<Action, { kind: K }> {
    const next = ordered.shift();
    if (next?.kind !== kind)
      throw new Error(
        `${n}: the runtime carries out ${kind}, the core ordered ${next?.kind ?? 'nothing'}\n${this.tail()}`,
      );
    return next as Extract<Action, { kind: K }>;
  }

  /** Fires when the node's own clock reads at least what it read when set, plus the delay. */
  private timers(n: NodeId, listens: () => boolean): Timers {
    return {
      after: (delayMs, fire) => {
        let cancelled = false;
        const target = this.clock(n) + delayMs;
        this.at(firstRealTimeReading(target, this.rate[n], this.now), () => {
          if (!cancelled && listens()) fire();
        });
        return {
          cancel: () => {
            cancelled = true;
          },
        };
      },
    };
  }

  private witnessTransport(n: NodeId, listens: () => boolean, ordered: Action[]): WitnessTransport {
    const s = this.settings[n];
    const call = { from: n, to: 'w' as const, rate: this.rate[n], callerListens: listens };
    return {
      endpoint: 'witness',
      renew: (heldEpoch, knownEpoch, leaseMs, done) => {
        const sentAt = this.clock(n);
        this.record(n, 'renew', heldEpoch);
        this.network.rpc({
          ...call,
          kind: 'renew',
          deadlineMs: s.timeoutMs,
          serve: () => this.witness.renew(n, s.role, heldEpoch, knownEpoch, leaseMs),
          done: (answer) => {
            if (answer?.verdict === 'renewed' && heldEpoch > 0n) {
              this.leasesHeard.push({ t: this.clock(n), node: n, what: 'witness', sentAt, leaseMs: answer.leaseMs });
            }
            done(answer);
          },
        });
      },
      acquire: (knownEpoch, leaseMs, deadlineMs, done) => {
        const sentAt = this.clock(n);
        this.record(n, 'acquire', knownEpoch, this.takeOrdered(n, ordered, 'acquire').why);
        this.network.rpc({
          ...call,
          kind: 'acquire',
          deadlineMs,
          serve: () => this.witness.acquire(n, knownEpoch, leaseMs),
          done: (answer, timedOut) => {
            this.acquireAnswers.push({ t: this.clock(n), node: n, sentAt, answer });
            this.record(n, `acquire-answer:${answer?.verdict ?? 'failed'}`, answer?.epoch);
            done(answer, timedOut ? 'timed-out' : 'failed');
          },
        });
      },
      release: (epoch, knownEpoch, done) => {
        this.record(n, 'release', epoch, this.takeOrdered(n, ordered, 'release').why);
        this.network.rpc({
          ...call,
          kind: 'release',
          deadlineMs: s.timeoutMs,
          serve: () => this.witness.release(n, epoch, knownEpoch),
          done: (answer) => {
            this.record(n, `release-answer:${answer?.verdict ?? 'failed'}`, epoch);
            done(answer);
          },
        });
      },
      close: () => undefined,
    };
  }

  private peerTransport(n: NodeId, listens: () => boolean): PeerTransport {
    const o = other(n);
    return {
      heartbeat: (state, done) => {
        const sentAt = this.clock(n);
        this.statesSent.push({ t: sentAt, node: n, state });
        this.network.rpc<PeerReply>({
          from: n,
          to: o,
          kind: 'peer',
          deadlineMs: this.settings[n].timeoutMs,
          rate: this.rate[n],
          callerListens: listens,
          serve: () => {
            const reply = this.sidecar(o).runtime.onPeerHeartbeat(state);
            this.statesSent.push({ t: this.clock(o), node: o, state: reply.state });
            return reply;
          },
          done: (reply) => {
            if (reply !== undefined && reply.leaseMs > 0)
              this.leasesHeard.push({ t: this.clock(n), node: n, what: 'peer', sentAt, leaseMs: reply.leaseMs });
            done(reply);
          },
        });
      },
      close: () => undefined,
    };
  }
}

/** The production core, telling the harness what it orders in every decide(). */
class OrderedCore extends SidecarCore {
  constructor(
    settings: SidecarSettings,
    now: number,
    private readonly onOrdered: (actions: Action[]) => void,
  ) {
    super(settings, now);
  }

  override decide(now: number): Action[] {
    const actions = super.decide(now);
    this.onOrdered(actions);
    return actions;
  }
}

/** Both sidecars and the witness up; runs until the primary's workload runs. */
export function steadyState(options: HarnessOptions = {}): Harness {
  const h = new Harness(options);
  h.runUntilTrue(() => h.entries('p', 'running').length > 0, 5000);
  return h;
}
