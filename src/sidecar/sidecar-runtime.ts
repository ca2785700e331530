/**
 * The sidecar's one shell: drives the pure SidecarCore with heartbeats to the peer and the
 * witness, carries out its actions on the workload, feeds the watchdog the moment the stop must
 * begin, and wakes when the core says it next needs to decide. Everything it touches comes in
 * through its parts (sidecar-runtime-parts.ts, the ports of sidecar-ports.ts), so the sidecar
 * process and the simulator run this same code.
 */
import { SidecarCore } from '../core/sidecar/sidecar-core';
import { handOverLimitMs } from '../core/sidecar/timing';
import type {
  AcquireFailure,
  Action,
  KeptRun,
  PeerReply,
  PeerState,
  SidecarSettings,
  SidecarView,
  WitnessAnswer,
} from '../core/sidecar/types';
import type { SidecarState } from '../gen/witness/v1/SidecarState';
import { acquireDeadlineMs, logAcquireTiming } from './acquire-timing';
import type { TimerHandle } from './sidecar-ports';
import { LinkChanges } from './link-changes';
import { FailbackNotice, logEvent } from './sidecar-events';
import type { SidecarRuntimeParts } from './sidecar-runtime-parts';
import { statusOf } from './status-of';
import { requireWorkableSettings } from './workable-settings';

export class SidecarRuntime {
  private readonly core: SidecarCore;
  private heartbeatTimer: TimerHandle | undefined;
  /** The next heartbeat to the witness, on its own rhythm per role (design §4.6). */
  private witnessBeat: { readonly at: number; readonly timer: TimerHandle } | undefined;
  private lastWitnessBeatAt = -Infinity;
  private wakeTimer: TimerHandle | undefined;
  private wakeAt = Number.NaN;
  private closed = false;
  /** The highest epoch sent to the epoch record, written or not yet. */
  private recording = 0n;
  private readonly links: LinkChanges;
  private readonly failback = new FailbackNotice();
  /** During a planned stop: resolves it once the core hands the group over (see `close`). */
  private onHandingOver: (() => void) | undefined;
  /** What the latest decision had the node tell its peer of a hand-over (design §9.5, §9.6). */
  private saidHandingOver = false;

  constructor(
    private readonly settings: SidecarSettings,
    private readonly parts: SidecarRuntimeParts,
  ) {
    requireWorkableSettings(settings);
    this.links = new LinkChanges(parts.witness !== undefined);
    const now = parts.clock.now();
    const recorded = parts.epochRecord?.atStart;
    this.core = parts.createCore ? parts.createCore(settings, now, recorded) : new SidecarCore(settings, now, recorded);
    if (parts.adopted !== undefined) {
      this.core.adopt(parts.adopted, now);
      // The kept run is this copy's source now: if it stops before this process first decides (its
      // deadline may be a few ms away), the copy is fresh from that stop, not "never synced".
      this.tellSync(this.core.view(now), false);
      this.log(
        'workload adopted',
        `the previous sidecar process kept this run; stop in ${this.core.view(now).msUntilStop} ms unless renewed`,
      );
    }
    parts.workload.on('running', () => {
      this.core.onWorkload('running', this.parts.clock.now());
      this.log('workload running');
      this.act();
    });
    parts.workload.on('stopped', (byItself: boolean) => {
      this.core.onWorkload('stopped', this.parts.clock.now(), byItself);
      this.log(byItself ? 'workload exited by itself' : 'workload stopped');
      this.act();
    });
    // The freshness gate judges by the latest report (design §21.4): a finished sync is told at
    // once, not a standby's slower witness heartbeat later (design §4.6).
    parts.sync?.onRun(() => {
      this.core.onWitnessNews(this.parts.clock.now());
      if (this.witnessBeat === undefined) return; // not heartbeating: stopping, or not begun
      this.cancelWitnessBeat();
      this.beatWitness();
    });
  }

