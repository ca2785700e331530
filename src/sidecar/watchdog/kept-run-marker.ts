/**
 * A note beside the hand-over socket (design §9.8), written before a run is kept: its run id
 * (WITNESS_RUN_ID in the environment of each of its processes) and its watchdog's pid. If that
 * watchdog dies or hangs before the next process adopts the run, nobody enforces its deadline; the
 * next process then kills what carries the run id (a reused pid never does) before it starts afresh.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface KeptRunMarker {
  readonly runId: string;
  readonly watchdogPid: number;
}

const FILE = 'kept-run.json';

const markerPath = (socketPath: string): string => path.join(path.dirname(socketPath), FILE);

export function writeKeptRunMarker(socketPath: string, marker: KeptRunMarker): void {
  fs.writeFileSync(markerPath(socketPath), `${JSON.stringify(marker)}\n`, { mode: 0o600 });
}

/** The marker left by the previous process, if any and well-formed. */
export function readKeptRunMarker(socketPath: string): KeptRunMarker | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(markerPath(socketPath), 'utf8')) as Record<string, unknown>;
    if (typeof m.runId === 'string' && m.runId !== '' && typeof m.watchdogPid === 'number') {
      return { runId: m.runId, watchdogPid: m.watchdogPid };
    }
  } catch {
    // none, or unreadable: nothing to go by
  }
  return undefined;
}

export function removeKeptRunMarker(socketPath: string): void {
  fs.rmSync(markerPath(socketPath), { force: true });
}

/** Whether `pid` is still a watchdog process (not a pid reused by something else). */
export function isWatchdog(pid: number): boolean {
  if (!(pid > 1)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('watchdog-main');
  } catch {
    return false;
  }
}
