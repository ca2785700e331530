/**
 * A call the witness or a sidecar will not serve, in words neither side owns: the kind decides the
 * gRPC status (src/wire/status-mapping.ts), `field` names the message field at fault ('' when no
 * single field is), and the message is what the caller reads.
 */
export type WireErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'failed-precondition'
  | 'resource-exhausted'
  | 'out-of-range'
  | 'unavailable'
  | 'aborted'
  | 'deadline-exceeded'
  | 'unauthenticated'
  | 'permission-denied';

export class WireError extends Error {
  constructor(
    readonly kind: WireErrorKind,
    readonly field: string,
    message: string,
    /** Sent as the status's trailers (e.g. src/wire/undecided-refusal.ts's), none when undefined. */
    readonly trailers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

/** A field that is missing or malformed; the message starts with the field's .proto name. */
export function invalid(field: string, message: string): WireError {
  return new WireError('invalid-argument', field, `${field}: ${message}`);
}
