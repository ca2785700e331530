/**
 * What a whole-machine freeze (a paused VM, design §14) excuses. A workload its machine's freeze
 * left stale may run beside the peer's until a bound after the thaw; only the fencing epoch, checked
 * by the resource, covers that window. Stale is a workload that lived through the freeze, and one
 * started after the thaw on a grant (or, a cold start, a peer lease) asked for before a freeze that
 * stopped the machine's clock: its sidecar and its watchdog count the lease from a send their clock
 * places later than it was, so its deadline has not passed (a clock that ran on has it passed, and
 * the watchdog refuses the start). Past the bound, still alive beside a workload the peer started
 * since the freeze, it is S1 `stale-run-outlived` (checkers.ts).
 */
import { stopBudget } from '../core/sidecar/timing';
import type { SidecarSettings } from '../core/sidecar/types';
import type { SimWorkload } from './node-parts';

/** A workload its machine's freeze left stale: it may run beside the peer's until its bound. */
export function isStale(p: SimWorkload, now: number): boolean {
  return p.frozenAt !== undefined && now <= p.staleUntil;
}

/**
 * How long after a thaw a stale workload may still run (real ms): the longest its own deadline can
 * still be away (two leases), and its stop.
 */
export function staleBoundMs(s: SidecarSettings, rhoActual: number): number {
  return (2 * Math.max(s.leaseMs, s.peerLeaseMs) + stopBudget(s)) / (1 - rhoActual);
}

/** A freeze of a machine that stopped its clock, once it has thawed. */
export interface StoppedClockFreeze {
  readonly frozenAt: number;
  readonly thawedAt: number;
  /** The end of its stale bound. */
  readonly until: number;
}

/**
 * Marks `w`, started at `now` on a grant or peer lease asked for at `askedAt`, stale when a freeze
 * that stopped the clock came between the ask and the start: stale since the earliest such freeze,
 * until the latest bound among them. Returns whether it did.
 */
export function markStaleStart(
  w: SimWorkload,
  askedAt: number | undefined,
  freezes: readonly StoppedClockFreeze[],
  now: number,
): boolean {
  if (askedAt === undefined) return false;
  const between = freezes.filter((f) => f.frozenAt > askedAt && now <= f.until);
  if (between.length === 0) return false;
  w.frozenAt = Math.min(...between.map((f) => f.frozenAt));
  w.staleUntil = Math.max(...between.map((f) => f.until));
  return true;
}

/** The epochs activated in a group, in order: what a stale start is held to (S2). */
export class ActivationHistory {
  private readonly starts: { at: number; epoch: bigint; by: number }[] = [];

  add(at: number, epoch: bigint, by: number): void {
    this.starts.push({ at, epoch, by });
  }

  /** The highest epoch activated before `t`, and the node that did (-1: none). */
  highestBefore(t: number): { epoch: bigint; by: number } {
    let best = { epoch: 0n, by: -1 };
    for (const s of this.starts) if (s.at < t && s.epoch > best.epoch) best = { epoch: s.epoch, by: s.by };
    return best;
  }
}
