/**
 * What a sidecar configuration implies for time (design §8.2, §11):
 * the stop budget, the configurations that cannot keep a healthy workload running,
 * and the failover bound printed at start.
 */
import { grantorHoldEnd, holderLeaseEnd } from '../lease';
import type { SidecarSettings } from './types';

/** After SIGKILL, the time allowed for the kernel to reap the workload's processes. */
export const KILL_SETTLE_MS = 100;
/** A lease must leave this many heartbeats between the last renewal and the start of the stop. */
export const HEARTBEATS_OF_SLACK = 3;

/** The stop must begin this long before the lease deadline: SIGTERM, grace, SIGKILL, reaping. */
export function stopBudget(s: SidecarSettings): number {
  return s.stopTimeoutMs + KILL_SETTLE_MS + s.bounds.marginMs;
}

/**
 * How long after a request is sent a lease it earns can still be used: the holder's share of the
 * lease (design §4.1) less the stop budget. A grant answered later starts nothing.
 */
export function usableLeaseMs(s: SidecarSettings, leaseMs: number): number {
  return holderLeaseEnd(0, leaseMs, s.bounds) - stopBudget(s);
}

/** The witness hears a node, and a node the witness, at least this many times a --timeout. */
export const WITNESS_HEARTBEATS_PER_TIMEOUT = 3;

/**
 * How often the witness is heartbeaten (design §4.6), never more often than --heartbeat. A node
 * whose workload may be running renews so that three renewals fall between one and the moment the
 * stop must begin on the lease it was last given (L2, §8.2): `leaseMs`, undefined for a node
 * that runs nothing. Every node heartbeats three times a --timeout, so that one or two lost
 * answers never make the witness look gone (nor the node, to the witness).
 */
export function witnessHeartbeatMs(s: SidecarSettings, leaseMs: number | undefined): number {
  const heard = s.timeoutMs / WITNESS_HEARTBEATS_PER_TIMEOUT;
  const renewed = leaseMs === undefined ? Infinity : usableLeaseMs(s, leaseMs) / HEARTBEATS_OF_SLACK;
  return Math.max(s.heartbeatMs, Math.floor(Math.min(heard, renewed)));
}

/** Problems that make a configuration unsafe or flappy; each names the values to change. */
export function settingsProblems(s: SidecarSettings): string[] {
  const problems: string[] = [];
  const check = (name: string, leaseMs: number): void => {
    const usable = usableLeaseMs(s, leaseMs);
    if (usable < HEARTBEATS_OF_SLACK * s.heartbeatMs) {
      problems.push(
        `${name} ${leaseMs}ms leaves ${Math.floor(usable)}ms between a renewal and the moment the stop must ` +
          `begin (stop-timeout ${s.stopTimeoutMs}ms + ${KILL_SETTLE_MS}ms to reap + margin ${s.bounds.marginMs}ms ` +
          `before the deadline); it needs at least ${HEARTBEATS_OF_SLACK} heartbeats ` +
          `(${HEARTBEATS_OF_SLACK * s.heartbeatMs}ms): raise ${name}, or lower stop-timeout or heartbeat`,
      );
    }
  };
  if (s.mode === 'standard') {
    check('lease', s.leaseMs);
    check('peer-lease', s.peerLeaseMs);
  }
  if (s.timeoutMs < 2 * s.heartbeatMs) {
    problems.push(`timeout ${s.timeoutMs}ms is under two heartbeats (${2 * s.heartbeatMs}ms): raise timeout`);
  }
  return problems;
}

/**
 * How long a planned stop (design §9.5) may take before the sidecar exits anyway: the workload's
 * stop, a release and the last heartbeat to the peer, each round trip within a timeout.
 */
export function handOverLimitMs(s: SidecarSettings): number {
  return stopBudget(s) + 2 * s.timeoutMs;
}

/**
 * Worst-case failover once the active node vanishes (design §11): the standby stops hearing
 * it, its last promise runs out, the witness's hold runs out, then one heartbeat to notice and one
 * round trip. The workload's own start time comes on top.
 */
export function failoverBoundMs(s: SidecarSettings): number {
  const promise = grantorHoldEnd(0, s.peerLeaseMs, s.bounds);
  const witnessHold = grantorHoldEnd(0, s.leaseMs, s.bounds);
  return Math.ceil(Math.max(s.timeoutMs, promise, witnessHold) + 2 * s.heartbeatMs);
}
