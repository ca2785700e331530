/**
 * A node's freshness at the witness (design §21.1): the age its heartbeat reported, counted on
 * from when it was heard on the witness's clock. Soft state like a node's last-seen time: kept in
 * memory from heartbeats, never written, rebuilt by the next heartbeat after a restart. And the
 * freshness gate's test on it: whether a caller's copy is too old to take the group over.
 */
import { maxEpoch } from '../epoch';
import type { GroupState } from './group-state';
import type { SyncReport } from './types';

export interface HeardSync {
  readonly sync: SyncReport | undefined;
  readonly syncHeardAt: number;
}

/** The report as of `now`: its age grown by the time since it was heard. */
export function syncAt(heard: HeardSync, now: number): SyncReport | undefined {
  const { sync } = heard;
  if (sync === undefined || !sync.synced) return sync;
  return { ...sync, ageMs: sync.ageMs + Math.max(0, now - heard.syncHeardAt) };
}

/**
 * Whether a node's copy is too old to take over under `maxAgeMs`: it reported no sync (no
 * --sync-cmd, or none has succeeded since its sidecar started) or its last one is older.
 * Unknown counts as stale, as Patroni's maximum_lag_on_failover treats an unknown lag.
 */
export function tooStale(heard: HeardSync | undefined, now: number, maxAgeMs: number): boolean {
  const sync = heard === undefined ? undefined : syncAt(heard, now);
  return sync === undefined || !sync.synced || sync.ageMs > maxAgeMs;
}

/**
 * The freshness gate's test (design §21.4). Only a takeover is gated: a group no node has run yet
 * (no epoch handed out or heard) has no fresher copy to protect, and the node that ran the group
 * last holds the freshest copy there is, whatever its sidecar reports (it may have restarted).
 * No `maxAgeMs` (--max-sync-age unset): no gate.
 */
export function callerStale(
  group: GroupState,
  node: string,
  ranUnder: bigint,
  now: number,
  maxAgeMs: number | undefined,
): boolean {
  if (maxAgeMs === undefined) return false;
  const { holder, epoch } = group.holding;
  if (maxEpoch(epoch, group.highestHeard) === 0n) return false;
  if (holder === node || (ranUnder > 0n && ranUnder >= epoch)) return false;
  return tooStale(group.nodes.get(node), now, maxAgeMs);
}
