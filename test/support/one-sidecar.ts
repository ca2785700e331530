/**
 * One real `witness sidecar` process, for tests that need a sidecar without the full Cluster: its
 * workload is the test workload with a run log inside `dir`, so every process of the run can be
 * found by that path. `stopEverything` kills by PID, also when the test failed: the tracked
 * processes, the watchdogs the sidecars logged, and anything whose command line names `dir`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, listenPort, pidsWithCmdline } from './cluster';
import { killAllTracked, spawnNode, type TrackedProcess } from './processes';
import { cleanEnv, waitUntil, WITNESS_MAIN } from './witness-process';
import { WORKLOAD_SCRIPT } from './workload';

export interface SidecarRun {
  readonly proc: TrackedProcess;
  readonly address: string;
}

/** A free loopback address (nothing listens there): a peer or witness that is down. */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await listenPort()}`;
}

/**
 * `witness sidecar --group g1 ARGS -- <test workload>`; `listen` defaults to a free port. Does not
 * wait for it to listen (a test may expect it to fail).
 */
export async function spawnSidecar(dir: string, args: readonly string[], listen?: string): Promise<SidecarRun> {
  const address = listen ?? (await deadAddress());
  const workload = [process.execPath, WORKLOAD_SCRIPT, '--log', path.join(dir, 'runs.jsonl'), '--max-runtime', '60000'];
  const proc = spawnNode(WITNESS_MAIN, ['sidecar', '--group', 'g1', '--listen', address, ...args, '--', ...workload], {
    name: 'sidecar',
    env: cleanEnv(),
  });
  return { proc, address };
}

/** The watchdog PIDs a sidecar logged. */
export function watchdogPids(proc: TrackedProcess): number[] {
  return proc.stdoutLines
    .filter((line) => line.includes('"watchdog started"'))
    .map((line) => Number((JSON.parse(line) as { watchdogPid: number }).watchdogPid));
}

/** Alive and still a watchdog: a PID that was reused by another process is not ours to kill. */
export function watchdogAlive(pid: number): boolean {
  try {
    return isAlive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('watchdog');
  } catch {
    return false;
  }
}

export async function stopEverything(dir: string, sidecars: readonly TrackedProcess[]): Promise<void> {
  const watchdogs = sidecars.flatMap(watchdogPids);
  await killAllTracked();
  const leftovers = (): number[] => [...watchdogs.filter(watchdogAlive), ...pidsWithCmdline(dir)];
  for (const pid of leftovers()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await waitUntil('every process of the test gone', async () => leftovers().length === 0, 5000);
  fs.rmSync(dir, { recursive: true, force: true });
}
