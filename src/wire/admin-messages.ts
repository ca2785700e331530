/** witness.v1.Admin's messages from the witness core's vocabulary. */
import type { LeaseWatchEvent } from '../core/witness/lease-watch';
import type { SyncWatchEvent } from '../core/witness/sync-watch';
import type { EventKind, GroupView, LeaseAnswer } from '../core/witness/types';
import type { GroupEvent } from '../gen/witness/v1/GroupEvent';

/** An event as the arbitration shell tells it: the witness's event history adds id and time. */
export type EventBody = Omit<GroupEvent, 'id' | 'timeUnixMs'>;
import type { GroupStatus } from '../gen/witness/v1/GroupStatus';
import { toWireEventKind, toWireFailback, toWireRole } from './enum-mappings';
import { toWireSyncRun } from './sync-report';

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
      maintenance: n.maintenance,
      removed: n.removed,
      syncReported: n.sync !== undefined,
      synced: n.sync?.synced ?? false,
      syncAgeMs: (n.sync?.synced === true ? Math.round(n.sync.ageMs) : 0).toString(),
      ...(n.sync?.lastRun === undefined ? {} : { lastSyncRun: toWireSyncRun(n.sync.lastRun) }),
    })),
    switchoverEpoch: view.switchoverEpoch.toString(),
    failback: toWireFailback(view.failback),
    removed: [...view.removed],
  };
}

/** The event without its id and time, which the witness's event history stamps. */
export function toWireEvent(kind: EventKind, answer: LeaseAnswer, node: string, rule: string): EventBody {
  return {
    group: answer.group,
    kind: toWireEventKind(kind),
    node,
    epoch: answer.epoch.toString(),
    message: answer.message,
    rule,
    holder: answer.holder,
    countdownMs: 0,
  };
}

/** A lease-watch event (design §18.2): about the holder, which is the node it names. */
export function toWireWatchEvent(event: LeaseWatchEvent): EventBody {
  return {
    group: event.group,
    kind: toWireEventKind(event.kind),
    node: event.holder,
    epoch: event.epoch.toString(),
    message: event.message,
    rule: event.rule,
    holder: event.holder,
    countdownMs: event.countdownMs,
  };
}

/** A sync-watch event (design §21.3): about the standby it names. */
export function toWireSyncWatchEvent(event: SyncWatchEvent): EventBody {
  return {
    group: event.group,
    kind: toWireEventKind(event.kind),
    node: event.node,
    epoch: event.epoch.toString(),
    message: event.message,
    rule: event.rule,
    holder: event.holder,
    countdownMs: 0,
  };
}
