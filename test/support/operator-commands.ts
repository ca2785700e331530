/** The `witness` operator commands run as an operator runs them: a process against the cluster's witness. */
import type { Cluster } from './cluster';
import { spawnNode, type TrackedProcess } from './processes';
import { cleanEnv, WITNESS_MAIN } from './witness-process';

/** How long one operator command may take. */
export const STEP_MS = 10_000;

/** The pair the operator tests run: leases long enough that a hand-over is told from a failover. */
export const LEASE_MS = 3000;
export const TIMEOUT_MS = 2000;
export const HEARTBEAT_MS = 100;
/** The cluster's default --failback-delay (--failback auto). */
export const FAILBACK_DELAY_MS = 2000;

/** A group as `witness status --json` prints it (the fields the tests read). */
export interface StatusLine {
  holder: string;
  switchoverEpoch: string;
  failback: string;
  removed: string[];
  nodes: { node: string; maintenance: boolean; removed: boolean }[];
}

/** Runs `witness ARGS --witness <the cluster's witness>` to completion. */
export async function operator(c: Cluster, args: readonly string[]): Promise<TrackedProcess> {
  const p = spawnNode(WITNESS_MAIN, [...args, '--witness', `127.0.0.1:${c.ports.witness}`], { env: cleanEnv() });
  await p.runToCompletion(STEP_MS);
  return p;
}

/** The group as `witness status --json --group G` prints it; undefined when nothing is printed. */
export async function statusOf(c: Cluster, group: string): Promise<StatusLine | undefined> {
  const p = await operator(c, ['status', '--json', '--group', group]);
  const [line] = p.stdoutLines.map((l) => JSON.parse(l) as StatusLine);
  return line;
}
