/**
 * A node's sync command in the simulator (design §21.6): a run takes uniform(0, the plan's
 * maximum) on the node's clock and succeeds unless the node is in a stale-sync episode. What the
 * command cannot know, the model keeps as the truth the gate check reads: when the node's copy was
 * last fresh in real time (a successful sync's start, or the end of its last workload run).
 */
import { StandbySync, type SyncCommand } from '../sidecar/sync/standby-sync';
import type { Clock, Timers } from '../sidecar/sidecar-ports';
import type { FreshnessPlan } from './plan-freshness';
import { Rng } from './prng';
import type { World } from './world';

export class SyncTruth {
  /** In a stale-sync episode: every run fails. */
  failing = false;
  /** Real time since which the copy is fresh, as far as the node's sidecar can know; NaN: never. */
  freshSince = Number.NaN;
  /** When the sidecar could first know it (the sync's end, the workload's death). */
  knownAt = Number.NaN;
  /** The node's sidecar runs a sync command, and so reports its freshness to the witness. */
  reports = false;

  noteFresh(since: number, knownAt: number): void {
    if (!Number.isNaN(this.freshSince) && since <= this.freshSince) return;
    this.freshSince = since;
    this.knownAt = knownAt;
  }

  /** A new sidecar process knows nothing of its copy's freshness; it reports it if it syncs. */
  forget(reports: boolean): void {
    this.reports = reports;
    this.freshSince = Number.NaN;
    this.knownAt = Number.NaN;
  }
}

const STALE_SYNC_DRAWS = 0x57a1e5cc;

/** The plan's stale-sync episodes, for each node, during the fault phase (from a stream of their own). */
export function scheduleStaleSyncs(world: World, truths: readonly SyncTruth[]): void {
  const episodes = world.plan.freshness?.staleSyncs;
  if (episodes === undefined) return;
  const rng = new Rng(world.plan.seed ^ STALE_SYNC_DRAWS);
  for (const truth of truths) {
    const next = (): void =>
      world.at(world.t + rng.exp(episodes.meanGapMs), () => {
        if (world.healed) return;
        truth.failing = true;
        world.at(world.t + rng.exp(episodes.meanLengthMs), () => {
          truth.failing = false;
          next();
        });
      });
    next();
  }
}

/** The production schedule, over a simulated command, on the sidecar's clock and timers. */
export function simStandbySync(
  world: World,
  plan: FreshnessPlan,
  truth: SyncTruth,
  clock: Clock,
  timers: Timers,
): StandbySync {
  const command: SyncCommand = {
    run(done) {
      const startedAt = world.t;
      let settled = false;
      // The schedule discards a run it cancelled, even one whose success lands in the same instant
      // (its end held back by a freeze): the sidecar cannot count on that copy.
      let cancelled = false;
      const finish = (ok: boolean, error: string): void => {
        if (settled) return;
        settled = true;
        if (ok && !cancelled) truth.noteFresh(startedAt, world.t);
        done({ ok, exitCode: ok ? 0 : error === '' ? 1 : -1, outputTail: '', error });
      };
      timers.after(world.freshness.range(0, plan.syncDurationMaxMs), () => finish(!truth.failing, ''));
      return {
        cancel: (why) => {
          cancelled = true;
          world.at(world.t, () => finish(false, why));
        },
      };
    },
  };
  return new StandbySync({ intervalMs: plan.syncIntervalMs }, command, clock, timers);
}
