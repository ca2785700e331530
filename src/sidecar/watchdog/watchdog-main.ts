/**
 * The watchdog process (design §8.3): it sits between the sidecar and the workload, so that a
 * crashed, killed or frozen sidecar can never leave the workload running past its lease.
 *
 *   node dist/src/sidecar/watchdog/watchdog-main.js
 *
 * spawned by the sidecar (WorkloadSupervisor) with an IPC channel:
 * `stdio: ['ignore', 'inherit', 'inherit', 'ipc']`.
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
 *
 * Stop sequence: SIGTERM to the process group; SIGKILL to the group (and to the leader) after
 * stopTimeoutMs if anything of it is still alive; report once the leader has exited and no live
 * (non-zombie) process is left in the group.
 *
 * Enforcement:
 * - A single timer is armed for the deadline. A later deadline only stores a number (no timer
 *   work, no allocation): when the timer fires early it re-arms itself for the rest. An earlier
 *   deadline re-arms it at once. When it fires and the deadline has passed, the watchdog stops the
 *   workload by itself. This is what covers a frozen sidecar (SIGSTOP, long GC pause, swapped out).
 * - IPC channel closed ('disconnect': the sidecar crashed, exited or was killed with -9): stop the
 *   workload at once, then exit once it is dead.
 * - SIGTERM, SIGINT or SIGHUP to the watchdog: stop the workload, report, then exit.
 * - An unexpected exception: SIGKILL the workload's group, then exit.
 * The watchdog never exits while the workload lives, with one exception it cannot prevent: a
 * SIGKILL of the watchdog itself. The sidecar's WorkloadSupervisor covers that case (it SIGKILLs
 * the group when its watchdog dies), and a SIGKILL of both at once (e.g. `kill -9` of the whole
 * process group of the sidecar, an OOM kill of a cgroup) is covered by neither: run the sidecar
 * under a service manager that kills the whole cgroup (systemd KillMode=control-group) for that.
 *
 * Other limits: a process of the workload that leaves its process group (setsid, double fork to
 * daemonize) escapes the group signals. A frozen *machine* (paused VM) freezes the watchdog too
 * (design §14, a known limit: only the fencing epoch covers it). A frozen watchdog (SIGSTOP of the
 * watchdog alone) is covered by the supervisor's backstop, as long as the sidecar runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { monotonicNowMs } from '../monotonic-clock';

export interface StartCommand {
  type: 'start';
  argv: string[];
  env: Record<string, string>;
  stopTimeoutMs: number;
  /** Monotonic ms; null: no deadline. */
  deadline: number | null;
}

export type WatchdogCommand = StartCommand | { type: 'deadline'; deadline: number | null } | { type: 'stop' };

