/**
 * The tests' one timeline, shared by every process on the machine: CLOCK_MONOTONIC in ms, the
 * sidecar's own clock. Not `performance.timeOrigin + performance.now()`: `timeOrigin` is the wall
 * clock at the moment each process started, so two processes disagree by however far the wall
 * clock was stepped or slewed between their starts (a CI machine drifted ~0.5 s within one run,
 * which moved every cross-process measurement by that much). Only differences mean anything.
 */
import { monotonicNowMs } from '../../src/sidecar/monotonic-clock';

export function timeline(): number {
  return monotonicNowMs();
}

/** A wall-clock time (a pino line's `time`) placed on the timeline, as of now. */
export function wallToTimeline(wallMs: number): number {
  return wallMs - Date.now() + monotonicNowMs();
}
