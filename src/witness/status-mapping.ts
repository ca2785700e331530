/** The one place where errors become gRPC statuses. */
import * as grpc from '@grpc/grpc-js';
import { ArbitrationError, type ArbitrationErrorKind } from '../core/witness/errors';
import { LockLostError } from './store/data-dir-lock';
import { StorePreconditionError, StoreUnconfirmedError, StoreWriteError } from './store/witness-store';

const CODE_OF: Record<ArbitrationErrorKind, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  'not-found': grpc.status.NOT_FOUND,
  'failed-precondition': grpc.status.FAILED_PRECONDITION,
  'resource-exhausted': grpc.status.RESOURCE_EXHAUSTED,
};

export function toServiceError(error: unknown): Partial<grpc.ServiceError> {
  if (error instanceof ArbitrationError) return { code: CODE_OF[error.kind], details: error.message };
  // A lost compare-and-set (the arbitration service wraps every failed put in a StoreWriteError): the
  // group's record changed under the decision, which was rolled back and not answered.
  const refused = error instanceof StoreWriteError ? error.cause : error;
  if (refused instanceof StorePreconditionError) return { code: grpc.status.ABORTED, details: refused.message };
  // The decision was not made durable, so it was not answered: the caller may retry.
  if (error instanceof StoreWriteError || error instanceof LockLostError || error instanceof StoreUnconfirmedError)
    return { code: grpc.status.UNAVAILABLE, details: error.message };
  return { code: grpc.status.INTERNAL, details: 'internal error; see the witness log' };
}
