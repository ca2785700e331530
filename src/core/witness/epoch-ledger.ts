/**
 * The epochs of one witness run over its store (design §5): the floor of the generation it opened
 * with, the stored generation, and the highest epochs decided and granted since the open. Grants
 * go above everything decided; reported and adopted epochs are bounded by what the store's lineage
 * could have handed out, never by a wall clock. Pure: the Arbiter asks and tells it.
 */
import {
  ADOPTION_GENERATION_SLACK,
  epochFloor,
  FUTURE_GENERATION_SLACK,
  generationOf,
  maxEpoch,
  nextEpoch,
} from '../epoch';
import { ArbitrationError } from './errors';

export class EpochLedger {
  private readonly floor: bigint;
  /** The stored generation; every epoch handed out stays below `epochFloor(generation + 1)`. */
  private generation: bigint;
  /**
   * The generation this store opened with: reported epochs are bounded from it, not from the
   * current one, so that a client cannot ratchet the bound up grant by grant.
   */
  private readonly openedGeneration: bigint;
  /**
   * The highest epoch handed out or adopted in any group since this store opened. Grants go above
   * it, so a group that was forgotten and comes back never gets one of its old epochs again.
   */
  private highestDecided: bigint;
  /** The highest epoch this witness granted (not adopted): with the opened generation, the adoption bound. */
  private highestGranted = 0n;

  constructor(openedGeneration: bigint) {
    this.generation = openedGeneration;
    this.openedGeneration = openedGeneration;
    this.floor = epochFloor(openedGeneration);
    this.highestDecided = this.floor;
  }

  /** The epoch to grant in a group whose record and callers (the asker too) have told of `groupKnown`. */
  nextGrant(groupKnown: bigint): bigint {
    return nextEpoch(this.floor, maxEpoch(this.highestDecided, groupKnown));
  }

  /** A grant of `epoch` was decided (durable or not: the adoption bound counts it at once). */
  granted(epoch: bigint): void {
    this.highestGranted = maxEpoch(this.highestGranted, epoch);
  }

  /**
   * The generation a decision of `epoch` must raise the store to first, so that the next open
   * still moves above it (src/core/epoch.ts); undefined when the stored one covers it.
   */
  generationToRaise(epoch: bigint): bigint | undefined {
    return generationOf(epoch) > this.generation ? generationOf(epoch) : undefined;
  }

  /** A decision of `epoch`, which raised the stored generation to `generation` if defined, is durable. */
  committed(generation: bigint | undefined, epoch: bigint): void {
    if (generation !== undefined && generation > this.generation) this.generation = generation;
    if (epoch > this.highestDecided) this.highestDecided = epoch;
  }

  /** The stored generation, as this witness last had it confirmed. */
  storeGeneration(): bigint {
    return this.generation;
  }

  /**
   * Reported epochs are bounded by what the store knows, never by a wall clock: a year of
   * generations past the store's own (FUTURE_GENERATION_SLACK). Checked before anything changes.
   */
  checkReported(field: string, epoch: bigint): void {
    if (epoch === 0n || generationOf(epoch) <= this.openedGeneration + FUTURE_GENERATION_SLACK) return;
    throw new ArbitrationError(
      'invalid-argument',
      field,
      `${field}: belongs to store generation ${generationOf(epoch)}, more than a year of generations past ` +
        `this witness's store (generation ${this.openedGeneration}): no store handed it out`,
    );
  }

  /**
   * An epoch a caller runs under must be one this witness's lineage could have handed out, give or
   * take the tolerated clock skew (ADOPTION_GENERATION_SLACK, design §5.4): checked before anything
   * changes, so a forged or broken adoption is refused and the holder keeps its place.
   */
  checkAdoptable(epoch: bigint): void {
    const base = maxEpoch(this.openedGeneration, generationOf(this.highestGranted));
    if (generationOf(epoch) <= base + ADOPTION_GENERATION_SLACK) return;
    throw new ArbitrationError(
      'invalid-argument',
      'held_epoch',
      `held_epoch: belongs to store generation ${generationOf(epoch)}, more than five minutes of generations past ` +
        `anything this witness's store handed out (generation ${base}): no store handed it out, and it is not adopted`,
    );
  }
}
