/** witness.v1.Admin's messages from the witness core's vocabulary. */
import type { EventKind, GroupView, LeaseAnswer } from '../core/witness/types';
import type { GroupEvent } from '../gen/witness/v1/GroupEvent';
import type { GroupStatus } from '../gen/witness/v1/GroupStatus';
import { toWireEventKind, toWireRole } from './enum-mappings';

export function toWireGroupStatus(view: GroupView): GroupStatus {
  return {
    group: view.group,
    holder: view.holder,
    epoch: view.epoch.toString(),
    holderLeaseRemainingMs: view.holderLeaseRemainingMs,
    inStartupGrace: view.inStartupGrace,
    nodes: view.nodes.map((n) => ({
      node: n.node,
      role: toWireRole(n.role),
      lastSeenMsAgo: Math.min(n.lastSeenMsAgo, 0xffffffff),
      holds: n.holds,
    })),
  };
}

export function toWireEvent(kind: EventKind, answer: LeaseAnswer, node: string): GroupEvent {
  return {
    group: answer.group,
    kind: toWireEventKind(kind),
    node,
    epoch: answer.epoch.toString(),
    message: answer.message,
  };
}
