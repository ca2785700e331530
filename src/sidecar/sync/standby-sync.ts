/**
 * The standby's sync schedule (design §21.1): `--sync-cmd` every `--sync-interval` while the node
 * is a plain standby (its workload stopped, holding nothing, not in maintenance or removed), at
 * once when an operator asks ("sync now", §21.2), never on the active copy: a run still going when
 * the node starts to take over is cancelled. It keeps the freshness the witness is told with every
 * heartbeat: the time since the last successful sync, or since the node last ran the workload (its
 * copy was the source then), whichever is later. Everything comes through ports, so the simulator
 * drives this same code on its virtual clock.
 */
import type { SyncReport, SyncRun } from '../../core/witness/types';
import type { Clock, TimerHandle, Timers } from '../sidecar-ports';

/** What one run of the command brought; the schedule adds its id and duration. */
export interface SyncOutcome {
  readonly ok: boolean;
  readonly exitCode: number;
  readonly outputTail: string;
  readonly error: string;
}

/** Runs the sync command once; the handle kills it (its outcome then still arrives, as failed). */
export interface SyncCommand {
  run(done: (outcome: SyncOutcome) => void): { cancel(why: string): void };
}

/** What the schedule needs to know of the node at each decision (from the core's view). */
export interface NodeCondition {
  /** The workload is starting, running or stopping: this copy is the source. */
  readonly runsWorkload: boolean;
  /** The workload is stopped and the node holds nothing: neither active nor about to start. */
  readonly standby: boolean;
  /** In maintenance or removed (the witness said so): it runs nothing, syncs nothing. */
  readonly outOfService: boolean;
}

export interface StandbySyncSettings {
  readonly intervalMs: number;
}

export class StandbySync {
  /** When the copy was last known fresh (a sync succeeded, or the workload last ran); NaN: never. */
  private freshAt = Number.NaN;
  private active = false;
  private allowed = false;
  private lastRun: SyncRun | undefined;
  private running: { readonly requestId: bigint; readonly startedAt: number; cancel(why: string): void } | undefined;
  private timer: TimerHandle | undefined;
  /** The "sync now" asked and not yet run; 0n when none. */
  private asked = 0n;
  /** The latest "sync now" id run (or running), so a repeated answer does not run it twice. */
  private answered = 0n;
  /** When the next scheduled run is due (the first: as soon as the node may sync). */
  private dueAt: number;
  private closed = false;
  /** Told of every finished run: the sidecar logs it, and reports it to the witness at once. */
  private readonly runListeners: ((run: SyncRun) => void)[] = [];

  constructor(
    private readonly settings: StandbySyncSettings,
    private readonly command: SyncCommand,
    private readonly clock: Clock,
    private readonly timers: Timers,
  ) {
    this.dueAt = clock.now();
  }

  /** `listener` is told of every run from now on, once it has finished. */
  onRun(listener: (run: SyncRun) => void): void {
    this.runListeners.push(listener);
  }

  /** The node's condition after each decision of the runtime. */
  onCondition(condition: NodeCondition): void {
    if (this.closed) return;
    const now = this.clock.now();
    // While the workload runs, and the moment it has stopped, this copy is the freshest there is.
    if (condition.runsWorkload || this.active) this.freshAt = now;
    this.active = condition.runsWorkload;
    this.allowed = condition.standby && !condition.outOfService;
    if (!this.allowed) {
      const why = condition.standby ? 'the node is out of service' : 'the node is taking over';
      this.running?.cancel(`cancelled: ${why}`);
      return;
    }
    this.runIfDue();
  }

  /** The witness's answer asked for a sync now, under `id`. */
  onSyncNow(id: bigint): void {
    if (this.closed || id === 0n || id === this.answered || id === this.asked) return;
    this.asked = id;
    this.runIfDue();
  }

  /** What this heartbeat tells the witness. */
  report(): SyncReport {
    const now = this.clock.now();
    const synced = this.active || !Number.isNaN(this.freshAt);
    return {
      synced,
      ageMs: this.active || !synced ? 0 : Math.max(0, now - this.freshAt),
      lastRun: this.lastRun,
    };
  }

  /** A sync command runs now. */
  get syncing(): boolean {
    return this.running !== undefined;
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.running?.cancel('cancelled: the sidecar stops');
  }

  private runIfDue(): void {
    if (!this.allowed || this.running !== undefined || this.closed) return;
    const now = this.clock.now();
    if (this.asked === 0n && now < this.dueAt) {
      this.arm(this.dueAt - now);
      return;
    }
    this.timer?.cancel();
    this.timer = undefined;
    const requestId = this.asked;
    this.asked = 0n;
    if (requestId !== 0n) this.answered = requestId;
    let cancelledBecause = '';
    const handle = this.command.run((outcome) => this.finished(requestId, now, outcome, cancelledBecause));
    this.running = {
      requestId,
      startedAt: now,
      cancel: (why) => {
        cancelledBecause = why;
        handle.cancel(why);
      },
    };
  }

  private finished(requestId: bigint, startedAt: number, outcome: SyncOutcome, cancelledBecause: string): void {
    this.running = undefined;
    const now = this.clock.now();
    const ok = outcome.ok && cancelledBecause === '';
    this.lastRun = {
      requestId,
      ok,
      exitCode: outcome.exitCode,
      durationMs: now - startedAt,
      outputTail: outcome.outputTail,
      error: cancelledBecause !== '' ? cancelledBecause : outcome.error,
    };
    // The copy is as fresh as the moment the sync began: what it pulled was the primary's then.
    if (ok) this.freshAt = Math.max(Number.isNaN(this.freshAt) ? startedAt : this.freshAt, startedAt);
    for (const listener of this.runListeners) listener(this.lastRun);
    this.dueAt = now + this.settings.intervalMs;
    if (!this.closed) this.runIfDue();
  }

  private arm(delayMs: number): void {
    if (this.timer !== undefined) return;
    this.timer = this.timers.after(delayMs, () => {
      this.timer = undefined;
      this.runIfDue();
    });
  }
}
