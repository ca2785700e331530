/**
 * witness.v1.LeaseAnswer both ways: the witness writes it from its core's answer, the sidecar reads
 * it into its core's. Reading validates every field, as a peer's messages are: the witness is
 * another process, and a broken one must not hand the sidecar core an epoch it never granted.
 */
import type { WitnessAnswer } from '../core/sidecar/types';
import type { LeaseAnswer } from '../core/witness/types';
import type { LeaseAnswer as WireLeaseAnswer, LeaseAnswer__Output } from '../gen/witness/v1/LeaseAnswer';
import type { FailbackPolicy } from '../core/witness/types';
import {
  fromWireFailback,
  fromWireReason,
  fromWireVerdict,
  toWireFailback,
  toWireReason,
  toWireVerdict,
} from './enum-mappings';
import { optionalId, requireEpoch, requireId } from './validate-request';
import { invalid } from './wire-error';

const MAX_UINT32 = 0xffffffff;

export function toWireAnswer(answer: LeaseAnswer, sequence: string): WireLeaseAnswer {
  return {
    group: answer.group,
    verdict: toWireVerdict(answer.verdict),
    reason: toWireReason(answer.reason),
    message: answer.message,
    holder: answer.holder,
    epoch: answer.epoch.toString(),
    leaseMs: answer.leaseMs,
    holderLeaseRemainingMs: answer.holderLeaseRemainingMs,
    retryAfterMs: answer.retryAfterMs,
    sequence,
    handOver: answer.handOver,
    maintenance: answer.maintenance,
    failback: toWireFailback(answer.failback),
    // A "sync now" is the shell's to add (src/witness/sync-now-desk.ts).
    syncNowId: '0',
  };
}

/** The answer as the sidecar core takes it, and the group it is for; throws a WireError naming the field. */
export function fromWireAnswer(answer: LeaseAnswer__Output): WitnessAnswer & { readonly group: string } {
  fromWireReason('reason', answer.reason);
  if (typeof answer.message !== 'string') throw invalid('message', 'must be a string');
  requireUint32('holder_lease_remaining_ms', answer.holderLeaseRemainingMs);
  // The sidecar's calls are unary and carry no sequence; any uint64 is still well-formed.
  if (!/^[0-9]{1,20}$/.test(answer.sequence)) throw invalid('sequence', 'must be an unsigned integer');
  return {
    group: requireId('group', answer.group),
    verdict: fromWireVerdict('verdict', answer.verdict),
    holder: optionalId('holder', answer.holder),
    epoch: requireEpoch('epoch', answer.epoch),
    leaseMs: requireUint32('lease_ms', answer.leaseMs),
    retryAfterMs: requireUint32('retry_after_ms', answer.retryAfterMs),
    handOver: answer.handOver,
    maintenance: answer.maintenance,
    ...failbackOf(answer.failback),
    ...syncNowOf(answer.syncNowId),
  };
}

/** Absent when nothing is asked, so that the core's answers stay as they were. */
function syncNowOf(wire: string): { readonly syncNowId?: bigint } {
  const id = requireEpoch('sync_now_id', wire);
  return id === 0n ? {} : { syncNowId: id };
}

/** Absent when the group has no policy of its own, as the core's answers are. */
function failbackOf(wire: unknown): { readonly failback?: FailbackPolicy } {
  const failback = fromWireFailback('failback', wire);
  return failback === undefined ? {} : { failback };
}

function requireUint32(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32)
    throw invalid(field, 'must be an unsigned 32-bit integer');
  return value;
}
