/**
 * Epochs: the fencing tokens (S2). Every activation carries an epoch strictly greater than every
 * epoch handed out before in its group, even after the witness lost its store (design §9.3).
 *
 * An epoch is a 63-bit integer: a store generation in the high bits, a counter in the low bits.
 * The generation is the wall-clock time, in 10 ms units, at which the store was created, so a
 * store that replaces a lost one starts above every epoch the lost one handed out. It is the one
 * place a wall clock is used, and it assumes only that the witness's clock never goes back past
 * the last open of the store being replaced (each open moves to the wall clock's generation, so
 * that store's latest epochs are of its last open, not of its creation: design §5.1).
 *
 * Why 10 ms and 23 bits: epochs stay below 2^63 until the year 2318, so a fencing resource can
 * keep them in a signed 64-bit column (PostgreSQL bigint). A replacement store created within the
 * same 10 ms as the one it replaces cannot repeat an epoch: a store hands out nothing during its
 * start-up grace (at least one lease, never under 10 ms), and 2^23 grants in 10 ms is far beyond
 * any disk's fsync rate.
 */
export const EPOCH_COUNTER_BITS = 23n;
export const GENERATION_UNIT_MS = 10;
/** Largest epoch accepted from a caller or handed out; above it a grant would leave int64. */
export const MAX_EPOCH = (1n << 63n) - 1n;

export function generationFromWallClock(wallClockMs: number): bigint {
  return BigInt(Math.floor(wallClockMs / GENERATION_UNIT_MS));
}

/** The lowest epoch a store of this generation may hand out is one above its floor. */
export function epochFloor(generation: bigint): bigint {
  return generation << EPOCH_COUNTER_BITS;
}

/**
 * The grant rule: one above everything the witness knows, its floor and `known` (what it decided
 * and what callers have told it; the caller's own known epoch is heard before it asks).
 */
export function nextEpoch(floor: bigint, known: bigint): bigint {
  let highest = floor;
  if (known > highest) highest = known;
  return highest + 1n;
}

export function maxEpoch(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** The generation an epoch belongs to. */
export function generationOf(epoch: bigint): bigint {
  return epoch >> EPOCH_COUNTER_BITS;
}

/**
 * The store-wide high-water mark (design §5.3). Every epoch handed out while a store
 * is open stays below the floor of the generation after the stored one (a grant that would reach
 * it raises the stored generation first). Each open therefore moves to a generation above the
 * stored one and above every recorded epoch's, so a new grant exceeds every epoch of every earlier
 * open, even in a group whose record was lost or removed.
 *
 * It also never goes below the wall clock's generation, and the shell does not open a generation
 * the wall clock has not reached (`aheadOfWallClockMs`; it waits, a few ms after a quick restart):
 * so a store created later, after a wipe, still starts above every generation this one used.
 */
export function generationForOpen(
  storedGeneration: bigint,
  recordedEpochs: Iterable<bigint>,
  wallClockMs: number,
): { generation: bigint; aheadOfWallClockMs: number } {
  let next = storedGeneration + 1n;
  for (const epoch of recordedEpochs) if (generationOf(epoch) + 1n > next) next = generationOf(epoch) + 1n;
  const wall = generationFromWallClock(wallClockMs);
  if (wall >= next) return { generation: wall, aheadOfWallClockMs: 0 };
  return { generation: next, aheadOfWallClockMs: Number(next - wall) * GENERATION_UNIT_MS };
}

/**
 * How far past the store's own generation a reported (seen) epoch may lie: a year of generations
 * (design §5.4). Epochs from a store whose wall clock ran ahead of this one's are accepted (no
 * request is refused because of a wall clock); beyond this, no store handed the epoch out. A
 * reported epoch only raises the next grant: it installs no holder and stops nobody.
 */
export const FUTURE_GENERATION_SLACK = BigInt((366 * 24 * 3600 * 1000) / GENERATION_UNIT_MS);

/**
 * How far past what this witness could have handed out an epoch a caller says it runs under may
 * lie for the witness to adopt it (design §5.4): five minutes of generations. Adopting installs a
 * holder and stops the one recorded, so it is bounded tightly: every epoch this store's lineage
 * handed out is at most its generation (each open moves above everything recorded, never behind
 * the wall clock) or one this witness granted since; above that, only a store replaced on a machine
 * whose clock ran ahead, by the skew a deployment tolerates (Kerberos's default five minutes; NTP
 * keeps machines within milliseconds). A broken or hostile member cannot ratchet it: adoptions do
 * not raise the bound, only grants do.
 */
export const MAX_WALL_CLOCK_SKEW_MS = 5 * 60 * 1000;
export const ADOPTION_GENERATION_SLACK = BigInt(MAX_WALL_CLOCK_SKEW_MS / GENERATION_UNIT_MS);
