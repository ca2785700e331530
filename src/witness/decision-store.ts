/**
 * What the arbitration service needs of a store, with callbacks rather than promises: the
 * simulator settles writes on its virtual clock, synchronously, and the witness process adapts
 * its file store (or any WitnessStore) with `durableStore`.
 */
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

export function durableStore(store: WitnessStore): DecisionStore {
  return {
    mayDecide: (now) => store.mayDecide(now),
    write: (decision, done) => {
      writeDecision(store, decision).then(
        () => done(undefined),
        (error: unknown) => done(error ?? new Error('store write failed')),
      );
    },
    forget: (group, done) => {
      store.forget(group).then(
        () => done(undefined),
        (error: unknown) => done(error ?? new Error('store forget failed')),
      );
    },
  };
}

async function writeDecision(store: WitnessStore, decision: Decision): Promise<void> {
  // The generation first: a record durable under an epoch past it would be a repeat after a
  // restart that lost that record.
  if (decision.generation !== undefined) await store.raiseGeneration(decision.generation);
  await store.put(decision.persist as NonNullable<Decision['persist']>);
}
