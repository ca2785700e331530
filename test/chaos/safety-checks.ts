/**
 * S2 (fencing epochs strictly increase) over a chaos run's logs. S1 (no two run intervals overlap)
 * is findOverlaps of test/support/run-intervals.ts.
 */
import type { Cluster } from '../support/cluster';
import type { RunInterval } from '../support/run-intervals';

/** S2 over the run log: each activation's epoch is above every earlier activation's. */
export function checkEpochs(intervals: readonly RunInterval[]): string[] {
  const sorted = [...intervals].sort((x, y) => x.start - y.start || x.pid - y.pid);
  const problems: string[] = [];
  let highest: { epoch: bigint; iv: RunInterval } | null = null;
  const t0 = sorted[0]?.start ?? 0;
  const label = (iv: RunInterval): string =>
    `node=${iv.node ?? '?'} pid=${iv.pid} epoch=${iv.epoch ?? 'null'} start=+${(iv.start - t0).toFixed(1)} ms`;
  for (const iv of sorted) {
    if (iv.epoch === null || !/^\d+$/.test(iv.epoch)) {
      problems.push(`activation without a decimal epoch: ${label(iv)}`);
      continue;
    }
    const epoch = BigInt(iv.epoch);
    if (epoch >= 1n << 63n) problems.push(`epoch beyond 63 bits: ${label(iv)}`);
    if (highest !== null && epoch <= highest.epoch) {
      problems.push(`epoch not above every earlier activation's: ${label(iv)} after ${label(highest.iv)}`);
    }
    if (highest === null || epoch > highest.epoch) highest = { epoch, iv };
  }
  return problems;
}

/** S2 at the witness: every grant it logged (all its processes, in order) is above every earlier one. */
export function checkGrants(c: Cluster): { grants: number; problems: string[] } {
  const grants = c.logs('witness').filter((l) => l.event === 'granted' && typeof l.epoch === 'string');
  const problems: string[] = [];
  let highest: bigint | null = null;
  for (const g of grants) {
    const epoch = BigInt(g.epoch!);
    if (highest !== null && epoch <= highest) {
      problems.push(
        `the witness granted epoch ${g.epoch} to ${String(g.node)} at ${new Date(Number(g.time)).toISOString()} after granting ${highest}`,
      );
    }
    if (highest === null || epoch > highest) highest = epoch;
  }
  return { grants: grants.length, problems };
}
