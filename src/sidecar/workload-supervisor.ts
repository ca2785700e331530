/**
 * The sidecar's side of workload supervision: drives the watchdog process
 * (./watchdog/watchdog-main.ts, design §8.3), which owns the workload. The supervision of a run is
 * RunSupervisor (run-supervisor.ts); this class adds the run kept across a restart of the sidecar
 * process (design §9.8).
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
import type { KeptRun } from '../core/sidecar/types';
import { sigkillMarkedProcesses } from './marked-processes';
import { monotonicNowMs } from './monotonic-clock';
import { RunSupervisor } from './run-supervisor';
import { killUntilGone } from './watchdog/process-group';
import { adoptKeptRun } from './watchdog/kept-run-link';
import {
  isWatchdog,
  type KeptRunMarker,
  readKeptRunMarker,
  removeKeptRunMarker,
  writeKeptRunMarker,
} from './watchdog/kept-run-marker';
import { keptRunToWire } from './watchdog/watchdog-protocol';

// The run-id search is part of what this module offers its callers (and its tests).
export { findProcessesByEnv, RUN_ID_VARIABLE } from './marked-processes';
export { WATCHDOG_SCRIPT } from './watchdog/watchdog-handle';
export type {
  SupervisorLogger,
  WorkloadState,
  WorkloadStopped,
  WorkloadStopReason,
  WorkloadSupervisorOptions,
} from './run-supervisor';

/** How long the watchdog may take to listen on the hand-over socket. */
const KEEP_WAIT_MS = 2000;

export class WorkloadSupervisor extends RunSupervisor {
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
}