/** A deadline as sent (finite monotonic ms, or null for none) -> as used (Infinity for none); NaN if invalid. */
function readDeadline(value: unknown): number {
  if (value === null) return Infinity;
  return typeof value === 'number' && Number.isFinite(value) ? value : NaN;
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
  { type: 'ready' } | { type: 'running'; pid: number } | StoppedReport | { type: 'error'; message: string };

/** Sends `signal` to process group `pgid`. Returns false when no such group exists (any more). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether process group `pgid` still has a live member. A zombie (dead, not yet reaped: orphans in
 * a container whose PID 1 does not reap stay zombies forever) does not count. Linux reads /proc;
 * where /proc cannot be read, any member counts as alive (the safe answer).
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, but not ours to signal
  }
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

function isStartCommand(m: Record<string, unknown>): m is Record<string, unknown> & StartCommand {
  return (
    Array.isArray(m.argv) &&
    m.argv.length > 0 &&
    m.argv.every((a) => typeof a === 'string') &&
    typeof m.env === 'object' &&
    m.env !== null &&
    typeof m.stopTimeoutMs === 'number' &&
    Number.isFinite(m.stopTimeoutMs) &&
    m.stopTimeoutMs >= 0 &&
    !Number.isNaN(readDeadline(m.deadline))
  );
}

/** setTimeout's upper bound; a longer wait is re-armed when the timer fires. */
const MAX_TIMER_MS = 0x7fffffff;
/** How often the group is checked after the main process exited while other members live. */
const GROUP_POLL_MS = 20;

function main(): void {
  if (!process.send || !process.connected) {
    process.stderr.write('watchdog: must be spawned by the sidecar with an IPC channel\n');
    process.exit(2);
  }

  // All state lives in these variables: a deadline message only writes a number.
  let child: ChildProcess | null = null;
  let pgid = 0;
  let stopTimeoutMs = 0;
  let deadline = 0;
  let deadlineTimer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let checkPending = false;
  let stopping = false;
  let stopStartedAt = 0;
  let reason: WatchdogStopReason = 'requested';
  let byItself = false;
  let escalated = false;
  let leaderExited = false;
  let exitCode: number | null = null;
  let exitSignal: NodeJS.Signals | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let exitWhenIdle = false;

  const log = (msg: string): void => {
    process.stderr.write(`watchdog[${process.pid}]: ${msg}\n`);
  };
  const noop = (): void => undefined;
  const send = (report: WatchdogReport, then?: () => void): void => {
    if (!process.connected || !process.send) {
      then?.();
      return;
    }
    // An error means the sidecar is gone: 'disconnect' follows and handles it.
    process.send(report, undefined, undefined, () => then?.());
  };
  const exitNow = (): void => {
    process.exit(0);
  };

  const clearTimers = (): void => {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    if (killTimer) clearTimeout(killTimer);
    if (pollTimer) clearInterval(pollTimer);
    deadlineTimer = killTimer = pollTimer = null;
    timerAt = Infinity;
  };

  const finishIfDone = (): void => {
    if (!child || !leaderExited) return;
    if (groupAlive(pgid)) {
      // Others of the group outlived the main process: stop them too (beginStop arms the SIGKILL
      // timer and comes back here), and look again until none is left.
      if (!stopping) beginStop('exited');
      else if (!pollTimer) pollTimer = setInterval(finishIfDone, GROUP_POLL_MS);
      return;
    }
    clearTimers();
    const report: StoppedReport = {
      type: 'stopped',
      byItself,
      code: exitCode,
      signal: exitSignal,
      reason,
      pid: pgid,
      escalated,
      stopMs: stopping ? Math.round(monotonicNowMs() - stopStartedAt) : 0,
    };
    child = null;
    stopping = false;
    if (exitWhenIdle) {
      log(`workload pid ${pgid} stopped (${reason}); exiting`);
      send(report, exitNow);
      setTimeout(exitNow, 1000).unref(); // in case the send callback never comes
    } else {
      send(report);
    }
  };

  const escalate = (): void => {
    killTimer = null;
    if (!child) return;
    escalated = true;
    signalGroup(pgid, 'SIGKILL');
    if (!leaderExited) child.kill('SIGKILL'); // in case it left its group
  };

  function beginStop(why: WatchdogStopReason): void {
    if (!child || stopping) return;
    stopping = true;
    stopStartedAt = monotonicNowMs();
    reason = why;
    if (deadlineTimer) clearTimeout(deadlineTimer);
    deadlineTimer = null;
    timerAt = Infinity;
    if (!signalGroup(pgid, 'SIGTERM') && !leaderExited) child.kill('SIGTERM'); // it left its group
    killTimer = setTimeout(escalate, stopTimeoutMs);
    finishIfDone();
  }

  const checkDeadline = (): void => {
    checkPending = false;
    if (!child || stopping) return;
    const left = deadline - monotonicNowMs();
    if (left > 1) arm();
    else beginStop('deadline'); // at most 1 ms early: stopping early is the safe side
  };
  const onDeadlineTimer = (): void => {
    deadlineTimer = null;
    timerAt = Infinity;
    // Let messages already received (a later deadline) be handled first: they are emitted before
    // the check phase of this loop iteration.
    if (!checkPending) {
      checkPending = true;
      setImmediate(checkDeadline);
    }
  };
  function arm(): void {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    deadlineTimer = null;
    timerAt = deadline;
    if (deadline === Infinity) return; // no deadline
    deadlineTimer = setTimeout(
      onDeadlineTimer,
      Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(deadline - monotonicNowMs()))),
    );
  }

  const onLeaderExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    leaderExited = true;
    exitCode = code;
    exitSignal = signal;
    if (!stopping) {
      byItself = true;
      reason = 'exited';
    }
    finishIfDone();
  };

  const start = (cmd: StartCommand): void => {
    if (child) {
      send({
        type: 'error',
        message: `start refused: workload pid ${pgid} is still ${stopping ? 'stopping' : 'running'}`,
      });
      return;
    }
    const notStarted = (why: WatchdogStopReason, error?: string): void => {
      send({
        type: 'stopped',
        byItself: why === 'spawn-failed',
        code: null,
        signal: null,
        reason: why,
        pid: null,
        escalated: false,
        stopMs: 0,
        error,
      });
    };
    const startDeadline = readDeadline(cmd.deadline);
    if (startDeadline - monotonicNowMs() <= 0) {
      notStarted('deadline-passed');
      return;
    }
    let c: ChildProcess;
    try {
      c = spawn(cmd.argv[0]!, cmd.argv.slice(1), {
        detached: true,
        stdio: 'inherit',
        env: { ...process.env, ...cmd.env },
      });
    } catch (err) {
      notStarted('spawn-failed', (err as Error).message);
      return;
    }
    if (c.pid === undefined) {
      c.once('error', (err) => notStarted('spawn-failed', err.message));
      return;
    }
    child = c;
    pgid = c.pid;
    stopTimeoutMs = cmd.stopTimeoutMs;
    deadline = startDeadline;
    stopping = byItself = escalated = leaderExited = false;
    reason = 'requested';
    exitCode = null;
    exitSignal = null;
    c.on('error', noop); // kill() of a process that is gone
    c.once('exit', onLeaderExit);
    send({ type: 'running', pid: pgid });
    arm();
  };

  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null) return;
    const msg = m as Record<string, unknown>;
    switch (msg.type) {
      case 'deadline': {
        const d = readDeadline(msg.deadline);
        if (Number.isNaN(d)) {
          send({ type: 'error', message: 'deadline: a finite number or null is needed' });
          return;
        }
        deadline = d;
        if (child && !stopping && deadline < timerAt - 1) arm(); // earlier: re-arm now; later: when it fires
        return;
      }
      case 'stop':
        beginStop('requested');
        return;
      case 'start':
        if (exitWhenIdle) return;
        if (!isStartCommand(msg)) {
          send({
            type: 'error',
            message: 'start: argv (non-empty string[]), env, stopTimeoutMs and deadline are needed',
          });
          return;
        }
        start(msg);
        return;
      default:
        send({ type: 'error', message: `unknown command ${String(msg.type)}` });
    }
  });

  const shutdown = (why: WatchdogStopReason): void => {
    exitWhenIdle = true;
    if (!child) {
      exitNow();
      return;
    }
    if (why === 'disconnect') log(`sidecar gone (IPC channel closed): stopping workload pid ${pgid}`);
    else log(`got a signal: stopping workload pid ${pgid}`);
    beginStop(why);
  };
  process.on('disconnect', () => shutdown('disconnect'));
  process.on('SIGTERM', () => shutdown('signal'));
  process.on('SIGINT', () => shutdown('signal'));
  process.on('SIGHUP', () => shutdown('signal'));
  process.on('uncaughtException', (err) => {
    log(`unexpected error, killing the workload: ${err.stack ?? err.message}`);
    if (child) {
      signalGroup(pgid, 'SIGKILL');
      if (!leaderExited) child.kill('SIGKILL');
    }
    process.exit(70);
  });
  send({ type: 'ready' });
}

if (require.main === module) main();
