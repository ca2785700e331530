/**
 * The supervision of one workload run at a time through the watchdog process
 * (./watchdog/watchdog-main.ts, design §8.3), which owns the workload: the watchdog spawned and
 * made ready, the commands sent it, its reports, its death and the backstop behind it. What the
 * supervisor does and promises is documented on WorkloadSupervisor (workload-supervisor.ts), which
 * adds the run kept across a restart of the sidecar process (design §9.8) and extends this class;
 * nothing else should.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DeadlineTimer } from './deadline-timer';
import { RUN_ID_VARIABLE, sigkillMarkedProcesses } from './marked-processes';
import { monotonicNowMs } from './monotonic-clock';
import { killUntilGone, sigkillGroupIfAlive, signalGroup } from './watchdog/process-group';
import { SpawnedWatchdog, type WatchdogHandle, type WatchdogListener } from './watchdog/watchdog-handle';
import {
  deadlineToWire,
  type StoppedReport,
  type WatchdogCommand,
  type WatchdogReport,
  type WatchdogStopReason,
} from './watchdog/watchdog-protocol';

export interface SupervisorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WorkloadSupervisorOptions {
  /** The workload's command and arguments. */
  argv: string[];
  /** Time between SIGTERM and SIGKILL. */
  stopTimeoutMs: number;
  logger?: SupervisorLogger;
  /** Slack past deadline + stopTimeoutMs before the supervisor kills a silent watchdog. Default 1000. */
  backstopMarginMs?: number;
}

/**
 * 'watchdog-died': the watchdog died while the workload was active and the supervisor killed the
 * group; 'backstop': the watchdog did not report in time and the supervisor killed both.
 */
export type WorkloadStopReason = WatchdogStopReason | 'watchdog-died' | 'backstop';

export interface WorkloadStopped {
  byItself: boolean;
  reason: WorkloadStopReason;
  /** Exit code / signal of the workload's main process, when known. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The workload's pid (= pgid), null if it never ran (or was never reported). */
  pid: number | null;
  /** SIGKILL was needed. */
  escalated: boolean;
  error?: string;
}

export type WorkloadState = 'idle' | 'starting' | 'running' | 'stopping';

const WATCHDOG_EXIT_WAIT_MS = 5000;

export abstract class RunSupervisor extends EventEmitter {
  private readonly argv: string[];
  protected readonly stopTimeoutMs: number;
  protected readonly logger: SupervisorLogger | undefined;
  private readonly backstopMarginMs: number;

  /** The watchdog this process spawned, which takes the next start. */
  private watchdog: SpawnedWatchdog | null = null;
  /** The watchdog that runs the active workload (null when idle, or once it died): spawned or adopted. */
  protected owner: WatchdogHandle | null = null;
  protected _state: WorkloadState = 'idle';
  protected pid: number | null = null;
  protected deadline = 0;
  /** The deadline, or the time it was given if that is later (a past deadline means: stop now). */
  protected stopBeginBound = 0;
  protected stopAt = Infinity;
  protected readonly backstop = new DeadlineTimer(
    () => this.backstopAt(),
    () => this.killSilentWatchdog(),
    () => this._state !== 'idle' && this.owner !== null,
  );
  protected killReason: 'watchdog-died' | 'backstop' = 'watchdog-died';
  protected runId = '';
  private idleWaiters: (() => void)[] = [];
  private readonly goneWaiters = new Map<WatchdogHandle, () => void>();
  /** A 'keep' waits for the watchdog's 'kept' (or its refusal). */
  protected keepWaiter: ((refusal?: string) => void) | undefined;
  protected readonly listener: WatchdogListener = {
    report: (wd, report) => this.onReport(wd, report),
    gone: (wd, code, signal) => this.onWatchdogGone(wd, code, signal),
  };
  protected closing: Promise<void> | null = null;
  /** Settles when the current watchdog has booted (rejects if it exits first). */
  private watchdogReady: Promise<void> = Promise.resolve();
  private readyResolve: (() => void) | null = null;
  private readyReject: ((err: Error) => void) | null = null;

  private readonly onSendError = (err: Error | null): void => {
    if (err) this.logger?.warn({ err: err.message }, 'could not send to the watchdog');
  };

  constructor(options: WorkloadSupervisorOptions) {
    super();
    if (options.argv.length === 0) throw new Error('WorkloadSupervisor: argv is empty');
    if (!Number.isFinite(options.stopTimeoutMs) || options.stopTimeoutMs < 0) {
      throw new RangeError('WorkloadSupervisor: stopTimeoutMs must be a finite number >= 0');
    }
    this.argv = [...options.argv];
    this.stopTimeoutMs = options.stopTimeoutMs;
    this.logger = options.logger;
    this.backstopMarginMs = options.backstopMarginMs ?? 1000;
  }

