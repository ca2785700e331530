/**
 * The configuration a real operator ends up with: the smallest lease that `settingsProblems()`
 * (the sidecar's start-up check, design §8.2) accepts, the other values as drawn. The swarm's own
 * lease draw sits around the three-heartbeat minimum the check is meant to enforce, computed here
 * independently of it; a check that accepted less would never be met by that draw. Asking the
 * check itself, as an operator lowering `--lease` until the sidecar starts does, puts the leases
 * at whatever boundary the check really has, so a check without slack leaves a workload that a
 * renewal answered a little late stops (L2, `stop-while-quiet`).
 */
import { settingsProblems } from '../core/sidecar/timing';
import type { SidecarSettings } from '../core/sidecar/types';

/** Which leases the operator lowers to the smallest the check accepts. */
export type LoweredLeases = 'both' | 'lease' | 'peer-lease';

/**
 * `s` with the chosen leases lowered to the smallest whole ms the check accepts (found by
 * bisection: a longer lease never adds a problem); `s` unchanged if the check rejects it as drawn.
 */
export function smallestAcceptedLeases(s: SidecarSettings, which: LoweredLeases): SidecarSettings {
  const withLease = (ms: number): SidecarSettings => ({
    ...s,
    leaseMs: which === 'peer-lease' ? s.leaseMs : ms,
    peerLeaseMs: which === 'lease' ? s.peerLeaseMs : ms,
  });
  let hi = Math.max(s.leaseMs, s.peerLeaseMs);
  if (settingsProblems(withLease(hi)).length > 0) return s;
  let lo = 0; // rejected, or the lowest lease tried
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (settingsProblems(withLease(mid)).length === 0) hi = mid;
    else lo = mid;
  }
  return withLease(hi);
}
