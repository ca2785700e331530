/**
 * Evidence of a chaos run: every chaos action, workload start and stop, sidecar decision and
 * witness event on one timeline, to read what led to a violation.
 */
import type { Cluster, LogLine } from '../support/cluster';
import type { RunInterval } from '../support/run-intervals';
import { wallToTimeline } from '../support/timeline';
import type { ActionRecord } from './fault-driver';

/**
 * A log line's moment on the tests' timeline (its wall-clock `time` placed as of now: the wall
 * clock's drift over one run is far below what the evidence is read for); NaN when it has none.
 */
export function lineTime(l: LogLine): number {
  return typeof l.time === 'number' ? wallToTimeline(l.time) : NaN;
}

export interface MergedEvent {
  t: number;
  text: string;
}

const SIDECAR_MSGS = new Set([
  'start',
  'stop',
  'acquire',
  'release',
  'workload running',
  'workload stopped',
  'workload exited by itself',
  'watchdog started',
  'watchdog exited',
]);

/** Every chaos action, workload start/stop, sidecar decision and witness event on one timeline. */
export function mergedTimeline(
  c: Cluster,
  intervals: readonly RunInterval[],
  actions: readonly ActionRecord[],
): MergedEvent[] {
  const events: MergedEvent[] = [];
  for (const a of actions) {
    events.push({ t: a.t, text: `CHAOS   #${a.fault} ${a.phase}: ${a.text}${a.error ? ` FAILED: ${a.error}` : ''}` });
  }
  for (const iv of intervals) {
    events.push({ t: iv.start, text: `WORKLOAD ${iv.node} pid ${iv.pid} epoch ${iv.epoch} START` });
    events.push({
      t: iv.end,
      text: `WORKLOAD ${iv.node} pid ${iv.pid} epoch ${iv.epoch} END (${iv.endedBy}, ${iv.ticks} ticks)`,
    });
  }
  for (const node of ['a', 'b'] as const) {
    for (const l of c.logs(node)) {
      if (typeof l.msg !== 'string') continue;
      // 'workload running'/'workload stopped' are logged twice (supervisor, runtime): keep the one with the epoch.
      if (SIDECAR_MSGS.has(l.msg) && !(l.msg.startsWith('workload ') && l.epoch === undefined)) {
        events.push({
          t: lineTime(l),
          text: `sidecar ${node}: ${l.msg} epoch ${String(l.epoch ?? '-')}${l.why ? ` (${l.why})` : ''}`,
        });
      } else if ('failoverBoundMs' in l) {
        events.push({ t: lineTime(l), text: `sidecar ${node}: started (pid ${String(l.pid)})` });
      }
    }
  }
  for (const l of c.logs('witness')) {
    if (typeof l.event === 'string') {
      events.push({
        t: lineTime(l),
        text: `witness: ${l.event} node ${String(l.node)} epoch ${String(l.epoch)} holder ${String(l.holder)} (${String(l.rule)})`,
      });
    } else if (l.msg === 'witness listening') {
      events.push({ t: lineTime(l), text: `witness: listening (pid ${String(l.pid)})` });
    }
  }
  return events.filter((e) => Number.isFinite(e.t)).sort((x, y) => x.t - y.t);
}

export function formatMerged(
  events: readonly MergedEvent[],
  t0: number,
  from = -Infinity,
  to = Infinity,
  maxLines = Infinity,
): string {
  const rows = events
    .filter((e) => e.t >= from && e.t <= to)
    .map((e) => `  +${((e.t - t0) / 1000).toFixed(3).padStart(8)} s  ${e.text}`);
  if (rows.length <= maxLines) return rows.join('\n');
  const head = Math.floor(maxLines / 2);
  return [
    ...rows.slice(0, head),
    `  ... ${rows.length - maxLines} line(s) left out (see chaos-timeline.txt) ...`,
    ...rows.slice(rows.length - (maxLines - head)),
  ].join('\n');
}