  /** 'idle' (no workload), 'starting' (asked, not yet reported), 'running', 'stopping'. */
  get state(): WorkloadState {
    return this._state;
  }

  /** The workload's pid (= pgid) while it is known and not reported stopped. */
  get workloadPid(): number | null {
    return this.pid;
  }

  /** The current watchdog's pid, if one was spawned and has not been seen to exit. */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  /**
   * Spawns the watchdog now, if none runs, and resolves once it takes commands, so that its
   * start-up does not eat the first deadline. Rejects if it exits first or is not ready within
   * `timeoutMs`.
   */
  async prepare(timeoutMs = 10_000): Promise<void> {
    if (this.closing) throw new Error('WorkloadSupervisor: closed');
    this.ensureWatchdog();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`WorkloadSupervisor: watchdog not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.watchdogReady, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Starts the workload with `env` (WITNESS_GROUP, WITNESS_NODE...) plus WITNESS_EPOCH = epoch,
   * to be stopped at `deadline` unless a later one is fed. Throws when a workload is still active
   * (starting, running or stopping: wait for 'stopped') or after close().
   */
  start(epoch: bigint, env: Record<string, string>, deadline: number): void {
    if (this.closing) throw new Error('WorkloadSupervisor: closed');
    if (this._state !== 'idle') throw new Error(`WorkloadSupervisor: start() while a workload is ${this._state}`);
    if (Number.isNaN(deadline)) throw new RangeError('WorkloadSupervisor: deadline is NaN');
    const wd = this.ensureWatchdog();
    this._state = 'starting';
    this.owner = wd;
    this.pid = null;
    this.deadline = deadline;
    this.stopBeginBound = Math.max(deadline, monotonicNowMs());
    this.stopAt = Infinity;
    this.killReason = 'watchdog-died';
    this.runId = randomUUID();
    this.send(wd, {
      type: 'start',
      argv: this.argv,
      env: { ...env, WITNESS_EPOCH: epoch.toString(), [RUN_ID_VARIABLE]: this.runId },
      stopTimeoutMs: this.stopTimeoutMs,
      deadline: deadlineToWire(deadline),
    });
    this.backstop.arm();
  }

  /** A new deadline (monotonic ms). Cheap: sends only when it differs from the last one. */
  feed(deadline: number): void {
    if (deadline === this.deadline || Number.isNaN(deadline)) return;
    this.deadline = deadline;
    if ((this._state === 'starting' || this._state === 'running') && this.owner) {
      this.stopBeginBound = Math.max(deadline, monotonicNowMs());
      this.send(this.owner, { type: 'deadline', deadline: deadlineToWire(deadline) });
      this.backstop.moved();
    }
  }

  /** Stops the workload now (SIGTERM, SIGKILL after stopTimeoutMs); 'stopped' follows. No-op when idle. */
  stop(): void {
    if (this._state !== 'starting' && this._state !== 'running') return;
    this._state = 'stopping';
    this.stopAt = monotonicNowMs();
    if (this.owner) this.send(this.owner, { type: 'stop' });
    this.backstop.arm();
  }

  /** Stops the workload now and resolves once it is dead (at once when idle); start() works afterwards. */
  async stopAndWait(): Promise<void> {
    if (this._state === 'idle') return;
    this.stop();
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the workload, waits until it is dead, then ends the watchdog. start() throws afterwards. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this._state !== 'idle') {
      this.stop();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    const wd = this.watchdog;
    if (!wd) return;
    // this.watchdog is cleared when its exit has been handled, so that is still to come.
    const closed = new Promise<void>((resolve) => this.goneWaiters.set(wd, resolve));
    if (wd.connected) wd.disconnect(); // an idle watchdog exits when its channel closes
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), WATCHDOG_EXIT_WAIT_MS)));
    if ((await Promise.race([closed, late])) === 'late') {
      this.logger?.warn({ watchdogPid: wd.pid }, 'watchdog did not exit; killing it');
      wd.kill('SIGKILL');
      await closed;
    }
    clearTimeout(timer);
  }

  private ensureWatchdog(): SpawnedWatchdog {
    const current = this.watchdog;
    if (current && current.connected) return current;
    const wd = new SpawnedWatchdog(this.listener);
    this.watchdog = wd;
    this.watchdogReady = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.watchdogReady.catch(() => undefined); // nobody may be waiting
    wd.onError((err) => this.logger?.warn({ err: err.message, watchdogPid: wd.pid }, 'watchdog error'));
    this.logger?.info({ watchdogPid: wd.pid }, 'watchdog started');
    return wd;
  }

  protected send(wd: WatchdogHandle, cmd: WatchdogCommand): void {
    if (wd.connected) wd.send(cmd, this.onSendError);
  }

  private onReport(wd: WatchdogHandle, m: WatchdogReport): void {
    if (m.type === 'error') {
      this.logger?.warn({ watchdogPid: wd.pid, message: m.message }, 'watchdog refused a command');
      if (wd === this.owner) this.keepWaiter?.(m.message);
      return;
    }
    if (m.type === 'kept') {
      if (wd !== this.owner) return;
      // The run is the next process's now: nothing here may stop or kill it any more.
      this.backstop.cancel();
      this.owner = null;
      this.keepWaiter?.();
      return;
    }
    if (m.type === 'ready') {
      if (wd === this.watchdog) this.readyResolve?.();
      return;
    }
    if (wd !== this.owner) return; // a report of an earlier watchdog, already dealt with
    if (m.type === 'running') {
      this.pid = m.pid;
      if (this._state === 'starting') this._state = 'running';
      // pino's own `pid` is the sidecar's: the workload's needs its own key.
      this.logger?.info({ workloadPid: m.pid, watchdogPid: wd.pid }, 'workload running');
      this.emit('running', m.pid);
    } else if (m.type === 'stopped') {
      this.finish(m);
    }
  }

  private finish(report: Omit<StoppedReport, 'type' | 'reason' | 'stopMs'> & { reason: WorkloadStopReason }): void {
    if (this._state === 'idle') return;
    this.backstop.cancel();
    this._state = 'idle';
    this.owner = null;
    this.pid = null;
    this.stopAt = Infinity;
    const info: WorkloadStopped = {
      byItself: report.byItself,
      reason: report.reason,
      code: report.code,
      signal: report.signal,
      pid: report.pid,
      escalated: report.escalated,
    };
    if (report.error !== undefined) info.error = report.error;
    const log = report.escalated || report.reason !== 'requested' ? this.logger?.warn : this.logger?.info;
    const { pid: workloadPid, ...rest } = info;
    log?.call(this.logger, { ...rest, workloadPid }, 'workload stopped');
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    this.emit('stopped', info.byItself, info);
    for (const resolve of waiters) resolve();
  }

  private onWatchdogGone(wd: WatchdogHandle, code: number | null, signal: NodeJS.Signals | null): void {
    if (wd === this.watchdog) {
      this.watchdog = null;
      this.readyReject?.(new Error(`WorkloadSupervisor: the watchdog exited (code ${code}, signal ${signal})`));
      this.readyResolve = this.readyReject = null;
    }
    this.goneWaiters.get(wd)?.();
    this.goneWaiters.delete(wd);
    if (wd !== this.owner || this._state === 'idle') {
      this.logger?.info({ watchdogPid: wd.pid, code, signal }, 'watchdog exited');
      return;
    }
    // The watchdog is gone while its workload is active: kill the workload's group ourselves.
    this.owner = null;
    this._state = 'stopping';
    const pid = this.pid;
    const reason = this.killReason;
    const runId = this.runId;
    this.logger?.warn(
      { watchdogPid: wd.pid, code, signal, workloadPid: pid, reason, runId },
      pid === null
        ? `watchdog gone before it reported the workload pid: killing the processes marked ${RUN_ID_VARIABLE}=${runId}`
        : 'watchdog gone while the workload is active: killing its process group',
    );
    // Whatever of the workload is alive: its group (pid known) or the processes marked with its run id.
    let killed = pid !== null;
    const killRound =
      pid !== null
        ? (): boolean => sigkillGroupIfAlive(pid)
        : (): boolean => {
            const found = sigkillMarkedProcesses(runId);
            if (found > 0) killed = true;
            return found === 0;
          };
    killUntilGone(killRound, () =>
      this.finish({ byItself: false, reason, code: null, signal: killed ? 'SIGKILL' : null, pid, escalated: killed }),
    );
  }

  private backstopAt(): number {
    return Math.min(this.stopBeginBound, this.stopAt) + this.stopTimeoutMs + this.backstopMarginMs;
  }

  private killSilentWatchdog(): void {
    const wd = this.owner;
    if (!wd) return;
    this.logger?.warn(
      { watchdogPid: wd.pid, workloadPid: this.pid },
      'watchdog did not report the workload stopped in time: killing the watchdog and the workload',
    );
    this.killReason = 'backstop';
    if (this.pid !== null) signalGroup(this.pid, 'SIGKILL');
    wd.kill('SIGKILL'); // its exit handler kills the group again and reports once nothing is left
  }
}
