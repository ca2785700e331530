/**
 * Lease arithmetic (design §4.1, §4.3, §6.5). Every time here is a duration on one machine's
 * monotonic clock, in milliseconds; no two machines ever compare timestamps.
 *
 * `rho` bounds how far a clock's rate may be off (0.01 = 1%); `margin` (eps) absorbs the rest:
 * scheduling, the time between reading the clock and acting. The two sides of every lease round in
 * opposite directions, so the side that may act (run a workload) always loses the lease first in
 * real time, and the side that may hand the right to act to someone else always loses it last.
 */
export interface DriftBounds {
  /** Assumed bound on clock-rate error, as a fraction (0.01 = 1%). */
  readonly rho: number;
  /** Safety margin in milliseconds added on the conservative side. */
  readonly marginMs: number;
}

/** The holder's view: valid until `sentAt + lease*(1-rho)`, counted from when it SENT the request. */
export function holderLeaseEnd(sentAt: number, leaseMs: number, bounds: DriftBounds): number {
  return sentAt + leaseMs * (1 - bounds.rho);
}

/**
 * The grantor's view: held until `receivedAt + lease*(1+rho) + eps`, counted from when it RECEIVED
 * the request. Used by the witness for its holder, and by a standby for the peer lease it promised.
 */
export function grantorHoldEnd(receivedAt: number, leaseMs: number, bounds: DriftBounds): number {
  return receivedAt + leaseMs * (1 + bounds.rho) + bounds.marginMs;
}

/**
 * The elected witness's view of its etcd election lease (design §20.2): etcd counts the TTL on its
 * own clock from when it took the keep-alive, with no allowance for drift, so both allowances fall
 * on this side, counted from when the keep-alive was SENT, and the margin comes off as well.
 */
export function electionLeaseEnd(sentAt: number, ttlMs: number, bounds: DriftBounds): number {
  return sentAt + (ttlMs * (1 - bounds.rho)) / (1 + bounds.rho) - bounds.marginMs;
}

/** How long a restarted grantor must assume a lease it may have handed out before is still held. */
export function restartGrace(longestLeaseMs: number, bounds: DriftBounds): number {
  return longestLeaseMs * (1 + bounds.rho) + bounds.marginMs;
}

/** Whole milliseconds left until `until`, never negative: what answers report. */
export function remainingMs(until: number, now: number): number {
  return Math.max(0, Math.ceil(until - now));
}
