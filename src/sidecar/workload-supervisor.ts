/**
 * The sidecar's side of workload supervision: drives the watchdog process
 * (./watchdog/watchdog-main.ts, design §8.3), which owns the workload.
 *
 *   const sup = new WorkloadSupervisor({ argv: ['./my-service', '--port', '8080'], stopTimeoutMs: 2000, logger });
 *   await sup.prepare();                            // optional: spawn the watchdog now
 *   sup.on('running', (pid) => ...);
 *   sup.on('stopped', (byItself, info) => ...);   // exactly once per start()
 *   sup.start(epoch, { WITNESS_GROUP: 'g1', WITNESS_NODE: 'a' }, deadline);
 *   sup.feed(deadline);                             // on every renewal, as often as you like
 *   sup.stop();
 *   await sup.close();
 *
 * Deadlines are monotonic milliseconds (monotonicNowMs()): the moment the stop must BEGIN if no later
 * deadline is fed. The caller computes them so that SIGTERM + stopTimeoutMs + SIGKILL end before the
 * lease does (design §8.2). Infinity means no deadline (simple mode has no lease: only a dead
 * sidecar or watchdog stops the workload then); a deadline in the past (-Infinity included) means
 * start nothing / stop now. NaN is refused.
 *
 * Events:
 *   'running' (pid: number)                          the workload was spawned; pid is also its pgid
 *   'stopped' (byItself: boolean, info: WorkloadStopped)
 *        the workload and every process left in its process group are dead. byItself: it exited
 *        without being asked (or could not be spawned); false when it was stopped (stop(), the
 *        deadline, the watchdog's death...). 'stopped' may come without 'running' (reason
 *        'deadline-passed' or 'spawn-failed').
 *
 * The watchdog is spawned lazily at the first start() (or by prepare()) and again at the next start()
 * after it died. A lazily spawned watchdog takes its start-up time (tens of ms, far more on a loaded
 * machine) out of the first deadline: if the deadline has passed when it reads the start command,
 * nothing is started ('stopped', reason 'deadline-passed'). Call prepare() when the sidecar starts.
 * If the watchdog dies while a workload is active, the supervisor SIGKILLs the workload's process
 * group itself (by the pgid the watchdog reported) and reports 'stopped' once nothing of it is left.
 *
 * Backstop: if the watchdog has not reported the workload stopped by
 * min(deadline, time of stop()) + stopTimeoutMs + backstopMarginMs (a frozen or hung watchdog; a
 * deadline that was already past when given counts from when it was given), the
 * supervisor SIGKILLs the watchdog and the workload's group, as above.
 *
 * Every start gets a WITNESS_RUN_ID (unique per sidecar process and start) in the workload's
 * environment. If the watchdog dies before it reported the workload's pid (it was killed between
 * spawning it and the report), the supervisor finds the workload's processes by that variable and
 * kills them (marked-processes.ts). A SIGKILL of the sidecar and its watchdog together is covered
 * by neither (see watchdog-main.ts).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { KeptRun } from '../core/sidecar/types';
import { DeadlineTimer } from './deadline-timer';
import { RUN_ID_VARIABLE, sigkillMarkedProcesses } from './marked-processes';
import { monotonicNowMs } from './monotonic-clock';
import { killUntilGone, sigkillGroupIfAlive, signalGroup } from './watchdog/process-group';
import { adoptKeptRun } from './watchdog/kept-run-link';
import {
  isWatchdog,
  type KeptRunMarker,
  readKeptRunMarker,
  removeKeptRunMarker,
  writeKeptRunMarker,
} from './watchdog/kept-run-marker';
import { SpawnedWatchdog, type WatchdogHandle, type WatchdogListener } from './watchdog/watchdog-handle';
import {
  deadlineToWire,
  keptRunToWire,
  type StoppedReport,
  type WatchdogCommand,
  type WatchdogReport,
  type WatchdogStopReason,
} from './watchdog/watchdog-protocol';

// The run-id search is part of what this module offers its callers (and its tests).
export { findProcessesByEnv, RUN_ID_VARIABLE } from './marked-processes';
export { WATCHDOG_SCRIPT } from './watchdog/watchdog-handle';

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
/** How long the watchdog may take to listen on the hand-over socket. */
const KEEP_WAIT_MS = 2000;

export class WorkloadSupervisor extends EventEmitter {
  private readonly argv: string[];
  private readonly stopTimeoutMs: number;
  private readonly logger: SupervisorLogger | undefined;
  private readonly backstopMarginMs: number;

