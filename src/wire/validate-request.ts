/**
 * Checks a request's fields before anything is decided. Every failure names the field (as it is
 * spelled in the .proto) and what is accepted; nothing has changed when one is thrown.
 */
import { MAX_EPOCH } from '../core/epoch';
import { ID_PATTERN, ID_RULE } from '../core/ids';
import type { NodeRole } from '../core/witness/types';
import { fromWireRole } from './enum-mappings';
import { invalid, WireError } from './wire-error';

/** Shorter leases cannot be renewed reliably over a real network; longer ones block failover. */
export const MIN_REQUEST_LEASE_MS = 50;
export const MAX_REQUEST_LEASE_MS = 600_000;

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
 * The format and range of an epoch. How far ahead of the store an epoch may be is the Arbiter's
 * to judge, from what the store knows: never from a wall clock, which may be wrong by days.
 */
export function requireEpoch(field: string, value: string): bigint {
  if (value === '0') return 0n; // the common case: a node that holds nothing
  // proto-loader hands uint64 over as a decimal string; anything else is a broken client.
  if (!/^[0-9]{1,20}$/.test(value)) throw invalid(field, 'must be an unsigned integer');
  const epoch = BigInt(value);
  if (epoch > MAX_EPOCH) throw invalid(field, `must be at most ${MAX_EPOCH}`);
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
  return fromWireRole(field, value);
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL; the strict deserializers catch the
 * decoding error and hand over this marker instead, so the handler answers INVALID_ARGUMENT.
 */
export const MALFORMED = Symbol('malformed request');
/** The same for a request above the size limit: answered RESOURCE_EXHAUSTED. */
export const OVERSIZED = Symbol('oversized request');
export type MalformedRequest = { readonly [MALFORMED]: string } | { readonly [OVERSIZED]: string };

export function requireWellFormed<T extends object>(request: T | MalformedRequest): T {
  if (MALFORMED in request) throw invalid('request', `could not be decoded: ${request[MALFORMED]}`);
  if (OVERSIZED in request)
    throw new WireError('resource-exhausted', 'request', `request: too large: ${request[OVERSIZED]}`);
  return request;
}
