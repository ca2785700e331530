/**
 * The watchdog process (design §8.3): it sits between the sidecar and the workload, so that a
 * crashed, killed or frozen sidecar can never leave the workload running past its lease.
 *
 *   node dist/src/sidecar/watchdog/watchdog-main.js
 *
 * spawned by the sidecar (WorkloadSupervisor) with an IPC channel:
 * `stdio: ['ignore', 'inherit', 'inherit', 'ipc']`.
 *
 * The commands it takes and the reports it sends: watchdog-protocol.ts.
 *
 * Stop sequence: SIGTERM to the process group; SIGKILL to the group (and to the leader) after
 * stopTimeoutMs if anything of it is still alive; report once the leader has exited and no live
 * (non-zombie) process is left in the group.
 *
 * Enforcement:
 * - A single timer is armed for the deadline (DeadlineTimer: a later deadline only stores a
 *   number). When it fires and the deadline has passed, the watchdog stops the workload by itself.
 *   This is what covers a frozen sidecar (SIGSTOP, long GC pause, swapped out).
 * - IPC channel closed ('disconnect': the sidecar crashed, exited or was killed with -9): stop the
 *   workload at once, then exit once it is dead.
 * - Unless the sidecar said first that it exits for a restart ('keep', design §9.8): then the
 *   watchdog keeps the workload until the deadline, listening on a Unix socket (mode 0600) for the
 *   next sidecar process, whose socket becomes its channel once it adopts the run; the socket's
 *   close then counts as the pipe's did. A watchdog that keeps or adopted a run ends with it: it
 *   exits once that workload has stopped, and the next start gets a new watchdog.
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
import { DeadlineTimer } from '../deadline-timer';
import { monotonicNowMs } from '../monotonic-clock';
import { HandOverSocket, type SocketChannel } from './hand-over-socket';
import { GROUP_POLL_MS, groupAlive, signalGroup } from './process-group';
import {
  deadlineFromWire,
  deadlineToWire,
  HANDOVER_VERSION,
  isStartCommand,
  keptRunFromWire,
  keptRunToWire,
  type StartCommand,
  type StoppedReport,
  type WatchdogReport,
  type WatchdogStopReason,
} from './watchdog-protocol';

/** Where commands come from and reports go: the IPC pipe to the sidecar that spawned it, or an adopter's socket. */
type Channel = SocketChannel;

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
  /** The run kept for the next sidecar process: its socket, until one adopts it. */
  let handOver: HandOverSocket | null = null;

  const log = (msg: string): void => {
    process.stderr.write(`watchdog[${process.pid}]: ${msg}\n`);
  };
  const noop = (): void => undefined;
  const pipe: Channel = {
    send(report, then) {
      if (!process.connected || !process.send) {
        then?.();
        return;
      }
      // An error means the sidecar is gone: 'disconnect' follows and handles it.
      process.send(report, undefined, undefined, () => then?.());
    },
  };
  /** null: the sidecar exited for a restart and no next process has adopted the run yet. */
  let channel: Channel | null = pipe;
  const send = (report: WatchdogReport, then?: () => void): void => {
    if (channel === null) then?.();
    else channel.send(report, then);
  };
  const exitNow = (): void => {
    handOver?.close();
    process.exit(0);
  };

  const deadlineTimer = new DeadlineTimer(
    () => deadline,
    () => beginStop('deadline'),
    () => child !== null && !stopping,
  );

  const clearTimers = (): void => {
    deadlineTimer.cancel();
    if (killTimer) clearTimeout(killTimer);
    if (pollTimer) clearInterval(pollTimer);
    killTimer = pollTimer = null;
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
    deadlineTimer.cancel();
    if (!signalGroup(pgid, 'SIGTERM') && !leaderExited) child.kill('SIGTERM'); // it left its group
    killTimer = setTimeout(escalate, stopTimeoutMs);
    finishIfDone();
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
    const startDeadline = deadlineFromWire(cmd.deadline);
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
    deadlineTimer.arm();
  };

  const keep = (msg: Record<string, unknown>): void => {
    const run = keptRunFromWire(msg.run);
    const refuse = (why: string): void => send({ type: 'error', message: `keep refused: ${why}` });
    if (
      run === undefined ||
      typeof msg.socketPath !== 'string' ||
      msg.socketPath === '' ||
      typeof msg.runId !== 'string'
    ) {
      refuse('socketPath (a path), run (a kept run) and runId are needed');
      return;
    }
    const runId = msg.runId;
    if (!child || stopping) {
      refuse('no running workload to keep');
      return;
    }
    if (handOver) {
      refuse('a run is kept already');
      return;
    }
    const kept = new HandOverSocket(msg.socketPath, {
      offer: () => ({
        type: 'offer',
        version: HANDOVER_VERSION,
        pid: pgid,
        watchdogPid: process.pid,
        run: keptRunToWire(run),
        runId,
        deadline: deadlineToWire(deadline),
        stopTimeoutMs,
      }),
      adopted: (socketChannel, adopterStopTimeoutMs) => adopted(socketChannel, adopterStopTimeoutMs),
      closed: (socketChannel) => channelClosed(socketChannel),
      command: (socketChannel, command) => {
        if (socketChannel === channel) onCommand(command);
      },
    });
    kept.listen(
      () => {
        handOver = kept;
        exitWhenIdle = true;
        send({ type: 'kept' });
      },
      (error) => refuse(`cannot listen on ${msg.socketPath}: ${error.message}`),
    );
  };

  /** The next sidecar process took the run: its socket is the channel from now on. */
  const adopted = (socketChannel: Channel, adopterStopTimeoutMs: number): void => {
    handOver?.close();
    handOver = null;
    channel = socketChannel;
    if (child && !stopping) {
      // The deadline in force was computed for the stop time it has: a longer one would end past the lease.
      stopTimeoutMs = Math.min(stopTimeoutMs, adopterStopTimeoutMs);
      log(`workload pid ${pgid} adopted by the next sidecar process`);
      send({ type: 'running', pid: pgid });
    }
    // Stopping (the deadline passed meanwhile), or stopped: its report comes on this channel.
    else if (!child) exitNow();
  };

  /** The channel closed: the sidecar is gone, or exited for a restart after a 'keep'. */
  const channelClosed = (closed: Channel): void => {
    if (closed !== channel) return;
    if (handOver) {
      channel = null;
      log(`sidecar exited for a restart: keeping workload pid ${pgid} until its deadline for the next one`);
      if (!child) exitNow();
      return;
    }
    shutdown('disconnect');
  };

  const onCommand = (msg: Record<string, unknown>): void => {
    switch (msg.type) {
      case 'deadline': {
        const d = deadlineFromWire(msg.deadline);
        if (Number.isNaN(d)) {
          send({ type: 'error', message: 'deadline: a finite number or null is needed' });
          return;
        }
        deadline = d;
        if (child && !stopping) deadlineTimer.moved();
        return;
      }
      case 'stop':
        beginStop('requested');
        return;
      case 'keep':
        keep(msg);
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
  };
  process.on('message', (m: unknown) => {
    if (channel === pipe && typeof m === 'object' && m !== null) onCommand(m as Record<string, unknown>);
  });

  const shutdown = (why: WatchdogStopReason): void => {
    exitWhenIdle = true;
    if (!child) {
      exitNow();
      return;
    }
    if (why === 'disconnect') log(`sidecar gone (its channel closed): stopping workload pid ${pgid}`);
    else log(`got a signal: stopping workload pid ${pgid}`);
    beginStop(why);
  };
  process.on('disconnect', () => channelClosed(pipe));
  process.on('SIGTERM', () => shutdown('signal'));
  process.on('SIGINT', () => shutdown('signal'));
  process.on('SIGHUP', () => shutdown('signal'));
  // SIGUSR2 asks the sidecar for a restart that keeps the workload; one that reaches the watchdog
  // too (a signal to the whole control group) must not kill it: its default action would.
  process.on('SIGUSR2', noop);
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
