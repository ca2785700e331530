/**
 * One node's machine, below its sidecar process (sidecar-node.ts): the workload processes and
 * their watchdog, the machine's monotonic clock as each sidecar process reads it, and the gate that
 * hands an input to the sidecar process it was meant for. The watchdog SIGTERMs the workload at
 * the last stop deadline it was fed and at once when the sidecar dies; SIGKILL after the stop
 * timeout; the process is dead at most KILL_SETTLE_MS later.
 */
import { KILL_SETTLE_MS } from '../core/sidecar/timing';
import type { SidecarSettings } from '../core/sidecar/types';
import type { WorkloadDriver } from '../sidecar/workload-driver';
import { MachineClock } from './machine-clock';
import { type SidecarNodeParts, type SidecarProcess, SimWorkload } from './node-parts';
import { PARTY_NAMES } from './plan';
import { SyncTruth } from './sim-sync';
import { markStaleStart, staleBoundMs, type StoppedClockFreeze } from './stale-runs';
import { checkNotRunningWhileStopping, checkStoppedOnce } from './table-conformance';

export abstract class NodeMachine {
  readonly name: string;
  readonly rate: number;
  sidecar: SidecarProcess | undefined;
  /** Workload processes alive on this machine (a stopping one included). */
  procs: SimWorkload[] = [];
  /** What runs right after this node's next workload start (held answers, held-answers.ts). */
  protected startWaiters: (() => void)[] = [];
  protected runEndWaiters: (() => void)[] = [];
  /** Whether the node's copy is fresh, in real time, and whether its sync fails now (design §21.6). */
  readonly syncTruth = new SyncTruth();
  /** The machine's clock, and whether it is frozen (machine-freeze). */
  readonly machine: MachineClock;
  private freezeToken = 0;
  /** The sidecar process a freeze stopped (one already paused by SIGSTOP stays paused at the thaw). */
  private frozeSidecar: SidecarProcess | undefined;
  private frozenSince = 0;
  private freezeStopsClock = false;
  /** The freezes that stopped this machine's clock, once thawed: a later start may rest on a grant asked before. */
  private readonly stoppedClockFreezes: StoppedClockFreeze[] = [];

  constructor(
    readonly index: number,
    readonly settings: SidecarSettings,
    protected readonly parts: SidecarNodeParts,
  ) {
    this.name = PARTY_NAMES[index] as string;
    this.rate = parts.world.plan.clockRates[index] as number;
    this.machine = new MachineClock(parts.world, this.rate);
  }

  /** SIGCONT of the sidecar process `inc` (sidecar-node.ts). */
  abstract resumeSidecar(inc: number): void;

  /** How long since `t` (real ms) this machine's clock stood still in freezes: its timers are that much late. */
  clockStoppedMsSince(t: number): number {
    const w = this.parts.world;
    let ms = 0;
    for (const f of this.stoppedClockFreezes) ms += Math.max(0, f.thawedAt - Math.max(f.frozenAt, t));
    if (this.machine.frozen && this.freezeStopsClock) ms += Math.max(0, w.t - Math.max(this.frozenSince, t));
    return ms;
  }

  /** The workload that counts as active (alive and not told to stop), if any. */
  activeWorkload(): SimWorkload | undefined {
    return this.procs.find((p) => p.alive && !p.terminating);
  }

  /**
   * A whole-machine freeze (a paused VM, design §14): the sidecar, its watchdog and its workloads
   * stop alike for `ms` real ms, and with `clockStops` the machine's monotonic clock does not count
   * the pause, so every deadline on the machine comes that much later in real time. Nothing on the
   * machine can stop its workload meanwhile: the peer may take over, and the run resumes stale
   * until the witness's answer to its heartbeat (a refusal: superseded) or its deadline ends it.
   */
  freezeMachine(ms: number, clockStops: boolean): void {
    if (this.machine.frozen) return;
    const w = this.parts.world;
    this.machine.freeze(clockStops);
    this.frozenSince = w.t;
    this.freezeStopsClock = clockStops;
    const token = ++this.freezeToken;
    for (const p of this.procs) {
      p.frozenAt ??= w.t;
      p.staleUntil = Number.POSITIVE_INFINITY;
    }
    const sc = this.sidecar;
    this.frozeSidecar = sc !== undefined && !sc.paused ? sc : undefined;
    if (this.frozeSidecar !== undefined) this.frozeSidecar.paused = true;
    if (w.trace.on1)
      w.trace.log(
        1,
        this.name,
        `MACHINE FROZEN for ${ms.toFixed(1)}ms (${clockStops ? 'its clock stops too' : 'its clock runs on'})`,
      );
    w.at(w.t + ms, () => {
      if (this.freezeToken === token) this.thawMachine();
    });
  }

