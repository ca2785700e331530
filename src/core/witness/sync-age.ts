/**
 * A node's freshness at the witness (design §21.1): the age its heartbeat reported, counted on
 * from when it was heard on the witness's clock. Soft state like a node's last-seen time: kept in
 * memory from heartbeats, never written, rebuilt by the next heartbeat after a restart.
 */
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
