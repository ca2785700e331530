/**
 * Where the witness keeps what must survive a restart: the store's generation and, per group, the
 * holder and epoch. Small on purpose: the embedded file store is the default and an etcd-backed
 * store comes next; both implement this.
 */
import type { DurableGroup } from '../../core/witness/types';

export interface StoreContents {
  /** Fixed when the store is created (wall clock in 10 ms units, see src/core/epoch.ts). */
  readonly generation: bigint;
  readonly records: readonly DurableGroup[];
}

export interface WitnessStore {
  /**
   * Loads the store, creating an empty one with a new generation when there is none. A torn or
   * corrupt store is a StoreCorruptError naming the file, never a silent reset.
   */
  open(): Promise<StoreContents>;
  /** Resolves only once the record is durable (fsync'd). Puts for one group land in call order. */
  put(record: DurableGroup): Promise<void>;
  /** Waits for puts in flight, then releases the store. */
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
