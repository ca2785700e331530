/**
 * What the simulated witness processes keep on disk: one store's contents, shared by the witness
 * replicas over etcd or owned by the one witness.
 */
import type { DurableGroup } from '../core/witness/types';

/**
 * The wall clock at the start of every schedule (only the witness reads it, to pick generations).
 * It moves forward but at restarts that keep the store, which may find it stepped back (witness-node.ts).
 */
export const WALL0_MS = 1_750_000_000_000;

export interface StoreContents {
  /** False until the first start creates it. */
  created: boolean;
  generation: bigint;
  records: Map<string, DurableGroup>;
  /** Real time at which the last queued write becomes durable (writes land in call order). */
  tail: number;
  /** The longest lease any open of this store configured (the real store's meta keeps it). */
  longestLeaseMs: number;
}

/** The store the witness processes open: its own, or the one witness replicas share over etcd. */
export interface SharedStore {
  contents: StoreContents;
}

/** Whether the record of `group` has `node` in maintenance. */
export function recordsMaintenance(contents: StoreContents, group: string, node: string): boolean {
  return contents.records.get(group)?.maintenance?.includes(node) === true;
}

/** Whether the record of `group` has `node` removed (design §9.7). */
export function recordsRemoval(contents: StoreContents, group: string, node: string): boolean {
  return contents.records.get(group)?.removed?.includes(node) === true;
}

/** Whether the store holds no operator's intent for `group` any more (what endOperatorIntent asks). */
export function operatorIntentEnded(contents: StoreContents, group: string): boolean {
  const record = contents.records.get(group);
  if (record === undefined) return true;
  return (
    (record.maintenance ?? []).length === 0 && (record.removed ?? []).length === 0 && record.failback === undefined
  );
}

export function newStoreContents(gen0: bigint): StoreContents {
  return { created: false, generation: gen0, records: new Map(), tail: 0, longestLeaseMs: 0 };
}
