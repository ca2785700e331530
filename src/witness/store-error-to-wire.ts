/** The store's typed errors in the wire's words, for the service edge (src/wire/service-edge.ts). */
import { WireError } from '../wire/wire-error';
import { LockLostError } from './store/data-dir-lock';
import { StoreUnconfirmedError, StoreWriteError } from './store/witness-store';

export function storeErrorToWire(error: unknown): WireError | undefined {
  // The decision was not made durable, so it was not answered: the caller may retry.
  if (error instanceof StoreWriteError || error instanceof LockLostError || error instanceof StoreUnconfirmedError) {
    return new WireError('unavailable', '', error.message);
  }
  return undefined;
}
