/**
 * One node of the pair: its sidecar process (the production SidecarRuntime on simulated ports;
 * it may crash, restart with a new runtime, or pause), its workload processes and their
 * watchdog. Every process reads its own monotonic clock, which runs at the machine's rate from an
 * origin that is new for each incarnation. The watchdog SIGTERMs the workload at the last stop
 * deadline it was fed and at once when the sidecar dies; SIGKILL after the stop timeout; the
 * process is dead at most KILL_SETTLE_MS later.
 */
import { KILL_SETTLE_MS } from '../core/sidecar/timing';
import type { KeptRun, PeerReply, PeerState, SidecarSettings } from '../core/sidecar/types';
import type { EpochRecord, Timers } from '../sidecar/sidecar-ports';
import { RecordingWorkload } from '../sidecar/recording-workload';
import { SidecarRuntime } from '../sidecar/sidecar-runtime';
import type { WorkloadDriver } from '../sidecar/workload-driver';
import type { Task } from './event-queue';
import { type SidecarNodeParts, SidecarProcess, SimWorkload } from './node-parts';
import { PARTY_NAMES } from './plan';
import { checkStopped, peerEndsRun } from './prompt-stops';
import { SILENT_LOGGER } from './silent-logger';
import { checkAcquireAgainstTable, checkNotRunningWhileStopping, checkStoppedOnce } from './table-conformance';
import { traceLogger } from './trace-logger';
import { type LinkContext, simPeerTransport, simWitnessTransport } from './sidecar-links';
import { simStandbySync, SyncTruth } from './sim-sync';

/** An epoch record's write (fsync, rename, fsync of the directory) takes up to this long (local ms). */
export const RECORD_WRITE_MAX_MS = 8;

/** Timers are set a hair after the local deadline they wait for, so the clock reads >= it. */
const TIMER_EPSILON_MS = 1e-6;

export class SidecarNode {
  readonly name: string;
  readonly rate: number;
  sidecar: SidecarProcess | undefined;
  /** Workload processes alive on this machine (a stopping one included). */
  procs: SimWorkload[] = [];
  /** What runs right after this node's next workload start (held answers, sidecar-links.ts). */
  private startWaiters: (() => void)[] = [];
  private runEndWaiters: (() => void)[] = [];
  /**
   * The run the last sidecar process kept for the next (design §9.8), with the workload it runs and
   * that process's clock origin: one machine's monotonic clock, which the next process shares.
   */
  private kept:
    { run: KeptRun; workload: SimWorkload | undefined; offset: number; gap: 'none' | 'not-found' } | undefined;
  /** --state-dir's epoch record (plan.stateDirs): on this machine's disk, it outlives every sidecar process. */
  private recorded = 0n;
  /** Whether the node's copy is fresh, in real time, and whether its sync fails now (design §21.6). */
  readonly syncTruth = new SyncTruth();

  constructor(
    readonly index: number,
    readonly settings: SidecarSettings,
    private readonly parts: SidecarNodeParts,
  ) {
    this.name = PARTY_NAMES[index] as string;
    this.rate = parts.world.plan.clockRates[index] as number;
  }

  // ---- the sidecar process --------------------------------------------------------------------

