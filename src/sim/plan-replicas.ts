/**
 * The schedules with witness replicas over etcd (design §20): two or three replicas, an election
 * lease of half a lease to three leases (production asks whole seconds of at least 2; the rule is
 * the same at any scale, and short ones change leaders often), etcd's own clock, the delay to it,
 * and episodes that cut the leader's path to etcd or pause it for about its election lease.
 * Drawn from a stream of their own, so that every other schedule replays as before.
 */
import type { EpisodePlan, Plan } from './plan';
import { Rng } from './prng';

/** Witness replicas over etcd ; absent: one witness over its own store. */
export interface ReplicaPlan {
  /** Clock rates of the replicas after the first (which runs at the witness's rate). */
  readonly otherRates: readonly number[];
  /** The election lease's TTL, on etcd's clock. */
  readonly ttlMs: number;
  readonly etcdRate: number;
  /** One-way delay between a replica and etcd: uniform(0.1, this). */
  readonly etcdDelayMaxMs: number;
  /** The leader's path to etcd is cut (the sidecars still reach it). */
  readonly etcdCut: EpisodePlan | undefined;
  /** The leader is paused (SIGSTOP), often for longer than its election lease. */
  readonly pause: EpisodePlan | undefined;
  /**
   * The site splits in two: the leader and the sidecar it serves on one side, etcd, the other
   * replicas and the other sidecar on the other (the leader's path to etcd, the peer link, and the
   * far sidecar's path to the leader are cut together).
   */
  readonly split: EpisodePlan | undefined;
  /** The leader is stopped with SIGTERM: it finishes its calls, revokes its lease (resigns) and exits. */
  readonly resign: EpisodePlan | undefined;
  /** The secondary's zone is the second replica's: its list starts there, the primary's at the first. */
  readonly zones: boolean;
  /** A sidecar on a later endpoint probes its first this often (--failback-probe). */
  readonly probeEveryMs: number;
}

const REPLICA_DRAWS = 0x4e91ca5e;
/** A third of the schedules run the witness as replicas. */
const REPLICA_SHARE = 0.3;

export function drawReplicas(plan: Plan): ReplicaPlan | undefined {
  const rng = new Rng(plan.seed ^ REPLICA_DRAWS);
  if (!rng.chance(REPLICA_SHARE)) return undefined;
  const lease = Math.max(plan.witness.maxLeaseMs, plan.primary.leaseMs, plan.primary.peerLeaseMs);
  const r = plan.rhoActual;
  const ttlMs = Math.round(lease * rng.range(0.5, 3));
  const count = rng.chance(0.5) ? 2 : 3;
  // At the bounds a third of the time: etcd's clock fast and the replicas' slow, where an election
  // lease counted without the drift on both sides would outlive etcd's view of it.
  const bounds = rng.chance(1 / 3);
  const rate = (): number => (bounds ? 1 - r : 1 + rng.range(-1, 1) * r);
  const otherRates = Array.from({ length: count - 1 }, rate);
  const episode = (lengthShare: number): EpisodePlan | undefined =>
    rng.chance(0.7)
      ? { meanGapMs: rng.range(0.3, 1) * (plan.faultPhaseMs / 3), meanLengthMs: ttlMs * rng.range(0.3, lengthShare) }
      : undefined;
  return {
    otherRates,
    ttlMs,
    etcdRate: bounds ? 1 + r : 1 + rng.range(-1, 1) * r,
    etcdDelayMaxMs: rng.pick([rng.range(0.2, 2), rng.range(2, 20)]),
    etcdCut: episode(2.5),
    pause: episode(2.5),
    split: rng.chance(0.7)
      ? { meanGapMs: rng.range(0.3, 1) * (plan.faultPhaseMs / 3), meanLengthMs: ttlMs + lease * rng.range(1, 3) }
      : undefined,
    resign: rng.chance(0.5)
      ? { meanGapMs: rng.range(0.3, 1) * (plan.faultPhaseMs / 3), meanLengthMs: lease * rng.range(0.5, 3) }
      : undefined,
    zones: rng.chance(0.6),
    probeEveryMs: rng.pick([rng.range(1, 5) * plan.primary.heartbeatMs, rng.range(0.5, 3) * lease]),
  };
}
