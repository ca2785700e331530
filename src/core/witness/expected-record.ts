/**
 * The precondition of a durable write (types.ts, ExpectedRecord), checked the same way by every
 * store: the file store, the simulator's, and an etcd store to come.
 */
import type { DurableGroup, ExpectedRecord } from './types';

/** What a store holds for a group, in the shape a write expects; `undefined` is no record. */
export function asExpected(stored: DurableGroup | undefined): ExpectedRecord {
  return stored === undefined ? 'absent' : { holder: stored.holder, epoch: stored.epoch };
}

export function holdsExpected(expected: ExpectedRecord, stored: DurableGroup | undefined): boolean {
  if (expected === 'absent' || stored === undefined) return expected === 'absent' && stored === undefined;
  return stored.holder === expected.holder && stored.epoch === expected.epoch;
}

export function describeExpected(record: ExpectedRecord): string {
  if (record === 'absent') return 'no record';
  return `${record.holder === '' ? 'nobody' : `holder ${record.holder}`} at epoch ${record.epoch}`;
}
