/**
 * The schedules with standby freshness (design §21.6): each sidecar runs a sync command on the
 * production schedule (src/sidecar/sync/standby-sync.ts) and most of them run the witness with
 * the freshness gate (--max-sync-age). The gate is drawn generous (the standby is fresh whenever
 * its sync works) or tight (shorter than the sync interval: the standby is often stale, and a
 * takeover often refused); stale-sync episodes make a node's sync fail for a while; now and then the
 * secondary runs with no sync command at all, so that it is never fresh. Drawn from a stream of
 * their own, so that every other schedule replays as before.
 */
import { failoverBoundMs } from '../core/sidecar/timing';
import type { EpisodePlan, Plan } from './plan';
import { Rng } from './prng';

export interface FreshnessPlan {
  /** --sync-interval of both sidecars (real ms on the node's clock). */
  readonly syncIntervalMs: number;
  /** One run of the sync command takes uniform(0, this) on the node's clock. */
  readonly syncDurationMaxMs: number;
  /** The witness's --max-sync-age; undefined: syncs are reported, no gate. */
  readonly maxSyncAgeMs: number | undefined;
  /** Episodes during which a node's sync command fails. */
  readonly staleSyncs: EpisodePlan | undefined;
  /** The secondary runs without --sync-cmd: it reports no sync, and is never fresh. */
  readonly synclessSecondary: boolean;
}

const FRESHNESS_DRAWS = 0x5f4e5a11;
/** A quarter of the schedules run the sync schedule. */
const FRESHNESS_SHARE = 0.25;

export function drawFreshness(plan: Plan): FreshnessPlan | undefined {
  const rng = new Rng(plan.seed ^ FRESHNESS_DRAWS);
  if (!rng.chance(FRESHNESS_SHARE)) return undefined;
  const lease = Math.max(plan.primary.leaseMs, plan.primary.peerLeaseMs);
  const syncIntervalMs = Math.round(rng.range(0.2, 2) * lease);
  const syncDurationMaxMs = rng.range(0, 0.5) * syncIntervalMs;
  // Generous: fresh through a failover whenever the sync works. Tight: stale between two syncs.
  const cycle = syncIntervalMs + syncDurationMaxMs;
  const generous = rng.range(2, 4) * (failoverBoundMs(plan.primary) + cycle);
  const tight = rng.range(0.3, 1) * cycle;
  const maxSyncAgeMs = rng.chance(0.2) ? undefined : Math.round(rng.chance(0.7) ? generous : tight);
  const staleSyncs = rng.chance(0.5)
    ? { meanGapMs: rng.range(0.5, 4) * lease, meanLengthMs: rng.range(0.5, 3) * (maxSyncAgeMs ?? cycle) }
    : undefined;
  return { syncIntervalMs, syncDurationMaxMs, maxSyncAgeMs, staleSyncs, synclessSecondary: rng.chance(0.1) };
}

/** The plan with its freshness, the gate in the witness's configuration. */
export function withFreshness(plan: Plan, freshness: FreshnessPlan | undefined): Plan {
  if (freshness === undefined) return plan;
  const gate = freshness.maxSyncAgeMs === undefined ? {} : { maxSyncAgeMs: freshness.maxSyncAgeMs };
  return { ...plan, freshness, witness: { ...plan.witness, ...gate } };
}