  /**
   * The end of a freeze (also at the heal): what came due on the machine runs, then its sidecar
   * resumes. A workload that lived through the freeze may run stale beside the peer's for a while
   * (S1 cannot hold across a frozen VM, design §14), but not past a bound: the longest its own
   * deadline can still be away, two leases and a stop. So may one that starts after the thaw on
   * a grant asked for before a freeze that stopped the clock (stale-runs.ts).
   */
  thawMachine(): void {
    if (!this.machine.frozen) return;
    const w = this.parts.world;
    this.freezeToken += 1;
    if (w.trace.on1) w.trace.log(1, this.name, `machine thaws, ${this.machine.waiting} tasks came due`);
    const until = w.t + staleBoundMs(this.settings, w.plan.rhoActual);
    if (this.freezeStopsClock) this.stoppedClockFreezes.push({ frozenAt: this.frozenSince, thawedAt: w.t, until });
    for (const p of this.procs) {
      if (p.frozenAt === undefined) continue;
      p.staleUntil = until;
      this.watchStaleBound(p);
    }
    this.machine.thaw();
    const sc = this.frozeSidecar;
    this.frozeSidecar = undefined;
    if (sc !== undefined && this.sidecar === sc && sc.paused) this.resumeSidecar(sc.inc);
  }

  /** At the end of its stale bound, a stale workload still alive is reported (S1 stale-run-outlived). */
  private watchStaleBound(p: SimWorkload): void {
    const w = this.parts.world;
    w.at(p.staleUntil, () => {
      // (A later freeze moved the bound: its own thaw checks it.)
      if (p.alive && w.t >= p.staleUntil) this.parts.observer.onStaleRunOutlived(this, p);
    });
  }

  /**
   * Runs `fn` in the sidecar process incarnation `inc`: dropped if that process is gone, queued
   * until SIGCONT if it is paused.
   */
  protected gate(inc: number, fn: (sc: SidecarProcess) => void): void {
    const sc = this.sidecar;
    if (sc === undefined || sc.inc !== inc) return;
    if (sc.paused) {
      sc.deferred.push(() => this.gate(inc, fn));
      return;
    }
    fn(sc);
    if (this.parts.world.trace.on1) this.traceStatus(sc);
  }

  protected localNow(sc: SidecarProcess): number {
    return this.machine.now(sc.offset);
  }

  private traceStatus(sc: SidecarProcess): void {
    if (this.sidecar !== sc) return;
    const v = sc.runtime.view();
    const e = (x: bigint): string => this.parts.world.trace.epoch(x);
    const status =
      `${v.workload}@${e(v.epoch)} known ${e(v.knownEpoch)}${v.holding ? ' holding' : ''} ` +
      `peer ${v.peerUp ? 'up' : 'down'} witness ${v.witnessUp ? 'up' : 'down'}`;
    if (status === sc.lastStatus) return;
    sc.lastStatus = status;
    this.parts.world.trace.log(1, this.name, `status: ${status} (${v.lastDecision})`);
  }

  // ---- workloads and the watchdog -------------------------------------------------------------

  protected workloadDriver(sc: SidecarProcess): WorkloadDriver {
    return {
      start: (epoch, _env, deadline) => this.startWorkload(sc, epoch, deadline),
      feed: (deadline) => this.feedWatchdog(sc, deadline),
      stop: () => {
        const w = sc.workload;
        if (w !== undefined) checkStoppedOnce(this.parts.world, this.name, w);
        if (w !== undefined && w.alive && !w.terminating) {
          const v = sc.runtime.view();
          if (v.lastRule === 'stop-to-hand-back') this.checkHandBackAsked(sc);
          this.beginStop(w, `sidecar: ${v.lastDecision}`, v.lastRule);
        }
      },
      close: () => Promise.resolve(),
      on: (event: 'running' | 'stopped', listener: (() => void) | ((byItself: boolean) => void)) => {
        if (event === 'running') sc.onRunning = listener as () => void;
        else sc.onStopped = listener as (byItself: boolean) => void;
        return undefined;
      },
    };
  }