  /** The watchdog this process spawned, which takes the next start. */
  private watchdog: SpawnedWatchdog | null = null;
  /** The watchdog that runs the active workload (null when idle, or once it died): spawned or adopted. */
  private owner: WatchdogHandle | null = null;
  private _state: WorkloadState = 'idle';
  private pid: number | null = null;
  private deadline = 0;
  /** The deadline, or the time it was given if that is later (a past deadline means: stop now). */
  private stopBeginBound = 0;
  private stopAt = Infinity;
  private readonly backstop = new DeadlineTimer(
    () => this.backstopAt(),
    () => this.killSilentWatchdog(),
    () => this._state !== 'idle' && this.owner !== null,
  );
  private killReason: 'watchdog-died' | 'backstop' = 'watchdog-died';
  private runId = '';
  private idleWaiters: (() => void)[] = [];
  private readonly goneWaiters = new Map<WatchdogHandle, () => void>();
  /** A 'keep' waits for the watchdog's 'kept' (or its refusal). */
  private keepWaiter: ((refusal?: string) => void) | undefined;
  private readonly listener: WatchdogListener = {
    report: (wd, report) => this.onReport(wd, report),
    gone: (wd, code, signal) => this.onWatchdogGone(wd, code, signal),
  };
  private closing: Promise<void> | null = null;
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
   * Takes over the run a previous sidecar process kept at `socketPath` (design §9.8), if there is
   * one for this node: the supervisor is then 'running' that workload through its watchdog, as if
   * it had started it, and the run is returned for the core to adopt. Undefined when nothing is
   * kept there. Rejects (KeptRunRefused) when the run kept there is not this node's.
   */
  async adopt(socketPath: string, who: { group: string; node: string }): Promise<KeptRun | undefined> {
    if (this.closing) throw new Error('WorkloadSupervisor: closed');
    if (this._state !== 'idle') throw new Error(`WorkloadSupervisor: adopt() while a workload is ${this._state}`);
    const marker = readKeptRunMarker(socketPath);
    const search = await adoptKeptRun(socketPath, who, this.stopTimeoutMs);
    if (search.found !== 'adopted') {
      // A watchdog that died or froze in the gap left its workload to nobody: end it before anything else.
      if (marker !== undefined) await this.killKeptRun(marker, search.found === 'unresponsive');
      removeKeptRunMarker(socketPath);
      return undefined;
    }
    const found = search.adopted;
    removeKeptRunMarker(socketPath);
    this._state = 'running';
    this.owner = found.watchdog;
    this.pid = found.workloadPid;
    this.runId = found.runId;
    this.deadline = found.deadline;
    this.stopBeginBound = Math.max(found.deadline, monotonicNowMs());
    this.stopAt = Infinity;
    this.killReason = 'watchdog-died';
    found.watchdog.attach(this.listener, found.reports);
    this.logger?.info(
      { workloadPid: found.workloadPid, watchdogPid: found.watchdog.pid, epoch: found.run.epoch.toString() },
      'workload adopted from the previous sidecar process',
    );
    this.backstop.arm();
    return found.run;
  }

  /** SIGKILL of a kept run's processes (found by its run id, so never a reused pid), and of its watchdog if it hangs. */
  private killKeptRun(marker: KeptRunMarker, watchdogHangs: boolean): Promise<void> {
    if (watchdogHangs && isWatchdog(marker.watchdogPid)) {
      try {
        process.kill(marker.watchdogPid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    return new Promise((resolve) => {
      let killed = 0;
      killUntilGone(
        () => {
          const found = sigkillMarkedProcesses(marker.runId);
          killed += found;
          return found === 0;
        },
        () => {
          if (killed > 0)
            this.logger?.warn(
              { runId: marker.runId, watchdogPid: marker.watchdogPid },
              'the watchdog of the run kept for this process is gone or hangs: killed the processes of that run',
            );
          resolve();
        },
      );
    });
  }

  /**
   * Before this process exits for a restart (design §9.8): the watchdog keeps the running workload
   * until its deadline for the next sidecar process, which finds it at `socketPath`. Resolves once
   * it listens there; from then on this process must exit without stopping the workload (the
   * closing channel no longer stops it). Rejects when the watchdog refuses, or does not answer.
   */
  keepForRestart(socketPath: string, run: KeptRun): Promise<void> {
    const owner = this.owner;
    if (this._state !== 'running' || owner === null || !owner.connected) {
      return Promise.reject(new Error(`WorkloadSupervisor: no running workload to keep (${this._state})`));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish('the watchdog did not answer'), KEEP_WAIT_MS);
      const finish = (refusal?: string): void => {
        clearTimeout(timer);
        this.keepWaiter = undefined;
        if (refusal === undefined) resolve();
        else reject(new Error(`WorkloadSupervisor: the watchdog cannot keep the workload: ${refusal}`));
      };
      this.keepWaiter = finish;
      // The next process finds the run's processes by this if the watchdog dies in the gap.
      writeKeptRunMarker(socketPath, { runId: this.runId, watchdogPid: owner.pid ?? 0 });
      this.send(owner, { type: 'keep', socketPath, run: keptRunToWire(run), runId: this.runId });
    });
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

  private send(wd: WatchdogHandle, cmd: WatchdogCommand): void {
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