  startSidecar(): void {
    if (this.sidecar !== undefined) return;
    const w = this.parts.world;
    const kept = this.kept;
    this.kept = undefined;
    const keptWorkload = kept?.workload;
    if (kept?.gap === 'not-found') {
      // Another --state-dir (or a socket gone): the run goes on to its deadline, unadopted.
      this.parts.observer.onKeptRestart('not-found');
    } else if (keptWorkload !== undefined && keptWorkload.alive && keptWorkload.terminating) {
      // The watchdog is stopping the kept run (its deadline passed): the next process hears its
      // 'stopped' on the socket before anything else, and starts as any restarted sidecar does.
      keptWorkload.deathWaiters.push(() => this.startSidecar());
      return;
    }
    const adopt = kept?.gap === 'none' && keptWorkload !== undefined && keptWorkload.alive ? kept : undefined;
    if (kept !== undefined && kept.gap === 'none')
      this.parts.observer.onKeptRestart(adopt ? 'adopted' : 'stopped-before-adoption');
    const sc = new SidecarProcess(this.parts.nextIncarnation(), adopt?.offset ?? w.proc.range(0, 1e6));
    this.sidecar = sc;
    if (adopt !== undefined && keptWorkload !== undefined) {
      keptWorkload.owner = sc.inc;
      sc.workload = keptWorkload;
    }
    const links: LinkContext = {
      world: w,
      network: this.parts.network,
      witness: this.parts.witness,
      from: this.index,
      rate: this.rate,
      inProcess: (fn) => this.gate(sc.inc, fn),
      peer: this.parts.peer,
      afterInput: (endsRun) => checkStopped(w, this.name, sc.workload, endsRun),
      onAcquire: () => {
        this.parts.observer.onAcquire(this);
        sc.lastAcquireAt = w.t;
        checkAcquireAgainstTable(w, this.name, this.settings, sc.runtime.view(), sc.peerState);
      },
      heardPeer: (state) => {
        sc.peerState = state;
      },
      heardWitness: (answer) => {
        sc.groupFailback = answer.failback;
      },
      groupFailback: () => sc.groupFailback,
      afterNextStart: (fn) => this.startWaiters.push(fn),
      afterRunEnds: (fn) => this.runEndWaiters.push(fn),
      currentRun: () => ({
        run: sc.workload?.id,
        running: sc.workload !== undefined && sc.workload.alive && !sc.workload.stopAsked && !sc.workload.terminating,
      }),
    };
    const record = w.plan.stateDirs ? this.epochRecord(sc) : undefined;
    const clock = { now: () => this.localNow(sc) };
    const timers = this.timers(sc);
    const freshness = w.plan.freshness;
    const syncs = freshness !== undefined && !(freshness.synclessSecondary && this.settings.role === 'secondary');
    this.syncTruth.forget(syncs);
    sc.runtime = new SidecarRuntime(this.settings, {
      clock,
      timers,
      ...(syncs ? { sync: simStandbySync(w, freshness, this.syncTruth, clock, timers) } : {}),
      peer: simPeerTransport(links, this.settings),
      witness: this.settings.mode === 'simple' ? undefined : simWitnessTransport(links, this.settings),
      // With a state dir, the production wrapper writes each run's epoch before the run starts.
      workload: record === undefined ? this.workloadDriver(sc) : new RecordingWorkload(this.workloadDriver(sc), record),
      logger: w.trace.on1 ? traceLogger(w.trace, this.name) : SILENT_LOGGER,
      createCore: this.parts.createCore,
      adopted: adopt?.run,
      epochRecord: record,
    });
    if (w.trace.on1)
      w.trace.log(
        1,
        this.name,
        `sidecar starts (incarnation ${sc.inc})${adopt ? `, adopting the kept run ${w.trace.epoch(adopt.run.epoch)}` : ''}`,
      );
    // Its first heartbeat goes out within one heartbeat of the start.
    w.at(w.t + w.proc.range(0, this.settings.heartbeatMs) / this.rate, () =>
      this.gate(sc.inc, (s) => s.runtime.begin()),
    );
  }

  crashSidecar(why: string): void {
    const sc = this.sidecar;
    if (sc === undefined) return;
    this.sidecar = undefined;
    sc.runtime.halt();
    if (this.parts.world.trace.on1) this.parts.world.trace.log(1, this.name, `sidecar ${why}`);
    for (const w of this.procs) {
      if (w.owner === sc.inc && w.alive && !w.terminating)
        this.beginStop(w, 'watchdog: the sidecar is gone (pipe closed)', undefined);
    }
  }

  /**
   * SIGTERM of the sidecar: the runtime's planned hand-over (design §9.5), then the process exits
   * as `crashSidecar` has it (the watchdog stops whatever a hand-over cut short left running), and
   * a new one starts `restartAfterMs` after the exit (none when undefined: the probe's).
   */
  sigtermSidecar(restartAfterMs: number | undefined): void {
    const sc = this.sidecar;
    if (sc === undefined || sc.handingOver) return;
    sc.handingOver = true;
    const w = this.parts.world;
    if (w.trace.on1) w.trace.log(1, this.name, 'sidecar gets SIGTERM: a planned hand-over');
    this.gate(sc.inc, (s) =>
      s.runtime.handOver(() => {
        if (this.sidecar !== s) return;
        if (restartAfterMs === undefined) {
          this.crashSidecar('exits after its hand-over, for good (probe)');
          return;
        }
        this.crashSidecar(`exits after its hand-over; restarts in ${restartAfterMs.toFixed(1)}ms`);
        w.at(w.t + restartAfterMs, () => {
          if (!w.healed) this.startSidecar();
        });
      }),
    );
  }

