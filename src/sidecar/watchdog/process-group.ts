/**
 * A workload runs as its own process group (spawned detached, its pid is the group id): these
 * signal the whole group and tell when nothing of it is left, for the watchdog and, when the
 * watchdog is gone, for the supervisor.
 */
import fs from 'node:fs';

/** How often a group is looked at again while some member of it outlives the signals. */
export const GROUP_POLL_MS = 20;

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

/** One round of killing group `pgid`: SIGKILL if anything of it lives. True once nothing does. */
export function sigkillGroupIfAlive(pgid: number): boolean {
  if (!groupAlive(pgid)) return true;
  signalGroup(pgid, 'SIGKILL');
  return false;
}

/**
 * Runs `killRound` now and every GROUP_POLL_MS until it answers that nothing is left, then calls
 * `onGone`: SIGKILL is not instant, and a member may fork while the group is being killed.
 */
export function killUntilGone(killRound: () => boolean, onGone: () => void): void {
  if (killRound()) {
    onGone();
    return;
  }
  const poll = setInterval(() => {
    if (!killRound()) return;
    clearInterval(poll);
    onGone();
  }, GROUP_POLL_MS);
}
