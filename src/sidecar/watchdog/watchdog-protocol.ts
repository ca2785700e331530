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
 *   {type:'keep', socketPath, run, runId}                the sidecar exits for a restart (design
 *                                                        §9.8): keep the workload until the deadline
 *                                                        for the next sidecar process, which finds
 *                                                        it on a Unix socket at socketPath
 *   A deadline of null means none (simple mode: no lease); only the other rules apply then.
 *
 * Reports (watchdog -> sidecar), see WatchdogReport:
 *   {type:'ready'}                                       sent once at boot, when it takes commands
 *   {type:'running', pid}                                the workload was spawned (pid = its pgid)
 *   {type:'stopped', byItself, code, signal, ...}        the workload and every process left in its
 *                                                        process group are dead
 *   {type:'error', message}                              a command was refused
 *   {type:'kept'}                                        the socket listens: the sidecar may exit
 *
 * On the hand-over socket, the watchdog speaks first to the one process it lets in:
 *   {type:'offer', version, pid, watchdogPid, run, runId, deadline, stopTimeoutMs}   (-> next sidecar)
 *   {type:'adopt', stopTimeoutMs}                              (next sidecar -> watchdog)
 * after which the socket is the watchdog's channel, one JSON object a line, as the IPC channel was:
 * the same commands and reports, a 'running' report first if the workload still runs (else its
 * 'stopped' report), and the socket's close stops the workload at once, as the pipe's did. A
 * process that closes the socket before 'adopt' leaves the run kept for another.
 */
import type { KeptRun } from '../../core/sidecar/types';

/** The hand-over socket's protocol version; a sidecar adopts only from a watchdog that speaks it. */
export const HANDOVER_VERSION = 1;

export interface StartCommand {
  type: 'start';
  argv: string[];
  env: Record<string, string>;
  stopTimeoutMs: number;
  /** Monotonic ms; null: no deadline. */
  deadline: number | null;
}

/** A kept run as it crosses the pipe and the socket: JSON has no bigint, and no -Infinity. */
export interface WireKeptRun {
  group: string;
  node: string;
  epoch: string;
  knownEpoch: string;
  witnessLeaseUntil: number;
  peerLeaseUntil: number;
}

export interface KeepCommand {
  type: 'keep';
  socketPath: string;
  run: WireKeptRun;
  /** WITNESS_RUN_ID of the run's processes, which the next process adopts with it. */
  runId: string;
}

export type WatchdogCommand =
  StartCommand | { type: 'deadline'; deadline: number | null } | { type: 'stop' } | KeepCommand;

export interface HandOverOffer {
  type: 'offer';
  version: number;
  /** The workload's pid (= its pgid). */
  pid: number;
  watchdogPid: number;
  run: WireKeptRun;
  runId: string;
  /** The deadline the watchdog enforces (monotonic ms; null: none). */
  deadline: number | null;
  /** Its SIGTERM-to-SIGKILL time, which an adopter may shorten, never lengthen. */
  stopTimeoutMs: number;
}

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
  | { type: 'ready' }
  | { type: 'running'; pid: number }
  | StoppedReport
  | { type: 'error'; message: string }
  | { type: 'kept' };

/** A lease end as sent: -Infinity (none) becomes 0, the machine's boot, which is just as past. */
function leaseEndToWire(until: number): number {
  return Number.isFinite(until) ? until : 0;
}

export function keptRunToWire(run: KeptRun): WireKeptRun {
  return {
    group: run.group,
    node: run.node,
    epoch: run.epoch.toString(),
    knownEpoch: run.knownEpoch.toString(),
    witnessLeaseUntil: leaseEndToWire(run.witnessLeaseUntil),
    peerLeaseUntil: leaseEndToWire(run.peerLeaseUntil),
  };
}

const DECIMAL = /^[1-9][0-9]{0,19}$/;

/** A received kept run, every field checked; undefined when one is missing or malformed. */
export function keptRunFromWire(value: unknown): KeptRun | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (typeof v.group !== 'string' || typeof v.node !== 'string') return undefined;
  if (typeof v.epoch !== 'string' || !DECIMAL.test(v.epoch)) return undefined;
  if (typeof v.knownEpoch !== 'string' || !DECIMAL.test(v.knownEpoch)) return undefined;
  if (!finite(v.witnessLeaseUntil) || !finite(v.peerLeaseUntil)) return undefined;
  return {
    group: v.group,
    node: v.node,
    epoch: BigInt(v.epoch),
    knownEpoch: BigInt(v.knownEpoch),
    witnessLeaseUntil: v.witnessLeaseUntil,
    peerLeaseUntil: v.peerLeaseUntil,
  };
}

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
