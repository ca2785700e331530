/** The two waits every scenario starts with: a cold start, then the steady state of "all up". */
import { Cluster, LEASE_MS } from './cluster';

/** The failover bound the issue sets for scenarios 6 and 9 (kill -9 of the active sidecar). */
export const FAILOVER_LIMIT_MS = 1.5 * LEASE_MS;

/** Bound on a cold start: witness grace (~1.06 s) and the sidecar's quiet peer lease, then a start. */
export const COLD_START_MS = 5000;

/** Starts a cluster and waits until a's workload runs (its start line is in the run log). */
export async function coldStart(options: Parameters<typeof Cluster.start>[0] = {}): Promise<Cluster> {
  const c = await Cluster.start(options);
  await c.waitFor('a runs the workload after a cold start', () => c.intervalsOf('a').length > 0, COLD_START_MS);
  return c;
}

/**
 * Waits for the steady state of "all up": a runs holding both a witness lease and a peer lease, and
 * b hears both a and the witness. Faults are injected from there.
 */
export async function steady(c: Cluster): Promise<void> {
  await c.waitFor(
    'steady state: a active on both leases, b hears a and the witness',
    async () => {
      const v = await c.active();
      return (
        v.a?.active === true &&
        v.a.workload === 'WORKLOAD_PHASE_RUNNING' &&
        v.a.witnessLeaseRemainingMs > 0 &&
        v.a.peerLeaseRemainingMs > 0 &&
        v.b?.peerReachable === true &&
        v.b.witnessReachable
      );
    },
    3000,
  );
}