  /**
   * SIGUSR2 with --state-dir (design §9.8): the runtime keeps its run for the next process, which
   * starts `restartAfterMs` after this one exits (or at the heal) and adopts the run if it still
   * runs. The watchdog goes on enforcing the deadline it was last fed meanwhile: the exit does not
   * stop the workload. With no run to keep, SIGUSR2 is a planned stop.
   */
  restartKeepingWorkload(restartAfterMs: number): void {
    const sc = this.sidecar;
    if (sc === undefined || sc.handingOver) return;
    sc.handingOver = true;
    const w = this.parts.world;
    if (w.trace.on1) w.trace.log(1, this.name, 'sidecar gets SIGUSR2: a restart that keeps the workload');
    this.gate(sc.inc, (s) =>
      s.runtime.keepRun((run) => {
        if (this.sidecar !== s) return;
        if (run === undefined) {
          this.parts.observer.onKeptRestart('nothing-to-keep');
          s.handingOver = false;
          this.sigtermSidecar(restartAfterMs);
          return;
        }
        this.sidecar = undefined;
        // The next process may not find the run (another --state-dir): it runs on to its deadline.
        // (A watchdog killed in the gap is a known limit, design §14: nothing enforces that run.)
        const gap = w.restart.chance(0.9) ? 'none' : 'not-found';
        this.kept = { run, workload: s.workload, offset: s.offset, gap };
        if (w.trace.on1)
          w.trace.log(
            1,
            this.name,
            `sidecar exits keeping run ${w.trace.epoch(run.epoch)}; restarts in ${restartAfterMs.toFixed(1)}ms`,
          );
        w.at(w.t + restartAfterMs, () => {
          if (!w.healed) this.startSidecar();
        });
      }),
    );
  }

  pauseSidecar(ms: number): void {
    const sc = this.sidecar;
    const w = this.parts.world;
    if (sc === undefined || sc.paused) return;
    sc.paused = true;
    const token = ++sc.pauseToken;
    if (w.trace.on1)
      w.trace.log(
        1,
        this.name,
        Number.isFinite(ms) ? `sidecar PAUSED (SIGSTOP) for ${ms.toFixed(1)}ms` : 'sidecar PAUSED for good',
      );
    if (Number.isFinite(ms)) w.at(w.t + ms, () => this.resumeSidecar(sc.inc, token));
  }

  /** SIGCONT of the pause `token` (any pause when omitted). */
  resumeSidecar(inc: number, token?: number): void {
    const sc = this.sidecar;
    if (sc === undefined || sc.inc !== inc || !sc.paused) return;
    if (token !== undefined && sc.pauseToken !== token) return;
    sc.paused = false;
    sc.pauseToken += 1;
    const w = this.parts.world;
    if (w.trace.on1) w.trace.log(1, this.name, `sidecar resumes (SIGCONT), ${sc.deferred.length} queued inputs`);
    const queued = sc.deferred;
    sc.deferred = [];
    for (const task of queued) task();
  }

  /** The workload that counts as active (alive and not told to stop), if any. */
  activeWorkload(): SimWorkload | undefined {
    return this.procs.find((p) => p.alive && !p.terminating);
  }

  /**
   * Runs `fn` in the sidecar process incarnation `inc`: dropped if that process is gone, queued
   * until SIGCONT if it is paused.
   */
  private gate(inc: number, fn: (sc: SidecarProcess) => void): void {
    const sc = this.sidecar;
    if (sc === undefined || sc.inc !== inc) return;
    if (sc.paused) {
      sc.deferred.push(() => this.gate(inc, fn));
      return;
    }
    fn(sc);
    if (this.parts.world.trace.on1) this.traceStatus(sc);
  }