  /** Starts heartbeating; the first heartbeats go out now. */
  begin(): void {
    this.beatWitness();
    this.heartbeat();
  }

  /** The peer's heartbeat arrived: the core answers it (and may act on what it heard). */
  onPeerHeartbeat(state: PeerState): PeerReply {
    const reply = this.core.onPeerHeartbeat(state, this.parts.clock.now());
    this.act();
    return reply;
  }

  /**
   * The planned stop (SIGTERM; design §9.5). In standard mode the core's rows stop the workload and
   * release the group while the heartbeats go on, and a last heartbeat tells the peer that it may
   * take over at once, all within `handOverLimitMs`. Then the links close; a hand-over cut short
   * by the limit (a witness that does not answer the release) ends as before: the workload
   * stopped, then one release.
   */
  async close(): Promise<void> {
    this.parts.activeHealth?.setServing(false);
    if (this.settings.mode === 'standard' && !this.closed) await new Promise<void>((done) => this.handOver(done));
    this.halt();
    await this.parts.workload.close();
    // Stopped first, then release at the witness: the peer may take over only after both.
    const view = this.core.view(this.parts.clock.now());
    const witness = this.parts.witness;
    if (view.holding && witness !== undefined) {
      await new Promise<void>((resolve) => witness.release(view.epoch, view.knownEpoch, () => resolve()));
    }
    this.parts.peer.close();
    this.parts.witness?.close();
  }

