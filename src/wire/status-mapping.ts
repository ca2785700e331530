/** The one place where typed errors become gRPC statuses, for the witness and the sidecar alike. */
import * as grpc from '@grpc/grpc-js';
import { ArbitrationError } from '../core/witness/errors';
import { WireError, type WireErrorKind } from './wire-error';

// Indexed by the core's kinds too: a kind the core adds does not compile here until it has a code.
const CODE_OF: Record<WireErrorKind, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  'not-found': grpc.status.NOT_FOUND,
  'failed-precondition': grpc.status.FAILED_PRECONDITION,
  'resource-exhausted': grpc.status.RESOURCE_EXHAUSTED,
  'out-of-range': grpc.status.OUT_OF_RANGE,
  unavailable: grpc.status.UNAVAILABLE,
  aborted: grpc.status.ABORTED,
  'deadline-exceeded': grpc.status.DEADLINE_EXCEEDED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  'permission-denied': grpc.status.PERMISSION_DENIED,
};

/** The status `error` is answered with, or undefined when it is no typed error (then it is a bug). */
export function typedErrorStatus(error: unknown): Partial<grpc.ServiceError> | undefined {
  if (error instanceof ArbitrationError) return { code: CODE_OF[error.kind], details: error.message };
  if (error instanceof WireError) return wireErrorStatus(error);
  return undefined;
}

/** A WireError's status, its trailers included. */
export function wireErrorStatus(error: WireError): { code: grpc.status; details: string; metadata?: grpc.Metadata } {
  const status = { code: CODE_OF[error.kind], details: error.message };
  if (error.trailers === undefined) return status;
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(error.trailers)) metadata.set(key, value);
  return { ...status, metadata };
}
