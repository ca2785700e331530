/**
 * What a chaos run's run log says about availability: each change of the running workload (a
 * takeover, a hand-back, a restart on the same node), why the previous run ended, and the gaps
 * with nothing running.
 */
import type { Cluster, NodeName } from '../support/cluster';
import type { RunInterval } from '../support/run-intervals';
import type { ActionRecord } from './fault-driver';
import { lineTime } from './merged-timeline';

export interface Failover {
  from: NodeName | string;
  to: NodeName | string;
  fromEpoch: string | null;
  toEpoch: string | null;
  /** 'takeover': the other node took over; 'hand-back': a coordinated fail-back; 'restart': the same node ran again. */
  kind: 'takeover' | 'hand-back' | 'restart';
  /** Why the previous run ended (its sidecar's stop decision, or what the run log shows). */
  endCause: string;
  /** No workload ran for this long: previous run's end -> this run's start. */
  gapMs: number;
  /** The latest chaos action at or before the previous run's end -> this run's start. */
  sinceFaultMs: number | null;
  sinceFault: string | null;
  /** ms after the schedule start. */
  atMs: number;
}

export interface Stat {
  n: number;
  p50: number | null;
  max: number | null;
}

export function stat(values: readonly number[]): Stat {
  if (values.length === 0) return { n: 0, p50: null, max: null };
  const sorted = [...values].sort((x, y) => x - y);
  const p50 = sorted[Math.max(0, Math.ceil(0.5 * sorted.length) - 1)]!;
  return { n: sorted.length, p50, max: sorted[sorted.length - 1]! };
}

export function analyseFailovers(
  c: Cluster,
  intervals: readonly RunInterval[],
  actions: readonly ActionRecord[],
  scheduleT0: number,
): Failover[] {
  const sorted = [...intervals].sort((x, y) => x.start - y.start || x.pid - y.pid);
  const stops = { a: c.logged('a', 'stop'), b: c.logged('b', 'stop') };
  const out: Failover[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    const nodeStops = prev.node === 'a' || prev.node === 'b' ? stops[prev.node] : [];
    const stop = nodeStops.filter((l) => l.epoch === prev.epoch && lineTime(l) <= prev.end + 50).pop();
    let endCause: string;
    if (stop !== undefined) endCause = `stop: ${stop.why ?? '?'}`;
    else if (prev.endedBy === 'stop')
      endCause =
        'stopped without a stop decision of its sidecar (watchdog: sidecar killed or frozen, or the workload exited)';
    else endCause = 'killed (no stop line)';
    const handBack = stop !== undefined && /fail-back/.test(stop.why ?? '');
    const kind: Failover['kind'] = prev.node === cur.node ? 'restart' : handBack ? 'hand-back' : 'takeover';
    const before = actions.filter((a) => a.t <= prev.end).pop();
    out.push({
      from: prev.node ?? '?',
      to: cur.node ?? '?',
      fromEpoch: prev.epoch,
      toEpoch: cur.epoch,
      kind,
      endCause,
      gapMs: cur.start - prev.end,
      sinceFaultMs: before === undefined ? null : cur.start - before.t,
      sinceFault: before === undefined ? null : `#${before.fault} ${before.text}`,
      atMs: cur.start - scheduleT0,
    });
  }
  return out;
}

export interface Outages {
  /** Longest time with no workload running in the window (ms) and when it began (ms after its start). */
  longestOutageMs: number;
  longestOutageAtMs: number | null;
  /** Share of the window with a workload running. */
  availability: number;
}

/** Stretches with no workload running within [windowStart, windowStart + windowMs] (timeline ms). */
export function measureOutages(intervals: readonly RunInterval[], windowStart: number, windowMs: number): Outages {
  const result: Outages = { longestOutageMs: 0, longestOutageAtMs: null, availability: 0 };
  const windowEnd = windowStart + windowMs;
  let covered = windowStart;
  let up = 0;
  for (const iv of [...intervals].sort((x, y) => x.start - y.start)) {
    const s = Math.max(iv.start, windowStart);
    const e = Math.min(iv.end, windowEnd);
    if (e <= s) continue;
    if (s > covered && s - covered > result.longestOutageMs) {
      result.longestOutageMs = s - covered;
      result.longestOutageAtMs = covered - windowStart;
    }
    up += Math.max(0, e - Math.max(s, covered));
    covered = Math.max(covered, e);
  }
  if (windowEnd - covered > result.longestOutageMs) {
    result.longestOutageMs = windowEnd - covered;
    result.longestOutageAtMs = covered - windowStart;
  }
  result.availability = windowMs > 0 ? up / windowMs : 0;
  return result;
}
