/**
 * One node of the pair: its sidecar process (the production SidecarRuntime on simulated ports;
 * it may crash, restart with a new runtime, or pause) and the ports it is given: the epoch record,
 * the timers, the peer heartbeats that reach it. Every process reads its own monotonic clock, which
 * runs at the machine's rate from an origin that is new for each incarnation. The machine below the
 * sidecar, its workload processes and their watchdog, is node-machine.ts.
 */
import type { KeptRun, PeerReply, PeerState, SidecarSettings } from '../core/sidecar/types';
import type { EpochRecord, Timers } from '../sidecar/sidecar-ports';
import { RecordingWorkload } from '../sidecar/recording-workload';
import { SidecarRuntime } from '../sidecar/sidecar-runtime';
import type { Task } from './event-queue';
import { NodeMachine } from './node-machine';
import { SidecarProcess, type SimWorkload } from './node-parts';
import { PARTY_NAMES } from './plan';
import { checkStopped, peerEndsRun } from './prompt-stops';
import { SILENT_LOGGER } from './silent-logger';
import { checkAcquireAgainstTable } from './table-conformance';
import { traceLogger } from './trace-logger';
import { type LinkContext, simPeerTransport, simWitnessTransport } from './sidecar-links';
import { newerPeerState } from './peer-state-order';
import { simStandbySync } from './sim-sync';

/** An epoch record's write (fsync, rename, fsync of the directory) takes up to this long (local ms). */
export const RECORD_WRITE_MAX_MS = 8;

/** Timers are set a hair after the local deadline they wait for, so the clock reads >= it. */
const TIMER_EPSILON_MS = 1e-6;

export class SidecarNode extends NodeMachine {
  /**
   * The run the last sidecar process kept for the next (design §9.8), with the workload it runs and
   * that process's clock origin: one machine's monotonic clock, which the next process shares.
   */
  private kept:
    { run: KeptRun; workload: SimWorkload | undefined; offset: number; gap: 'none' | 'not-found' } | undefined;
  /** --state-dir's epoch record (plan.stateDirs): on this machine's disk, it outlives every sidecar process. */
  private recorded = 0n;
  /**
   * The settings its processes run with: the plan's, until a restart that keeps the workload
   * lowers --lease (plan.restartLeaseMs). The checks keep the plan's, the longer lease: their
   * bounds only grow with it.
   */
  private processSettings: SidecarSettings = this.settings;

  // ---- the sidecar process --------------------------------------------------------------------

