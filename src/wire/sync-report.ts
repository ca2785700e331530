/**
 * witness.v1.SyncReport and SyncRun both ways (design §21.1): the sidecar writes them into its
 * heartbeats, the witness reads them back, validating every field and naming the one that fails.
 */
import type { SyncReport, SyncRun } from '../core/witness/types';
import type { SyncReport as WireSyncReport, SyncReport__Output } from '../gen/witness/v1/SyncReport';
import type { SyncRun as WireSyncRun, SyncRun__Output } from '../gen/witness/v1/SyncRun';
import { requireEpoch } from './validate-request';
import { invalid } from './wire-error';

/** The most of a run's output a report carries (bytes of UTF-8). */
export const MAX_OUTPUT_TAIL_BYTES = 2048;
/** A sync age beyond this (about 285 years) is not a clock but a broken client. */
const MAX_AGE_MS = 2 ** 53 - 1;
const MAX_ERROR_CHARS = 512;

export function toWireSyncRun(run: SyncRun): WireSyncRun {
  return {
    requestId: run.requestId.toString(),
    ok: run.ok,
    exitCode: run.exitCode,
    durationMs: Math.min(Math.round(run.durationMs), 0xffffffff),
    outputTail: run.outputTail,
    error: run.error,
  };
}

export function toWireSyncReport(report: SyncReport): WireSyncReport {
  return {
    synced: report.synced,
    ageMs: (report.synced ? Math.round(report.ageMs) : 0).toString(),
    ...(report.lastRun === undefined ? {} : { lastRun: toWireSyncRun(report.lastRun) }),
  };
}

/** `field` is where the report sits in its message, e.g. "sync". */
export function fromWireSyncReport(field: string, wire: SyncReport__Output): SyncReport {
  if (!/^[0-9]{1,16}$/.test(wire.ageMs) || Number(wire.ageMs) > MAX_AGE_MS)
    throw invalid(`${field}.age_ms`, `must be an unsigned integer of at most ${MAX_AGE_MS}`);
  return {
    synced: wire.synced,
    ageMs: wire.synced ? Number(wire.ageMs) : 0,
    lastRun: wire.lastRun === null ? undefined : fromWireSyncRun(`${field}.last_run`, wire.lastRun),
  };
}

export function fromWireSyncRun(field: string, wire: SyncRun__Output): SyncRun {
  if (Buffer.byteLength(wire.outputTail, 'utf8') > MAX_OUTPUT_TAIL_BYTES)
    throw invalid(`${field}.output_tail`, `must be at most ${MAX_OUTPUT_TAIL_BYTES} bytes`);
  if (wire.error.length > MAX_ERROR_CHARS)
    throw invalid(`${field}.error`, `must be at most ${MAX_ERROR_CHARS} characters`);
  return {
    requestId: requireEpoch(`${field}.request_id`, wire.requestId),
    ok: wire.ok,
    exitCode: wire.exitCode,
    durationMs: wire.durationMs,
    outputTail: wire.outputTail,
    error: wire.error,
  };
}
