/**
 * Which failed calls the witness answered before deciding anything (design §8.4). A failed Acquire
 * may hide a grant (the answer lost, the connection reset after the write), so the caller waits
 * until that grant could no longer be used; a refusal the witness gives only before it decides
 * (an unknown group, a bad request, a lost compare-and-set, a replica that does not lead) cannot,
 * and waiting a whole lease on it would hold up a failover for nothing.
 */
import * as grpc from '@grpc/grpc-js';
import { WireError } from './wire-error';

/** The trailer a replica that does not lead names the leading replica's address in ('' while none is known). */
export const LEADER_TRAILER = 'witness-leader';

/**
 * The refusal of a witness that decides nothing because it does not lead (a follower) or cannot
 * confirm that it still does: UNAVAILABLE with the trailer naming the leader, '' when none is known.
 */
export function notLeading(message: string, leader: string): WireError {
  return new WireError('unavailable', '', message, { [LEADER_TRAILER]: leader });
}

/**
 * Codes the witness answers only from checks made before a decision, or from a decision rolled
 * back unwritten. RESOURCE_EXHAUSTED is not among them: grpc-js gives it to a caller whose answer
 * was too large, after the witness decided.
 */
const UNDECIDED_CODES: ReadonlySet<grpc.status> = new Set([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ABORTED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
]);

/** The status a call failed with, as far as it matters here: its code, and the trailers if any came. */
export interface FailedCallStatus {
  readonly code: grpc.status;
  readonly metadata?: grpc.Metadata;
}

/** True when `status` says the witness decided nothing for this call; undefined (no status) is not. */
export function decidedNothing(status: FailedCallStatus | undefined): boolean {
  if (status === undefined) return false;
  if (UNDECIDED_CODES.has(status.code)) return true;
  // A replica that does not lead never decides, and says so by naming the leader; so does one that
  // cannot confirm its hold on the store (naming none). An UNAVAILABLE without that trailer (a
  // server shutting down, a reset connection, a store write that failed) may follow a decision.
  return status.code === grpc.status.UNAVAILABLE && (status.metadata?.get(LEADER_TRAILER).length ?? 0) > 0;
}
