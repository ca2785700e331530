/**
 * What an Arbiter is configured with and started from, and the limits it keeps (design §6).
 */
import { GENERATION_UNIT_MS } from '../epoch';
import { type DriftBounds, restartGrace } from '../lease';
import type { DurableGroup } from './types';

export interface ArbiterConfig {
  readonly bounds: DriftBounds;
  /** The lease handed out when a request asks for none. */
  readonly defaultLeaseMs: number;
  /** The longest lease handed out; longer requests are capped. Sets the start-up grace. */
  readonly maxLeaseMs: number;
  /**
   * How many groups the witness serves (`--max-groups`); a heartbeat that would create one more is
   * refused, so a flood of made-up groups cannot exhaust its memory and disk. Groups restored from
   * the store always count, even above it. No bound when omitted.
   */
  readonly maxGroups?: number;
  /**
   * The freshness gate (`--max-sync-age`, design §21.4): an Acquire by a node whose last successful
   * sync is older than this, or unknown, is refused. No gate when omitted.
   */
  readonly maxSyncAgeMs?: number;
}

/** What the shell loaded from the store at start. */
export interface ArbiterStartup {
  readonly now: number;
  /**
   * This open's generation (src/core/epoch.ts, generationForOpen): every epoch handed out is above
   * `epochFloor(generation)`, and stays below the next generation's floor unless a decision raises it.
   */
  readonly generation: bigint;
  /** The longest lease any earlier run of this store may have handed out: it sets the start-up grace. */
  readonly longestEarlierLeaseMs?: number;
  /**
   * Added to the grace: how long a witness that held this store before may have gone on deciding
   * after it lost it (the store lock's lease, src/witness/store/data-dir-lock.ts). 0 by default.
   */
  readonly graceExtraMs?: number;
  /**
   * The store has no record of the leases handed out before (it is new, or was lost): the grace
   * then also covers the longest lease any caller asks for, which an earlier witness may have
   * granted under a longer --max-lease.
   */
  readonly storeIsNew?: boolean;
  readonly records: readonly DurableGroup[];
}

/** How many requests may wait behind one group's write before more are refused. */
export const MAX_WAITING_PER_GROUP = 256;

/** Two copies of a workload per group: the primary and the secondary. */
export const MAX_NODES_PER_GROUP = 2;

export function assertArbiterConfig(config: ArbiterConfig): void {
  const { rho, marginMs } = config.bounds;
  if (!(rho >= 0 && rho < 0.5)) throw new RangeError(`rho must be in [0, 0.5): ${rho}`);
  if (!(marginMs >= 0)) throw new RangeError(`margin must be >= 0: ${marginMs}`);
  if (!(config.defaultLeaseMs > 0 && config.defaultLeaseMs <= config.maxLeaseMs)) {
    throw new RangeError('default lease must be positive and at most the maximum lease');
  }
  // Epoch generations are 10 ms apart: a store replaced within one generation must not hand out
  // anything before the next one begins (src/core/epoch.ts).
  if (restartGrace(config.maxLeaseMs, config.bounds) < GENERATION_UNIT_MS) {
    throw new RangeError(`the start-up grace must be at least ${GENERATION_UNIT_MS} ms`);
  }
}
