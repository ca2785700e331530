/**
 * The messages between the sidecar (WorkloadSupervisor) and its watchdog process, over the IPC
 * channel Node sets up (JSON, one object a message). Both sides import this module, so a field or
 * a deadline's encoding cannot change on one side only.
 *
 * Commands (sidecar -> watchdog, one workload at a time):
 *   {type:'start', argv, env, stopTimeoutMs, deadline}  spawn argv as its own process group
 *                                                        (detached), stdio inherited, env =
 *                                                        process.env + env
 *   {type:'deadline', deadline}                          the moment (monotonic ms, see
 *                                                        monotonic-clock.ts) the stop must BEGIN if
 *                                                        no other deadline arrives; the most recent
 *                                                        one counts, also when it is earlier
 *   {type:'stop'}                                        stop now
 *   A deadline of null means none (simple mode: no lease); only the other rules apply then.
 *
 * Reports (watchdog -> sidecar), see WatchdogReport:
 *   {type:'ready'}                                       sent once at boot, when it takes commands
 *   {type:'running', pid}                                the workload was spawned (pid = its pgid)
 *   {type:'stopped', byItself, code, signal, ...}        the workload and every process left in its
 *                                                        process group are dead
 *   {type:'error', message}                              a command was refused
 */

export interface StartCommand {
  type: 'start';
  argv: string[];
  env: Record<string, string>;
  stopTimeoutMs: number;
  /** Monotonic ms; null: no deadline. */
  deadline: number | null;
}

export type WatchdogCommand = StartCommand | { type: 'deadline'; deadline: number | null } | { type: 'stop' };

/**
 * Why a workload stopped:
 * - requested: a stop command; deadline: the deadline passed without a later one (the watchdog
 *   stopped it); deadline-passed: the start command's deadline had already passed, nothing was
 *   started; exited: the workload exited without being asked; spawn-failed: it could not be
 *   started; disconnect: the sidecar's IPC channel closed; signal: the watchdog got a signal.
 */
export type WatchdogStopReason =
  'requested' | 'deadline' | 'deadline-passed' | 'exited' | 'spawn-failed' | 'disconnect' | 'signal';

export interface StoppedReport {
  type: 'stopped';
  /** The workload exited without being asked (also when it could not be spawned). */
  byItself: boolean;
  /** Exit code / signal of the workload's main process (null/null when it never ran). */
  code: number | null;
  signal: NodeJS.Signals | null;
  reason: WatchdogStopReason;
  /** The workload's pid (= its process group id), null when it never ran. */
  pid: number | null;
  /** SIGKILL had to be sent because something was still alive stopTimeoutMs after SIGTERM. */
  escalated: boolean;
  /** How long the stop sequence took (ms), 0 when none was needed. */
  stopMs: number;
  /** Why the spawn failed (spawn-failed only). */
  error?: string;
}

export type WatchdogReport =
  { type: 'ready' } | { type: 'running'; pid: number } | StoppedReport | { type: 'error'; message: string };

/**
 * A deadline as the sidecar holds it -> as sent. JSON has no Infinity: none (Infinity) is null,
 * and -Infinity becomes 0, the machine's boot, which is just as past.
 */
export function deadlineToWire(deadline: number): number | null {
  if (deadline === Infinity) return null;
  return deadline === -Infinity ? 0 : deadline;
}

/** A deadline as sent (finite monotonic ms, or null for none) -> as used (Infinity for none); NaN if invalid. */
export function deadlineFromWire(value: unknown): number {
  if (value === null) return Infinity;
  return typeof value === 'number' && Number.isFinite(value) ? value : NaN;
}

/** Whether a received 'start' message has every field, each valid. */
export function isStartCommand(m: Record<string, unknown>): m is Record<string, unknown> & StartCommand {
  return (
    Array.isArray(m.argv) &&
    m.argv.length > 0 &&
    m.argv.every((a) => typeof a === 'string') &&
    typeof m.env === 'object' &&
    m.env !== null &&
    typeof m.stopTimeoutMs === 'number' &&
    Number.isFinite(m.stopTimeoutMs) &&
    m.stopTimeoutMs >= 0 &&
    !Number.isNaN(deadlineFromWire(m.deadline))
  );
}