  /**
   * The first half of `close` (standard mode), on the runtime's own timers so that the simulator
   * drives it too: `done` runs once the peer has been told, or after `handOverLimitMs`.
   */
  handOver(done: () => void): void {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      limit.cancel();
      this.onHandingOver = undefined;
      done();
    };
    const limit = this.parts.timers.after(handOverLimitMs(this.settings), finish);
    this.onHandingOver = () => {
      this.onHandingOver = undefined;
      // The peer hears it now, not a heartbeat later; its answer (or the link's failure) ends it.
      this.heartbeatPeer(this.parts.clock.now(), finish);
    };
    this.core.leave();
    this.log('hand-over', 'a planned stop: stopping the workload, releasing, then telling the peer to take over');
    this.act();
  }

  /**
   * Before this process exits for a restart that keeps the workload (design §9.8): one last round
   * of heartbeats, so that the run goes to the next process on the freshest leases it can have,
   * then the runtime halts (no release: the next process renews this run) and `done` gets the run
   * to keep; undefined when none can be kept (not running and held, or its stop has begun), in
   * which case the runtime still runs and a planned stop is the way out.
   */
  keepRun(done: (run: KeptRun | undefined) => void): void {
    if (this.closed || this.core.keptRun(this.parts.clock.now()) === undefined) {
      done(undefined);
      return;
    }
    this.heartbeatTimer?.cancel();
    this.cancelWitnessBeat();
    let unanswered = 2;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      limit.cancel();
      const run = this.core.keepRun(this.parts.clock.now());
      if (run === undefined) {
        this.begin(); // nothing to keep after all: carry on as before
      } else {
        // The watchdog enforces the kept run's deadline alone until the next process adopts it.
        this.parts.workload.feed(this.core.stopDeadline());
        this.halt();
      }
      done(run);
    };
    // Waiting longer than a heartbeat would cost the next process more than a later renewal gains it.
    const limit = this.parts.timers.after(this.settings.heartbeatMs, finish);
    const answered = (): void => {
      unanswered -= 1;
      if (unanswered === 0) finish();
    };
    const now = this.parts.clock.now();
    this.heartbeatWitness(now, answered);
    this.heartbeatPeer(now, answered);
  }

  /** No more heartbeats, timers or decisions (what is in flight is ignored when it lands). */
  halt(): void {
    this.closed = true;
    this.heartbeatTimer?.cancel();
    this.cancelWitnessBeat();
    this.wakeTimer?.cancel();
    this.parts.sync?.close();
  }

  private heartbeat(): void {
    if (this.closed) return;
    this.heartbeatPeer(this.parts.clock.now());
    this.act();
    this.heartbeatTimer = this.parts.timers.after(this.settings.heartbeatMs, () => this.heartbeat());
  }

  private beatWitness(): void {
    if (this.closed || this.parts.witness === undefined) return;
    this.witnessBeat = undefined;
    const now = this.parts.clock.now();
    this.lastWitnessBeatAt = now;
    this.heartbeatWitness(now);
    this.armWitnessBeat(now);
  }

  /**
   * The next witness heartbeat is due one interval after the last, for the role the node has now:
   * a node that starts its workload renews at the running rate from its previous heartbeat on.
   */
  private armWitnessBeat(now: number): void {
    if (this.closed || this.parts.witness === undefined) return;
    const at = this.lastWitnessBeatAt + this.core.witnessHeartbeatMs();
    if (this.witnessBeat?.at === at) return;
    this.cancelWitnessBeat();
    this.witnessBeat = { at, timer: this.parts.timers.after(Math.max(0, at - now), () => this.beatWitness()) };
  }

  private cancelWitnessBeat(): void {
    this.witnessBeat?.timer.cancel();
    this.witnessBeat = undefined;
  }

  private heartbeatWitness(sentAt: number, answered?: () => void): void {
    const witness = this.parts.witness;
    if (witness === undefined) {
      answered?.();
      return;
    }
    const { heldEpoch, knownEpoch, leaseMs } = this.core.witnessHeartbeat();
    const sync = this.parts.sync;
    witness.renew(
      heldEpoch,
      knownEpoch,
      leaseMs,
      (answer) => {
        if (this.closed) return;
        if (answer === undefined) this.core.onWitnessHeartbeatUnanswered(sentAt);
        else this.core.onWitnessHeartbeatAnswer(sentAt, heldEpoch, answer, this.parts.clock.now());
        this.act();
        if (answer?.syncNowId !== undefined) sync?.onSyncNow(answer.syncNowId);
        answered?.();
      },
      sync?.report(),
    );
  }

  private heartbeatPeer(sentAt: number, answered?: () => void): void {
    const state = this.core.peerState(sentAt);
    this.parts.peer.heartbeat(state, (reply) => {
      if (this.closed || reply === undefined) {
        answered?.();
        return;
      }
      this.core.onPeerReply(sentAt, reply, this.parts.clock.now());
      this.act();
      answered?.();
    });
  }

  /** Ask the core what to do now, do it, feed the watchdog, and wake when the core next needs to. */
  private act(): void {
    if (this.closed) return;
    const now = this.parts.clock.now();
    for (const action of this.core.decide(now)) this.carryOut(action, now);
    const view = this.core.view(now);
    if (view.workload === 'running' || view.workload === 'starting') this.parts.workload.feed(this.core.stopDeadline());
    this.armWake(this.core.nextWakeAt(now), now);
    if (this.witnessBeat !== undefined) this.armWitnessBeat(now);
    this.parts.activeHealth?.setServing(view.workload === 'running');
    for (const { change, says } of this.links.since(view)) this.log(change, says);
    const failback = this.failback.since(view);
    if (failback !== undefined) this.log('failback-scheduled', failback);
    this.recordEpochs();
    const peerState = this.core.peerState(now);
    this.tellSync(view, peerState.maintenance);
    const handingOver = peerState.handingOver;
    if (handingOver && this.onHandingOver !== undefined) this.onHandingOver();
    // A switchover or maintenance: the peer hears it now too, not a heartbeat later.
    else if (handingOver && !this.saidHandingOver) this.heartbeatPeer(now);
    this.saidHandingOver = handingOver;
  }

  /** The sync schedule's condition from the core's view: never on the active copy, nor while it starts or stops (design §21.1). */
  private tellSync(view: SidecarView, inMaintenance: boolean): void {
    this.parts.sync?.onCondition({
      runsWorkload: view.workload !== 'stopped',
      standby: view.workload === 'stopped' && !view.holding,
      outOfService: inMaintenance,
    });
  }

  /** Writes a higher epoch to --state-dir's record; the core counts on it once it is on disk (design §10.2). */
  private recordEpochs(): void {
    const record = this.parts.epochRecord;
    const epoch = this.core.epochToRecord();
    if (record === undefined || epoch === undefined || epoch <= this.recording) return;
    this.recording = epoch;
    record.write(epoch, (ok) => {
      if (this.closed) return;
      if (!ok) {
        // Asked again at the next decision: nothing counts on it meanwhile.
        if (this.recording === epoch) this.recording = 0n;
        return;
      }
      this.core.onEpochRecorded(epoch);
      this.act();
    });
  }

  /** One timer, at the core's next wake-up (SAFETY 1: the stop begins exactly at the deadline). */
  private armWake(at: number, now: number): void {
    if (at === this.wakeAt) return;
    this.wakeTimer?.cancel();
    this.wakeAt = at;
    // Infinity: nothing is due but what the next input or heartbeat brings.
    if (!Number.isFinite(at)) return;
    this.wakeTimer = this.parts.timers.after(Math.max(0, at - now), () => {
      this.wakeAt = Number.NaN;
      this.act();
    });
  }

  private carryOut(action: Action, now: number): void {
    this.parts.onAction?.(action);
    const view = this.core.view(now);
    this.log(
      action.kind,
      action.why,
      action.kind === 'start' || action.kind === 'release' ? action.epoch : view.epoch,
      action.rule,
    );
    switch (action.kind) {
      case 'start':
        this.parts.workload.start(
          action.epoch,
          {
            WITNESS_EPOCH: action.epoch.toString(),
            WITNESS_GROUP: this.settings.group,
            WITNESS_NODE: this.settings.node,
          },
          this.core.stopDeadline(),
        );
        return;
      case 'stop':
        this.parts.workload.stop();
        return;
      case 'acquire':
        this.parts.witness?.acquire(
          view.knownEpoch,
          this.settings.leaseMs,
          acquireDeadlineMs(this.settings),
          (answer, failure) => this.onAcquire(now, answer, failure),
          this.parts.sync?.report(),
        );
        return;
      case 'release':
        this.parts.witness?.release(action.epoch, view.knownEpoch, (answer) => {
          if (this.closed) return;
          this.core.onReleaseAnswer(action.epoch, answer, this.parts.clock.now());
          this.act();
        });
        return;
    }
  }

  private onAcquire(sentAt: number, answer: WitnessAnswer | undefined, failure: AcquireFailure): void {
    if (this.closed) return;
    const now = this.parts.clock.now();
    this.core.onAcquireAnswer(sentAt, answer, now, failure);
    this.act();
    const granted = answer?.verdict === 'granted' && answer.holder === this.settings.node;
    // The core starts a usable grant at once; one it did not start, it released as too late.
    const released = granted && this.core.view(now).workload === 'stopped';
    const timedOut = answer === undefined && failure === 'timed-out';
    logAcquireTiming(this.parts.logger, this.settings, { elapsedMs: now - sentAt, answer, timedOut, released });
  }

  /** Logs one event, and tells `onEvent` of it (sidecar-events.ts logEvent). */
  private log(what: string, why?: string, epoch?: bigint, rule?: string): void {
    logEvent(this.parts, this.settings, this.core.view(this.parts.clock.now()), what, why, epoch, rule);
  }

  /** The core's view now (what status() reports, in the core's terms). */
  view(): SidecarView {
    return this.core.view(this.parts.clock.now());
  }

  status(): SidecarState {
    const now = this.parts.clock.now();
    return statusOf(this.settings, this.core.view(now), this.parts);
  }
}
