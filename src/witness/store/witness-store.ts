/**
 * Where the witness keeps what must survive a restart: the store's generation and, per group, the
 * holder and epoch. Small on purpose: the embedded file store is the default and an etcd-backed
 * store comes next; both implement this.
 */
import { describeExpected } from '../../core/witness/expected-record';
import type { DurableGroup, DurableWrite, ExpectedRecord } from '../../core/witness/types';

export interface StoreOpenOptions {
  /** The longest lease this run may hand out: recorded first, so that a later run's grace covers it. */
  readonly longestLeaseMs: number;
}

export interface StoreContents {
  /**
   * This open's generation, above every epoch of every earlier open (src/core/epoch.ts,
   * generationForOpen); a new store's comes from the wall clock.
   */
  readonly generation: bigint;
  /** The longest lease any earlier run recorded; 0 for a new store. */
  readonly longestEarlierLeaseMs: number;
  readonly records: readonly DurableGroup[];
  /** Groups the store knew whose record is gone (moved away, lost): their epochs do not repeat. */
  readonly missingGroups: readonly string[];
  /**
   * 'existing', or why a new store was created: the directory was new, or it held no store, or
   * nothing was under the etcd prefix.
   */
  readonly origin: 'existing' | 'new-directory' | 'empty-directory' | 'new-etcd-prefix';
  /**
   * How long after this open a witness that held the store before may still have decided, on that
   * witness's clock (its lock's lease; 0 over etcd, design §20.4): the start-up grace is this much
   * longer, with drift.
   */
  readonly previousHolderOverlapMs: number;
  /** How far the wall clock is behind the opened generation (0 when it is not), see epoch.ts. */
  readonly wallClockBehindMs: number;
}

export interface WitnessStore {
  /** What makes the store this process's, for messages: 'the data directory lock', 'the etcd leadership'. */
  readonly holdName: string;
  /**
   * Takes the store's lock and loads it, creating an empty one with a new generation when there is
   * none. A torn or corrupt store is a StoreCorruptError naming the file, never a silent reset; a
   * store another witness holds is refused.
   */
  open(options: StoreOpenOptions): Promise<StoreContents>;
  /**
   * Resolves only once the record is durable (fsync'd). Puts for one group land in call order, and
   * each is checked at its turn: when the group's record is not the one the write expects, it is a
   * StorePreconditionError and nothing is written.
   */
  put(write: DurableWrite): Promise<void>;
  /** Raises the stored generation (never lowers it); resolves once that is durable. */
  raiseGeneration(generation: bigint): Promise<void>;
  /** Removes a group's record, durably; its name may be used again (epochs do not repeat). */
  forget(group: string): Promise<void>;
  /**
   * Confirms, synchronously, that the store is still this process's (its lock, or its leadership),
   * extending the time it may decide; throws a StoreHoldLostError when it is not.
   */
  confirmHold(): void;
  /** Resolves when the store can take a write again (writes and fsyncs a scratch file). */
  probeWrite(): Promise<void>;
  /**
   * False once this witness's hold on the store has gone unconfirmed for too long (a frozen
   * process, a hung disk, a lost lock): it must decide nothing, not even a renewal, until a check
   * confirms it again. `at` is on the monotonic clock the store was given.
   */
  mayDecide(at: number): boolean;
  /**
   * When `mayDecide` turns false unless the hold is confirmed again before (-Infinity once it may
   * not decide): health turns NOT_SERVING at that moment, not at the next check.
   */
  decidesUntil(): number;
  /** Waits for puts in flight, then releases the store and its lock. */
  close(): Promise<void>;
}

export class StoreCorruptError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(
      `store file ${file} is corrupt: ${detail}. Refusing to start rather than lose epochs; ` +
        'restore it from a backup, or move the data directory away to start a new store generation',
    );
    this.name = 'StoreCorruptError';
  }
}

/** A put that did not become durable: whatever depended on it was not answered. */
export class StoreWriteError extends Error {
  constructor(cause: unknown) {
    super(`store write failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreWriteError';
  }
}

/**
 * A put whose precondition did not hold: the store's record of the group is not the one the
 * decision was made from, so whoever decided it (another witness over the same store, or an
 * Arbiter that disagrees with its store) must not be answered. Nothing was written.
 */
export class StorePreconditionError extends Error {
  constructor(
    readonly group: string,
    readonly expected: ExpectedRecord,
    readonly found: ExpectedRecord,
  ) {
    super(
      `store write for group ${group} refused: it expected ${describeExpected(expected)}, the store holds ` +
        `${describeExpected(found)} (another witness wrote this group, or this witness's memory of it is stale)`,
    );
    this.name = 'StorePreconditionError';
  }
}

/** The data directory cannot be used at all (not creatable, not a directory, not writable). */
export class DataDirError extends Error {
  constructor(message: string, cause?: unknown) {
    super(cause === undefined ? message : `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'DataDirError';
  }
}

/**
 * The store is no longer this process's (the data directory's lock is gone, another replica leads
 * over etcd): final, this witness must stop arbitrating.
 */
export class StoreHoldLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreHoldLostError';
  }
}

/** The witness cannot confirm it still holds the store: it decides nothing until it can. */
export class StoreUnconfirmedError extends Error {
  constructor() {
    super(
      'store unavailable: this witness could not confirm its hold on the store (its lock or its leadership); retry later',
    );
    this.name = 'StoreUnconfirmedError';
  }
}
