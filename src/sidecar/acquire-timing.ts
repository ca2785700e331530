/**
 * How long an Acquire may take (issue 8, item 6). A grant is made durable before it is answered,
 * so its answer waits on the witness's disk; it stays worth having until the lease it brings could
 * no longer cover the stop. The heartbeats keep the short peer timeout: they decide liveness.
 */
import { usableLeaseMs } from '../core/sidecar/timing';
import type { SidecarSettings, WitnessAnswer } from '../core/sidecar/types';
import type { Logger } from '../log/logger';

/** An Acquire answered later than this share of the lease is logged: the witness (its disk?) is slow. */
export const SLOW_ACQUIRE_SHARE = 0.25;

/** The Acquire's gRPC deadline: a grant answered after it could not be used anyway. */
export function acquireDeadlineMs(s: SidecarSettings): number {
  return Math.max(1, Math.floor(usableLeaseMs(s, s.leaseMs)));
}

export function acquireIsSlow(s: SidecarSettings, elapsedMs: number): boolean {
  return elapsedMs > SLOW_ACQUIRE_SHARE * s.leaseMs;
}

export interface AcquireOutcome {
  readonly elapsedMs: number;
  /** undefined: no answer (the call failed). */
  readonly answer: WitnessAnswer | undefined;
  /** The call's deadline passed. */
  readonly timedOut: boolean;
  /** A grant to this node that the core released because it could no longer be used. */
  readonly released: boolean;
}

/** A slow witness must show in the log: otherwise a failover that never happens says nothing. */
export function logAcquireTiming(logger: Logger, s: SidecarSettings, o: AcquireOutcome): void {
  const fields = { group: s.group, node: s.node, elapsedMs: Math.round(o.elapsedMs), leaseMs: s.leaseMs };
  if (o.timedOut) {
    logger.warn({ ...fields, deadlineMs: acquireDeadlineMs(s) }, 'Acquire got no answer while a grant could be used');
  } else if (o.answer !== undefined && o.released) {
    const usableMs = Math.floor(usableLeaseMs(s, o.answer.leaseMs));
    logger.warn({ ...fields, epoch: o.answer.epoch.toString(), usableMs }, 'grant arrived too late to use: released');
  } else if (o.answer !== undefined && acquireIsSlow(s, o.elapsedMs)) {
    logger.warn(
      { ...fields, verdict: o.answer.verdict },
      `the witness took more than ${SLOW_ACQUIRE_SHARE * 100}% of the lease to answer Acquire (a slow disk?)`,
    );
  }
}
