/** The store's typed errors in the wire's words, for the service edge (src/wire/service-edge.ts). */
import { WireError } from '../wire/wire-error';
import {
  StoreHoldLostError,
  StorePreconditionError,
  StoreUnconfirmedError,
  StoreWriteError,
} from './store/witness-store';

export function storeErrorToWire(error: unknown): WireError | undefined {
  // A lost compare-and-set (the arbitration service wraps every failed put in a StoreWriteError):
  // the group's record changed under the decision, which was rolled back and not answered.
  const refused = error instanceof StoreWriteError ? error.cause : error;
  if (refused instanceof StorePreconditionError) return new WireError('aborted', 'group', refused.message);
  // The decision was not made durable, so it was not answered: the caller may retry.
  if (
    error instanceof StoreWriteError ||
    error instanceof StoreHoldLostError ||
    error instanceof StoreUnconfirmedError
  ) {
    return new WireError('unavailable', '', error.message);
  }
  return undefined;
}
