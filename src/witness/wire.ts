/** Conversions between wire messages (generated types) and the core's vocabulary. */
import type { EventKind, GroupView, LeaseAnswer, RefusalReason, Verdict } from '../core/witness/types';
import type { GroupEvent } from '../gen/witness/v1/GroupEvent';
import type { GroupStatus } from '../gen/witness/v1/GroupStatus';
import type { LeaseAnswer as WireLeaseAnswer } from '../gen/witness/v1/LeaseAnswer';
import type { RefusalReason as WireRefusalReason } from '../gen/witness/v1/RefusalReason';
import type { Verdict as WireVerdict } from '../gen/witness/v1/Verdict';
import type { EventKind as WireEventKind } from '../gen/witness/v1/EventKind';

const VERDICT: Record<Verdict, WireVerdict> = {
  granted: 'VERDICT_GRANTED',
  renewed: 'VERDICT_RENEWED',
  acknowledged: 'VERDICT_ACKNOWLEDGED',
  released: 'VERDICT_RELEASED',
  refused: 'VERDICT_REFUSED',
};

const REASON: Record<RefusalReason, WireRefusalReason> = {
  'held-by-other': 'REFUSAL_REASON_HELD_BY_OTHER',
  'startup-grace': 'REFUSAL_REASON_STARTUP_GRACE',
  'stale-epoch': 'REFUSAL_REASON_STALE_EPOCH',
  'not-holder': 'REFUSAL_REASON_NOT_HOLDER',
};

const EVENT: Record<EventKind, WireEventKind> = {
  registered: 'EVENT_KIND_REGISTERED',
  granted: 'EVENT_KIND_GRANTED',
  released: 'EVENT_KIND_RELEASED',
  adopted: 'EVENT_KIND_ADOPTED',
  refused: 'EVENT_KIND_REFUSED',
};

export function toWireAnswer(answer: LeaseAnswer, sequence: string): WireLeaseAnswer {
  return {
    group: answer.group,
    verdict: VERDICT[answer.verdict],
    reason: answer.reason === undefined ? 'REFUSAL_REASON_UNSPECIFIED' : REASON[answer.reason],
    message: answer.message,
    holder: answer.holder,
    epoch: answer.epoch.toString(),
    leaseMs: answer.leaseMs,
    holderLeaseRemainingMs: answer.holderLeaseRemainingMs,
    retryAfterMs: answer.retryAfterMs,
    sequence,
  };
}

export function toWireGroupStatus(view: GroupView): GroupStatus {
  return {
    group: view.group,
    holder: view.holder,
    epoch: view.epoch.toString(),
    holderLeaseRemainingMs: view.holderLeaseRemainingMs,
    inStartupGrace: view.inStartupGrace,
    nodes: view.nodes.map((n) => ({
      node: n.node,
      role: n.role === 'primary' ? 'ROLE_PRIMARY' : 'ROLE_SECONDARY',
      lastSeenMsAgo: Math.min(n.lastSeenMsAgo, 0xffffffff),
      holds: n.holds,
    })),
  };
}

export function toWireEvent(kind: EventKind, answer: LeaseAnswer, node: string): GroupEvent {
  return { group: answer.group, kind: EVENT[kind], node, epoch: answer.epoch.toString(), message: answer.message };
}