  startSidecar(): void {
    if (this.sidecar !== undefined) return;
    if (this.machine.frozen) {
      this.machine.run(() => this.startSidecar());
      return;
    }
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
        // A node handing over asks for nothing (design §9.5): the group is its peer's to take.
        if (sc.leaving)
          w.violate('liveness', 'acquire-while-leaving', `${this.name} asks the witness while handing over`);
        this.parts.observer.onAcquire(this);
        sc.lastAcquireAt = w.t;
        checkAcquireAgainstTable(w, this.name, this.processSettings, sc.runtime.view(), sc.peerState);
      },
      onGranted: (epoch, askedAt) => sc.grantsAskedAt.set(epoch, askedAt),
      onPeerLease: (epoch, askedAt) => sc.peerLeasesAskedAt.set(epoch, askedAt),
      heardPeer: (state) => this.handPeerState(sc, state),
      heardWitness: (answer) => {
        sc.groupFailback = answer.failback;
      },
      groupFailback: () => sc.groupFailback,
      afterNextStart: (fn) => this.startWaiters.push(fn),
      afterRunEnds: (fn) => this.runEndWaiters.push(fn),
      onAnswerPastDeadline: (how) => this.parts.observer.onAnswerPastDeadline(how),
      runKeepsEpoch: () => this.runKeepsEpoch(sc),
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
    // Each process numbers its peer states; a later process of the node says later ones (design §9.5).
    sc.runtime = new SidecarRuntime(
      { ...this.processSettings, incarnation: BigInt(sc.inc) },
      {
        clock,
        timers,
        ...(syncs ? { sync: simStandbySync(w, freshness, this.syncTruth, clock, timers) } : {}),
        peer: simPeerTransport(links, this.processSettings),
        witness: this.settings.mode === 'simple' ? undefined : simWitnessTransport(links, this.processSettings),
        // With a state dir, the production wrapper writes each run's epoch before the run starts.
        workload:
          record === undefined ? this.workloadDriver(sc) : new RecordingWorkload(this.workloadDriver(sc), record),
        logger: w.trace.on1 ? traceLogger(w.trace, this.name) : SILENT_LOGGER,
        createCore: this.parts.createCore,
        adopted: adopt?.run,
        epochRecord: record,
      },
    );
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
    this.gate(sc.inc, (s) => {
      s.leaving = true;
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
      });
      // L3 (design §9.5): the hand-over stops the workload first, in the turn the signal is read
      // (standard mode only: simple mode's rows do not read it, and its close does not hand over).
      if (this.settings.mode === 'standard')
        checkStopped(w, this.name, s.workload, () => 'its sidecar got SIGTERM (a planned hand-over stops it first)');
    });
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
        this.lowerLeaseForNextProcesses();
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

  /**
   * S2 (design §3.2, §5.5): a run's epoch is its own. A workload fences with the epoch it was started
   * under (WITNESS_EPOCH), so the sidecar must not come to hold another while it runs: renewing
   * that one, the witness would count a run the workload does not make.
   */
  private runKeepsEpoch(sc: SidecarProcess): () => void {
    const run = sc.workload;
    if (run === undefined || !run.alive || run.terminating) return () => undefined;
    return () => {
      // Taking the grant may have begun the run's stop in the same turn: the epoch is judged anyway.
      const held = sc.runtime.view().epoch;
      if (this.sidecar !== sc || held === run.epoch) return;
      const e = (x: bigint): string => this.parts.world.trace.epoch(x);
      this.parts.world.violate(
        'S2',
        'run-epoch-changed',
        `${this.name} took a grant of epoch ${e(held)} while its workload ran under ${e(run.epoch)}`,
      );
    };
  }

  /** A rolling configuration change applied with SIGUSR2: every later process asks a shorter lease. */
  private lowerLeaseForNextProcesses(): void {
    const w = this.parts.world;
    const leaseMs = w.plan.restartLeaseMs;
    if (leaseMs === undefined || this.processSettings.leaseMs === leaseMs) return;
    this.processSettings = { ...this.processSettings, leaseMs };
    if (w.trace.on1) w.trace.log(1, this.name, `its next processes run with --lease ${leaseMs}ms`);
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
    if (this.machine.frozen) {
      // SIGCONT sent to a process of a frozen machine: it resumes at the thaw.
      this.machine.run(() => this.resumeSidecar(inc, token));
      return;
    }
    sc.paused = false;
    sc.pauseToken += 1;
    const w = this.parts.world;
    if (w.trace.on1) w.trace.log(1, this.name, `sidecar resumes (SIGCONT), ${sc.deferred.length} queued inputs`);
    const queued = sc.deferred;
    sc.deferred = [];
    for (const task of queued) task();
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
        this.machine.timer(w.proc.range(0.2, RECORD_WRITE_MAX_MS), 0, () => {
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
    return {
      after: (delayMs, fire) => {
        let cancelled = false;
        // A timer that comes due while the process is stopped runs once, at SIGCONT.
        this.machine.timer(
          delayMs,
          this.lateness(),
          () => {
            if (!cancelled) fire();
          },
          (fn) => this.gate(sc.inc, fn),
          TIMER_EPSILON_MS,
        );
        return {
          cancel: () => {
            cancelled = true;
          },
        };
      },
    };
  }

  /**
   * The runtime of `sc` is handed `state` (a heartbeat or a reply): the checks' copy of the newest
   * the peer said, and when it was heard. Returns whether `state` is that newest one.
   */
  private handPeerState(sc: SidecarProcess, state: PeerState): boolean {
    sc.peerState = newerPeerState(sc.peerState, state);
    sc.peerHeardAt = this.localNow(sc);
    return sc.peerState === state;
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
      const newest = this.handPeerState(s, state);
      const reply = s.runtime.onPeerHeartbeat(state);
      const w = this.parts.world;
      // An overtaken state ends nothing: the core drops it (design §9.5).
      const endsRun = (): string | undefined =>
        newest ? peerEndsRun(this.settings, state, s.groupFailback) : undefined;
      checkStopped(w, this.name, s.workload, endsRun);
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
}
