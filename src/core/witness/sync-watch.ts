/**
 * The sync watch (design §21.3): tells operators when a standby has not synced successfully for
 * --sync-alert-after, and when it has again. It decides nothing (the freshness gate of rules.ts
 * does, at an Acquire). Pure: the shell sweeps it with the arbiter's sync reports and the time.
 */
import type { SyncReport } from './types';

export type SyncWatchKind = 'sync-stale' | 'sync-recovered';

export interface SyncWatchRule {
  readonly name: string;
  readonly kind: SyncWatchKind;
  readonly why: string;
}

/** Printed by `witness rules`. */
export const SYNC_WATCH_RULES = {
  stale: {
    name: 'standby-sync-stale',
    kind: 'sync-stale',
    why: 'the standby has not synced successfully for --sync-alert-after (or not at all since it was heard first)',
  },
  recovered: {
    name: 'standby-sync-recovered',
    kind: 'sync-recovered',
    why: 'a standby reported stale has synced successfully again',
  },
} as const satisfies Record<string, SyncWatchRule>;

/** A standby's sync as the arbiter knows it at the sweep (Arbiter.forEachStandbySync). */
export interface StandbySync {
  readonly group: string;
  readonly node: string;
  readonly holder: string;
  readonly epoch: bigint;
  /** Its age already counted on to the sweep's time. */
  readonly sync: SyncReport;
}

export interface SyncWatchEvent {
  readonly kind: SyncWatchKind;
  readonly rule: string;
  readonly group: string;
  readonly node: string;
  readonly holder: string;
  readonly epoch: bigint;
  readonly message: string;
}

interface Watched {
  /** When the node was first seen reporting no successful sync; NaN while it reports one. */
  unsyncedSince: number;
  reported: boolean;
  sweep: number;
}

export class SyncWatch {
  private readonly watched = new Map<string, Watched>();
  private sweeps = 0;

  constructor(private readonly alertAfterMs: number) {}

  sweep(now: number, visitStandbys: (visit: (standby: StandbySync) => void) => void): SyncWatchEvent[] {
    const events: SyncWatchEvent[] = [];
    const sweep = ++this.sweeps;
    visitStandbys((standby) => {
      const event = this.look(standby, now, sweep);
      if (event !== undefined) events.push(event);
    });
    // A node no longer a reporting standby (it took over, was removed, or is forgotten) starts afresh.
    for (const [key, watched] of this.watched) if (watched.sweep !== sweep) this.watched.delete(key);
    return events;
  }

  private look(standby: StandbySync, now: number, sweep: number): SyncWatchEvent | undefined {
    const key = `${standby.group}\u0000${standby.node}`;
    let watched = this.watched.get(key);
    if (watched === undefined) {
      watched = { unsyncedSince: Number.NaN, reported: false, sweep };
      this.watched.set(key, watched);
    }
    watched.sweep = sweep;
    const { sync } = standby;
    if (sync.synced) watched.unsyncedSince = Number.NaN;
    else if (Number.isNaN(watched.unsyncedSince)) watched.unsyncedSince = now;
    const staleMs = sync.synced ? sync.ageMs : now - watched.unsyncedSince;
    const stale = staleMs >= this.alertAfterMs;
    if (stale && !watched.reported) {
      watched.reported = true;
      const since = sync.synced ? `for ${seconds(staleMs)}` : `since it was first heard ${seconds(staleMs)} ago`;
      return this.event(
        SYNC_WATCH_RULES.stale,
        standby,
        `standby ${standby.node} has not synced successfully ${since}${lastRunText(sync)}`,
      );
    }
    if (!stale && watched.reported && sync.synced) {
      watched.reported = false;
      return this.event(
        SYNC_WATCH_RULES.recovered,
        standby,
        `standby ${standby.node} synced again ${seconds(sync.ageMs)} ago`,
      );
    }
    return undefined;
  }

  private event(rule: SyncWatchRule, standby: StandbySync, message: string): SyncWatchEvent {
    const { group, node, holder, epoch } = standby;
    return { kind: rule.kind, rule: rule.name, group, node, holder, epoch, message };
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function lastRunText(sync: SyncReport): string {
  const run = sync.lastRun;
  if (run === undefined || run.ok) return '';
  const status = run.error !== '' ? run.error : `exit ${run.exitCode}`;
  return `; its last run failed (${status})`;
}
