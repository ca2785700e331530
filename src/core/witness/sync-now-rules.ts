/**
 * "Sync now" (design §21.2), as rules in the manner of operator-rules.ts: whom the request is for,
 * or why it is refused. It sets no intent and decides nothing about who runs: the shell asks the
 * standby in its next heartbeat answer and waits for the run's result.
 */
import { type GroupState, membersOf } from './group-state';
import { inMaintenance, isRemoved } from './operator-intent';
import type { OperatorRule } from './operator-rules';

export interface SyncNowContext {
  /** Someone holds the group with a lease live here: there is a copy to sync from. */
  readonly groupActive: boolean;
  /** The member that does not hold the group; '' when the witness knows none. */
  readonly standby: string;
  /** The standby was heard within the default lease. */
  readonly standbyHealthy: boolean;
  readonly standbyRemoved: boolean;
  /** The standby is in maintenance: its sidecar runs no sync while out of service. */
  readonly standbyInMaintenance: boolean;
  /** The standby's heartbeats carry a sync report: its sidecar runs with --sync-cmd. */
  readonly standbyReportsSync: boolean;
}

type SyncNowRule = Omit<OperatorRule, 'when'> & { readonly when: (c: SyncNowContext) => boolean };

export const SYNC_NOW_RULES: readonly SyncNowRule[] = [
  {
    name: 'refuse-sync-now-nobody-active',
    when: (c) => !c.groupActive,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: 'nobody holds the group with a live lease: there is no active copy to sync from',
  },
  {
    name: 'refuse-sync-now-standby-unhealthy',
    when: (c) => !c.standbyHealthy,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: 'the standby was not heard within the default lease: it would not see the request',
  },
  {
    name: 'refuse-sync-now-removed-standby',
    when: (c) => c.standbyRemoved,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: 'the standby is removed (its sync relationship was broken): readmit it first',
  },
  {
    name: 'refuse-sync-now-standby-in-maintenance',
    when: (c) => c.standbyInMaintenance,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: 'the standby is in maintenance: its sidecar runs no sync until that ends',
  },
  {
    name: 'refuse-sync-now-without-sync-cmd',
    when: (c) => !c.standbyReportsSync,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: "the standby's sidecar runs without --sync-cmd: it has nothing to run",
  },
  {
    name: 'ask-standby-to-sync-now',
    when: () => true,
    outcome: { kind: 'set-intent' },
    why: 'the standby is asked in its next heartbeat answer to run its --sync-cmd at once, and reports the run',
  },
];

export function syncNowContext(group: GroupState, now: number, defaultLeaseMs: number): SyncNowContext {
  const { holder, holdUntil } = group.holding;
  const standby = membersOf(group).find((n) => n !== holder) ?? '';
  const heard = group.nodes.get(standby);
  return {
    groupActive: holder !== '' && now < holdUntil,
    standby,
    standbyHealthy: heard !== undefined && now - heard.lastSeen < defaultLeaseMs,
    standbyRemoved: isRemoved(group.intent, standby),
    standbyInMaintenance: inMaintenance(group.intent, standby),
    standbyReportsSync: heard?.sync !== undefined,
  };
}
