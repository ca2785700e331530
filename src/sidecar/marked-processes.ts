/**
 * Every workload start puts a run id in the workload's environment, so that its processes can be
 * found without their pid: the watchdog may die between spawning the workload and reporting it.
 * Limits: without /proc (not Linux), or for processes that replaced their environment, the search
 * finds nothing.
 */
import fs from 'node:fs';
import { signalGroup } from './watchdog/process-group';

/** The variable that marks a workload's processes, for finding them without their pid. */
export const RUN_ID_VARIABLE = 'WITNESS_RUN_ID';

/**
 * PIDs of live processes whose environment holds `name=value` (Linux /proc; processes of other
 * users are not readable and not found). Zombies have an empty environ and are not found.
 */
export function findProcessesByEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const found: number[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of names) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = fs.readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue;
    }
    const at = environ.indexOf(needle);
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) found.push(Number(entry));
  }
  return found;
}

/** SIGKILLs every process marked with run id `runId`, and the group each leads. Returns how many were found. */
export function sigkillMarkedProcesses(runId: string): number {
  const marked = findProcessesByEnv(RUN_ID_VARIABLE, runId);
  for (const p of marked) {
    signalGroup(p, 'SIGKILL'); // it leads its group (spawned detached), children too
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return marked.length;
}