  private localNow(sc: SidecarProcess): number {
    return this.rate * this.parts.world.t + sc.offset;
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

  // ---- the runtime's ports --------------------------------------------------------------------

  /**
   * The epoch record of one sidecar process: read at its start; a write lands on disk a few ms
   * later, and one still in flight when the process dies lands or not (the rename is atomic).
   */
  private epochRecord(sc: SidecarProcess): EpochRecord {
    const w = this.parts.world;
    return {
      atStart: { knownEpoch: this.recorded },
      write: (epoch, done) => {
        w.at(w.t + w.proc.range(0.2, RECORD_WRITE_MAX_MS) / this.rate, () => {
          const alive = this.sidecar === sc;
          if (alive || w.proc.chance(0.5)) this.record(epoch);
          if (alive) this.gate(sc.inc, () => done(true));
        });
      },
    };
  }

  private record(epoch: bigint): void {
    if (epoch > this.recorded) this.recorded = epoch;
  }

  private timers(sc: SidecarProcess): Timers {
    const w = this.parts.world;
    return {
      after: (delayMs, fire) => {
        let cancelled = false;
        // A timer that comes due while the process is stopped runs once, at SIGCONT.
        w.at(w.t + delayMs / this.rate + TIMER_EPSILON_MS + this.lateness(), () =>
          this.gate(sc.inc, () => {
            if (!cancelled) fire();
          }),
        );
        return {
          cancel: () => {
            cancelled = true;
          },
        };
      },
    };
  }

  /** A heartbeat from the peer reaches this machine. */
  receivePeerHeartbeat(from: number, state: PeerState, answer: (r: PeerReply) => void, fail: Task): void {
    const net = this.parts.network;
    const target = this.sidecar;
    if (target === undefined) {
      net.transmit(this.index, from, 'refusal', fail, undefined);
      return;
    }
    this.gate(target.inc, (s) => {
      s.peerState = state;
      const reply = s.runtime.onPeerHeartbeat(state);
      const w = this.parts.world;
      checkStopped(w, this.name, s.workload, () => peerEndsRun(this.settings, state, s.groupFailback));
      if (w.trace.on2)
        w.trace.log(
          2,
          this.name,
          `peer heartbeat from ${PARTY_NAMES[from]} (${state.workload}@${w.trace.epoch(state.epoch)})` +
            (reply.leaseMs > 0 ? `: grants a peer lease for ${w.trace.epoch(reply.leaseForEpoch)}` : ''),
        );
      net.transmit(this.index, from, 'peer reply', () => answer(reply), undefined);
    });
  }

  // ---- workloads and the watchdog -------------------------------------------------------------

  private workloadDriver(sc: SidecarProcess): WorkloadDriver {
    return {
      start: (epoch, _env, deadline) => this.startWorkload(sc, epoch, deadline),
      feed: (deadline) => this.feedWatchdog(sc, deadline),
      stop: () => {
        const w = sc.workload;
        if (w !== undefined) checkStoppedOnce(this.parts.world, this.name, w);
        if (w !== undefined && w.alive && !w.terminating) {
          const v = sc.runtime.view();
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
    // (watchdog-main.ts), the supervisor passes that on in any state (workload-supervisor.ts
    // onReport), and the embedded driver emits it once activate() resolves, stop() or not.
    world.at(world.t + startDelay / this.rate, () => {
      if (!w.alive) return;
      // Stopped before it was ready: the report meets the stop at once (no draw: the stream stays put).
      const ipcMs = w.terminating
        ? 0
        : world.proc.chance(0.9)
          ? world.proc.range(0, 0.2)
          : world.proc.range(0, 2 * world.plan.primary.heartbeatMs);
      world.at(world.t + ipcMs / this.rate, () =>
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
      world.at(world.t + world.proc.exp(world.plan.workloadMeanLifeMs), () => {
        if (w.alive && !w.terminating && !world.healed) this.die(w, true, 'CRASHES by itself');
      });
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
    const now = this.localNow(sc);
    const when = deadline === Number.NEGATIVE_INFINITY ? world.t : world.t + (deadline - now) / this.rate;
    world.at(when + this.lateness(), () => {
      if (w.watchdogToken !== token || !w.alive || w.terminating) return;
      this.beginStop(w, 'watchdog: the stop deadline passed without a renewal from the sidecar', undefined);
    });
  }

  private beginStop(w: SimWorkload, why: string, rule: string | undefined): void {
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
      world.at(world.t + exitAfter / this.rate, () => this.die(w, false, 'exits after SIGTERM'));
      return;
    }
    world.at(world.t + stopTimeout / this.rate + this.lateness(), () => {
      if (!w.alive) return;
      if (world.trace.on1)
        world.trace.log(1, this.name, `SIGKILL workload ${world.trace.epoch(w.epoch)} (stop timeout)`);
      const settle =
        plan.atTheBounds !== undefined || world.proc.chance(0.5) ? KILL_SETTLE_MS : world.proc.range(0, KILL_SETTLE_MS);
      world.at(world.t + settle / this.rate, () => this.die(w, false, 'is dead after SIGKILL'));
    });
  }

  /**
   * How late a timer fires (real ms): up to the margin, half the time all of it, in the schedules
   * that draw late timers and only during the fault phase (the liveness bounds leave it out). At
   * the bounds the primary's are always a full margin late and the secondary's on time: the holder
   * stops as late as it may, and the standby asks the moment it may.
   */
  private lateness(): number {
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
        if (byItself) this.parts.observer.onCrashReported();
        s.onStopped(byItself);
      }),
    );
  }
}
