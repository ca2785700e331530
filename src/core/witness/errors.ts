/**
 * Requests the witness cannot act on. Typed here, mapped to gRPC status codes in one place at the
 * edge (src/wire/status-mapping.ts). `field` names the request field at fault.
 */
export type ArbitrationErrorKind = 'invalid-argument' | 'not-found' | 'failed-precondition' | 'resource-exhausted';

export class ArbitrationError extends Error {
  constructor(
    readonly kind: ArbitrationErrorKind,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ArbitrationError';
  }
}