  private startWorkload(sc: SidecarProcess, epoch: bigint, deadline: number): void {
    const world = this.parts.world;
    if (!world.plan.embedded && deadline - this.localNow(sc) <= 0) {
      // The watchdog starts nothing past its deadline ('deadline-passed', watchdog-main.ts): a
      // start that came late, e.g. a record write that outlasted a pause of the sidecar.
      if (world.trace.on1)
        world.trace.log(1, this.name, `watchdog: start of ${world.trace.epoch(epoch)} refused, its deadline passed`);
      world.at(world.t, () => this.gate(sc.inc, (s) => s.onStopped(false)));
      return;
    }
    const w = new SimWorkload(this.parts.nextWorkloadId(), this.index, sc.inc, epoch, world.t);
    if (sc.workload !== undefined && sc.workload.alive) {
      world.violate('error', 'shell', `${this.name} starts a workload while its previous one still runs`);
    }
    sc.workload = w;
    w.cold = sc.runtime.view().lastRule === 'start-cold-on-peer-lease';
    // A cold start's authority is the peer lease, a granted start's the witness's grant.
    const askedAt = (w.cold ? sc.peerLeasesAskedAt : sc.grantsAskedAt).get(epoch);
    if (markStaleStart(w, askedAt, this.stoppedClockFreezes, world.t)) {
      if (world.trace.on1)
        world.trace.log(
          1,
          this.name,
          `start of ${world.trace.epoch(epoch)} on a ${w.cold ? 'peer lease' : 'grant'} asked before a freeze: stale`,
        );
      this.watchStaleBound(w);
    }
    this.procs.push(w);
    const why = sc.runtime.view().lastDecision;
    if (world.trace.on1) world.trace.log(1, this.name, `START epoch ${world.trace.epoch(epoch)}: ${why}`);
    this.parts.observer.onActivation(this, w, why);
    this.feedWatchdog(sc, deadline);
    for (const fn of this.startWaiters.splice(0)) world.at(world.t, fn);
    const startDelay = world.proc.range(0, world.plan.startDelayMaxMs);
    // The supervisor sees the workload ready and reports it; the report takes its own time to reach
    // the sidecar (the watchdog's pipe, the event loop), so a stop sent meanwhile can cross it, as
    // with the real supervisor and the embedded driver, which pass on a report sent before a stop.
    // A stop decided before the workload is ready does not cancel the report either: the watchdog
    // reports 'running' as soon as it has spawned it, before it reads a later stop
    // (watchdog-main.ts), the supervisor passes that on in any state (run-supervisor.ts
    // onReport), and the embedded driver emits it once activate() resolves, stop() or not.
    this.machine.timer(startDelay, 0, () => {
      if (!w.alive) return;
      // Stopped before it was ready: the report meets the stop at once (no draw: the stream stays put).
      const ipcMs = w.terminating
        ? 0
        : world.proc.chance(0.9)
          ? world.proc.range(0, 0.2)
          : world.proc.range(0, 2 * world.plan.primary.heartbeatMs);
      this.machine.timer(ipcMs, 0, () =>
        this.gate(sc.inc, (s) => {
          // A death reported first would come after it down the real pipe: nothing is lost by dropping it.
          if (s.workload !== w || !w.alive) return;
          if (world.trace.on1)
            world.trace.log(1, this.name, `supervisor: workload ${world.trace.epoch(epoch)} is running`);
          s.onRunning();
          checkNotRunningWhileStopping(world, this.name, w, s.runtime.view());
        }),
      );
    });
    if (world.plan.faults.has('workload-crash') && !world.healed) {
      world.at(world.t + world.proc.exp(world.plan.workloadMeanLifeMs), () =>
        this.machine.run(() => {
          if (w.alive && !w.terminating && !world.healed) this.die(w, true, 'CRASHES by itself');
        }),
      );
    }
  }

  /** The watchdog, a separate process, is fed the deadline; it stops the workload there. */
  private feedWatchdog(sc: SidecarProcess, deadline: number): void {
    const world = this.parts.world;
    if (world.plan.embedded) return; // no watchdog in the library form
    const w = sc.workload;
    if (w === undefined || !w.alive || w.terminating) return;
    if (deadline === w.fedDeadline) return;
    w.fedDeadline = deadline;
    const token = ++w.watchdogToken;
    if (deadline === Number.POSITIVE_INFINITY) return;
    const left = deadline === Number.NEGATIVE_INFINITY ? 0 : deadline - this.localNow(sc);
    this.machine.timer(left, this.lateness(), () => {
      if (w.watchdogToken !== token || !w.alive || w.terminating) return;
      this.beginStop(w, 'watchdog: the stop deadline passed without a renewal from the sidecar', undefined);
    });
  }

