/** The store's typed errors in the wire's words, for the service edge (src/wire/service-edge.ts). */
import { notLeading } from '../wire/undecided-refusal';
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
  // Refused before deciding: like a replica that does not lead, this one cannot say who leads,
  // and the trailer tells the caller nothing was decided (design §8.4).
  if (error instanceof StoreUnconfirmedError) {
    return notLeading(error.message, '');
  }
  // The decision was not made durable, so it was not answered: the caller may retry. A write whose
  // outcome is unknown may still have landed, so no trailer.
  if (error instanceof StoreWriteError || error instanceof StoreHoldLostError) {
    return new WireError('unavailable', '', error.message);
  }
  return undefined;
}
