/**
 * The sidecar's one clock: milliseconds on the machine's monotonic timeline.
 *
 * `process.hrtime.bigint()` reads CLOCK_MONOTONIC on Linux (libuv's uv_hrtime), whose origin is the
 * same for every process of the machine, so a deadline computed by the sidecar means the same
 * moment in its watchdog, a separate process. Never use `Date.now()` (a wall-clock jump would move
 * every deadline) nor `performance.now()` (its origin is the start of each process).
 *
 * The value is a float with sub-millisecond precision; it only makes sense on the machine that read
 * it, and only as a difference or compared with another value read here.
 */
export function monotonicNowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
