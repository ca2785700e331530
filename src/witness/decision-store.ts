/**
 * What the arbitration service needs of a store, with callbacks rather than promises: the
 * simulator settles writes on its virtual clock, synchronously, and the witness process adapts
 * its file store (or any WitnessStore) with `durableStore`.
 */
import { performance } from 'node:perf_hooks';
import type { Decision } from '../core/witness/types';
import type { WitnessStore } from './store/witness-store';

/** `error` is undefined when the operation succeeded. */
export type Settled = (error: unknown) => void;

export interface DecisionStore {
  /** False once the store cannot vouch that this witness alone writes it (its lock unconfirmed). */
  mayDecide(now: number): boolean;
  /** Makes a decision durable: the generation first, then the group's record. */
  write(decision: Decision, done: Settled): void;
  forget(group: string, done: Settled): void;
}

/** `written`: told of each write's start (performance.now()) and result, for its latency. */
export type WriteTiming = (startedAt: number, ok: boolean) => void;

export function durableStore(store: WitnessStore, written: WriteTiming = () => undefined): DecisionStore {
  const settle = (write: () => Promise<void>, done: Settled, what: string): void => {
    const startedAt = performance.now();
    write().then(
      () => {
        written(startedAt, true);
        done(undefined);
      },
      (error: unknown) => {
        written(startedAt, false);
        done(error ?? new Error(`store ${what} failed`));
      },
    );
  };
  return {
    mayDecide: (now) => store.mayDecide(now),
    write: (decision, done) => settle(() => writeDecision(store, decision), done, 'write'),
    forget: (group, done) => settle(() => store.forget(group), done, 'forget'),
  };
}

async function writeDecision(store: WitnessStore, decision: Decision): Promise<void> {
  // The generation first: a record durable under an epoch past it would be a repeat after a
  // restart that lost that record.
  if (decision.generation !== undefined) await store.raiseGeneration(decision.generation);
  await store.put(decision.persist as NonNullable<Decision['persist']>);
}