  /**
   * Design §9.4: a secondary hands the group back only to the stopped preferred primary that asks
   * for it and is still heard from; one that fell silent may be gone for good, and the secondary
   * would stop every run it starts meanwhile.
   */
  private checkHandBackAsked(sc: SidecarProcess): void {
    const peer = sc.peerState;
    const asks = peer?.handbackRequested === true && peer.workload === 'stopped';
    const silentMs = this.localNow(sc) - sc.peerHeardAt;
    if (asks && silentMs < this.settings.timeoutMs) return;
    this.parts.world.violate(
      'liveness',
      'hand-back-to-silent-primary',
      `${this.name} stops to hand the group back to a peer last heard ${silentMs.toFixed(1)}ms ago, ` +
        `whose newest state ${asks ? 'asks for it' : 'does not ask for it'}`,
    );
  }

  protected beginStop(w: SimWorkload, why: string, rule: string | undefined): void {
    if (!w.alive || w.terminating) return;
    const world = this.parts.world;
    w.terminating = true;
    this.runEnded();
    this.parts.observer.onDeactivation(w, rule);
    const stopTimeout = this.settings.stopTimeoutMs;
    const plan = world.plan;
    const ignores = plan.ignoreSigtermProbability > 0 && world.proc.chance(plan.ignoreSigtermProbability);
    const exitAfter = ignores ? Number.POSITIVE_INFINITY : world.proc.range(0, plan.stopTimeMaxMs);
    if (world.trace.on1)
      world.trace.log(
        1,
        this.name,
        `SIGTERM workload ${world.trace.epoch(w.epoch)} (${why})${ignores ? '; it ignores SIGTERM' : ''}`,
      );
    if (exitAfter < stopTimeout) {
      this.machine.timer(exitAfter, 0, () => this.die(w, false, 'exits after SIGTERM'));
      return;
    }
    this.machine.timer(stopTimeout, this.lateness(), () => {
      if (!w.alive) return;
      if (world.trace.on1)
        world.trace.log(1, this.name, `SIGKILL workload ${world.trace.epoch(w.epoch)} (stop timeout)`);
      const settle =
        plan.atTheBounds !== undefined || world.proc.chance(0.5) ? KILL_SETTLE_MS : world.proc.range(0, KILL_SETTLE_MS);
      this.machine.timer(settle, 0, () => this.die(w, false, 'is dead after SIGKILL'));
    });
  }

  /**
   * How late a timer fires (real ms): up to the margin, half the time all of it, in the schedules
   * that draw late timers and only during the fault phase (the liveness bounds leave it out). At
   * the bounds the primary's are always a full margin late and the secondary's on time: the holder
   * stops as late as it may, and the standby asks the moment it may.
   */
  protected lateness(): number {
    const world = this.parts.world;
    const bound = world.plan.timerLateMs;
    if (bound <= 0 || world.healed) return 0;
    if (world.plan.atTheBounds !== undefined) return this.index === 0 ? bound : 0;
    return world.proc.chance(0.5) ? bound : world.proc.range(0, bound);
  }

  /** The latest run no longer counts as running (stopping, or dead): what waited for that runs. */
  private runEnded(): void {
    const world = this.parts.world;
    for (const fn of this.runEndWaiters.splice(0)) world.at(world.t, fn);
  }

  private die(w: SimWorkload, byItself: boolean, why: string): void {
    if (!w.alive) return;
    this.runEnded();
    const world = this.parts.world;
    w.alive = false;
    for (const fn of w.deathWaiters.splice(0)) world.at(world.t, fn);
    // Its copy was the source until now (design §21.1), as its sidecar, if the one that ran it, knows.
    if (this.sidecar?.inc === w.owner) this.syncTruth.noteFresh(this.parts.world.t, this.parts.world.t);
    const wasActive = !w.terminating;
    w.terminating = true;
    this.procs = this.procs.filter((p) => p !== w);
    this.parts.observer.onDeath(this);
    if (wasActive) this.parts.observer.onDeactivation(w, undefined);
    if (world.trace.on1) world.trace.log(1, this.name, `workload ${world.trace.epoch(w.epoch)} ${why}`);
    world.at(world.t, () =>
      this.gate(w.owner, (s) => {
        if (s.workload !== w) return;
        s.workload = undefined;
        if (byItself) this.parts.observer.onCrashReported(this);
        s.onStopped(byItself);
      }),
    );
  }
}
