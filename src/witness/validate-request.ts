/**
 * Checks a request's fields before anything is decided. Every failure names the field (as it is
 * spelled in the .proto) and what is accepted; nothing has changed when one is thrown.
 */
import { epochFloor, generationFromWallClock, MAX_EPOCH } from '../core/epoch';
import { ID_PATTERN, ID_RULE } from '../core/ids';
import { ArbitrationError } from '../core/witness/errors';
import type { NodeRole } from '../core/witness/types';

/** Shorter leases cannot be renewed reliably over a real network; longer ones block failover. */
export const MIN_REQUEST_LEASE_MS = 50;
export const MAX_REQUEST_LEASE_MS = 600_000;

export function invalid(field: string, message: string): ArbitrationError {
  return new ArbitrationError('invalid-argument', field, `${field}: ${message}`);
}

export function requireId(field: string, value: string): string {
  if (value === '') throw invalid(field, 'is required');
  if (!ID_PATTERN.test(value)) {
    throw invalid(field, `must be ${ID_RULE}`);
  }
  return value;
}

/** An id that may be left empty (filters). */
export function optionalId(field: string, value: string): string {
  return value === '' ? '' : requireId(field, value);
}

/**
 * How far ahead of this witness's wall clock an epoch's store generation may be: another witness
 * whose clock ran ahead may have created it. Beyond this, the epoch cannot have been handed out by
 * any store, and accepting it would let one broken client push a group's epochs to their end.
 */
export const FUTURE_GENERATION_SLACK_MS = 24 * 3600 * 1000;

/** The bound moves with the wall clock; recomputing it once a second is plenty (it has a day of slack). */
let bound = { second: -1, newestPossible: 0n };
function newestPossibleEpoch(wallClockMs: number): bigint {
  const second = Math.floor(wallClockMs / 1000);
  if (second !== bound.second) {
    const newestPossible = epochFloor(generationFromWallClock(wallClockMs + FUTURE_GENERATION_SLACK_MS) + 1n);
    bound = { second, newestPossible };
  }
  return bound.newestPossible;
}

export function requireEpoch(field: string, value: string, wallClockMs: number = Date.now()): bigint {
  if (value === '0') return 0n; // the common case: a node that holds nothing
  // proto-loader hands uint64 over as a decimal string; anything else is a broken client.
  if (!/^[0-9]{1,20}$/.test(value)) throw invalid(field, 'must be an unsigned integer');
  const epoch = BigInt(value);
  if (epoch > MAX_EPOCH) throw invalid(field, `must be at most ${MAX_EPOCH}`);
  if (epoch >= newestPossibleEpoch(wallClockMs)) {
    throw invalid(
      field,
      "belongs to a store generation more than a day ahead of this witness's clock: no store handed it out",
    );
  }
  return epoch;
}

export function requireLeaseMs(field: string, value: number): number {
  if (value !== 0 && (value < MIN_REQUEST_LEASE_MS || value > MAX_REQUEST_LEASE_MS)) {
    throw invalid(
      field,
      `must be 0 (the witness's default) or between ${MIN_REQUEST_LEASE_MS} and ${MAX_REQUEST_LEASE_MS}`,
    );
  }
  return value;
}

export function requireRole(field: string, value: string): NodeRole {
  if (value === 'ROLE_PRIMARY') return 'primary';
  if (value === 'ROLE_SECONDARY') return 'secondary';
  throw invalid(field, 'must be ROLE_PRIMARY or ROLE_SECONDARY');
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL; the witness's deserializers catch the
 * decoding error and hand over this marker instead, so the handler answers INVALID_ARGUMENT.
 */
export const MALFORMED = Symbol('malformed request');
export interface MalformedRequest {
  readonly [MALFORMED]: string;
}

export function requireWellFormed<T extends object>(request: T | MalformedRequest): T {
  if (MALFORMED in request) throw invalid('request', `could not be decoded: ${request[MALFORMED]}`);
  return request;
}
