/**
 * What the witness's periodic sweeps read from its groups: the holdings the lease watch looks at
 * (design §18.2), the standbys' syncs the sync watch looks at (design §21.3), and whether a silent
 * group may be forgotten (design §7.4). Reads only: the sweeps' callers act on what they find.
 */
import type { GroupState } from './group-state';
import type { GroupTable } from './group-table';
import { isRemoved } from './operator-intent';
import { syncAt } from './sync-age';
import type { StandbySync } from './sync-watch';
import type { HoldingSnapshot } from './types';

/**
 * Each group someone holds whose lease has run out at `now`, or whose holder has not been heard
 * for `silentAfterMs` (0: never), with the end of its lease and when its holder was last heard
 * (`startedAt`, the witness's start, when it has not been heard since): what the lease watch
 * sweeps, ten times a second (design §18.2). What the disk has: a decision on its way there is not
 * shown.
 */
export function visitDueHoldings(
  groups: GroupTable,
  startedAt: number,
  now: number,
  silentAfterMs: number,
  visit: (holding: HoldingSnapshot) => void,
): void {
  // forEach, not for-of over entries: no [key, value] pair per group.
  groups.forEach((state, group) => {
    const { holder, holdUntil } = state.holding;
    if (holder === '') return;
    const live = now < holdUntil;
    if (live && silentAfterMs <= 0) return;
    const heardAt = state.nodes.get(holder)?.lastSeen ?? startedAt;
    if (live && now - heardAt < silentAfterMs) return;
    visit(holdingSnapshot(group, state, startedAt));
  });
}

/** The group's holding as the lease watch sees it, its holder last heard at `startedAt` if not since. */
export function holdingSnapshot(group: string, state: GroupState, startedAt: number): HoldingSnapshot {
  const { holder, epoch, holdUntil } = state.holding;
  const node = state.nodes.get(holder);
  return { group, holder, epoch, holdUntil, heardAt: node?.lastSeen ?? startedAt, role: node?.role };
}

/**
 * Each node that reports its sync and neither holds its group nor is removed from it, with its
 * sync as of `now`: what the sync watch sweeps (design §21.3).
 */
export function visitStandbySyncs(groups: GroupTable, now: number, visit: (standby: StandbySync) => void): void {
  for (const [group, state] of groups) {
    const { holder, epoch } = state.holding;
    for (const [node, heard] of state.nodes) {
      const sync = syncAt(heard, now);
      if (sync === undefined || node === holder || isRemoved(state.intent, node)) continue;
      visit({ group, node, holder, epoch, sync });
    }
  }
}

/**
 * Whether the shell may forget a group (design §7.4): silent for `silentMs`, nobody holding it or
 * its hold run out, no decision waiting for its write and no node in maintenance.
 */
export function isForgettable(group: GroupState, now: number, silentMs: number): boolean {
  if (group.pending !== undefined || now - group.lastActivity < silentMs) return false;
  const { holder, holdUntil } = group.holding;
  // A node in maintenance stays there however long the group is silent.
  return group.intent.maintenance.length === 0 && (holder === '' || now >= holdUntil);
}
