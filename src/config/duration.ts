/**
 * Durations in configuration: `200ms`, `1s`, `1.5s`, `2m`, `24h`, or plain milliseconds (`250` or 250).
 * Every duration is a whole number of milliseconds; nothing else is accepted, so a typo such as
 * `1h30` or `-1s` is an error at start instead of a surprise at failover time.
 */
import convict from 'convict';

/** What a duration may look like, for error messages and help. */
export const DURATION_FORMS = 'a duration like 200ms, 1s or plain milliseconds';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;

function invalid(value: unknown): Error {
  return new Error(
    `invalid duration ${JSON.stringify(value)}: expected a non-negative number with unit ms, s, m or h ` +
      `(200ms, 1s, 1.5s, 2m, 24h) or plain milliseconds (250), in whole milliseconds`,
  );
}

/** Milliseconds, from `200ms`, `1s`, `1.5s`, `2m`, `250` or 250. Throws on anything else. */
export function parseDuration(value: string | number): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (!match) throw invalid(value);
    const unit = (match[2] ?? 'ms') as keyof typeof UNIT_MS;
    ms = Number(match[1]) * UNIT_MS[unit];
  } else {
    throw invalid(value);
  }
  if (!Number.isFinite(ms) || ms < 0) throw invalid(value);
  // `1.1s` is 1100.0000000000002 in floating point: round, but refuse real sub-millisecond parts.
  const whole = Math.round(ms);
  if (Math.abs(whole - ms) > 1e-6 || !Number.isSafeInteger(whole)) throw invalid(value);
  return whole;
}

/** The shortest of `2m`, `1.5s`, `200ms` that parses back to `ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot format duration ${ms}`);
  if (ms >= UNIT_MS.h && ms % UNIT_MS.h === 0) return `${ms / UNIT_MS.h}h`;
  if (ms >= UNIT_MS.m && ms % UNIT_MS.m === 0) return `${ms / UNIT_MS.m}m`;
  if (ms >= UNIT_MS.s) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}

/** Optional bounds on a `duration` schema entry, each a duration (`'50ms'`) or milliseconds. */
export interface DurationBounds {
  readonly min?: string | number;
  readonly max?: string | number;
}

/** `must be a duration like ..., between 50ms and 10m`: what a `duration` entry accepts. */
export function describeDuration(bounds: DurationBounds = {}): string {
  const min = bounds.min === undefined ? undefined : formatDuration(parseDuration(bounds.min));
  const max = bounds.max === undefined ? undefined : formatDuration(parseDuration(bounds.max));
  const range =
    min !== undefined && max !== undefined
      ? `, between ${min} and ${max}`
      : min !== undefined
        ? `, at least ${min}`
        : max !== undefined
          ? `, at most ${max}`
          : '';
  return `must be ${DURATION_FORMS}${range}`;
}

/**
 * Registers convict's `duration` format (idempotent). Schema entries may add `min` and `max`
 * (durations) next to `format: 'duration'`; the value is stored as milliseconds.
 */
export function registerDurationFormat(): void {
  convict.addFormat({
    name: 'duration',
    // convict coerces outside validate(), where a throw would lose the key's name: leave a value
    // that does not parse as it is, and let validate() reject it with the key attached.
    coerce: (value: unknown): unknown => {
      try {
        return parseDuration(value as string);
      } catch {
        return value;
      }
    },
    validate: (value: unknown, schema: convict.SchemaObj & DurationBounds): void => {
      const problem = new Error(describeDuration(schema));
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw problem;
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch {
        throw problem;
      }
      if (schema.min !== undefined && ms < parseDuration(schema.min)) throw problem;
      if (schema.max !== undefined && ms > parseDuration(schema.max)) throw problem;
    },
  });
}
