/**
 * The S1 checker: parses the workload log into run intervals and finds overlaps.
 *
 * Log format (written by test/support/workload.ts): one JSON object per line, appended with a
 * single write per line so lines of concurrent processes never interleave mid-line:
 *
 *   {"node":"a","pid":123,"epoch":"42","event":"start","t":5304021.123,"group":"g","tickMs":20}
 *   {"node":"a","pid":123,"epoch":"42","event":"tick","t":...}          every ~tickMs
 *   {"node":"a","pid":123,"epoch":"42","event":"signal","t":...,"signal":"SIGTERM","ignored":true}
 *   {"node":"a","pid":123,"epoch":"42","event":"stop","t":...,"signal":"SIGTERM"}
 *
 * `node`, `epoch`, `group` come from WITNESS_NODE, WITNESS_EPOCH, WITNESS_GROUP (null if unset).
 * `t` is the tests' timeline (test/support/timeline.ts: CLOCK_MONOTONIC in ms), which every process
 * on one machine shares. Events other than start/tick/stop are informational and ignored here.
 *
 * Interval rule: an interval runs from its start line to its stop line; a process without a stop
 * line (SIGKILLed, or still running when the log is read) is taken to have run until its last tick
 * (or its start, if it never ticked) plus the tick period: conservative, since it may have run
 * until just before the next tick. Intervals that merely touch (a.end === b.start) do not overlap.
 */
import fs from 'node:fs';

export const DEFAULT_TICK_MS = 20;

export type WorkloadEvent = 'start' | 'tick' | 'stop' | 'signal';

export interface WorkloadLogLine {
  node: string | null;
  pid: number;
  epoch: string | null;
  event: WorkloadEvent | string;
  t: number;
  group?: string | null;
  tickMs?: number;
  signal?: string;
  ignored?: boolean;
}

export interface RunInterval {
  node: string | null;
  pid: number;
  epoch: string | null;
  group: string | null;
  /** ms on the tests' timeline (test/support/timeline.ts). */
  start: number;
  end: number;
  /** 'stop': ended by its stop line; 'last-tick': no stop line, end = last tick (or start) + tickMs. */
  endedBy: 'stop' | 'last-tick';
  ticks: number;
  lastTick: number | null;
  tickMs: number;
  /** The longest time between two of its lines (start, ticks): how long it was not seen to run. */
  maxGapMs: number;
}

export interface Overlap {
  a: RunInterval;
  b: RunInterval;
  /** The overlapping span [from, to) on the shared timeline, and its length. */
  from: number;
  to: number;
  overlapMs: number;
}

export interface ParseOptions {
  /** Tick period for the last-tick rule; default: the start line's tickMs, else DEFAULT_TICK_MS. */
  tickMs?: number;
}

export interface ReadOptions extends ParseOptions {
  /** Return [] for a missing log file instead of throwing (no workload ever started). */
  allowMissing?: boolean;
}

interface Open {
  line: WorkloadLogLine;
  ticks: number;
  lastTick: number | null;
  tickMs: number;
  maxGapMs: number;
}

function parseLine(raw: string, lineNo: number, source: string): WorkloadLogLine {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${source}:${lineNo}: not JSON: ${raw.slice(0, 200)}`);
  }
  const v = value as Partial<WorkloadLogLine> | null;
  if (
    !v ||
    typeof v !== 'object' ||
    typeof v.pid !== 'number' ||
    typeof v.event !== 'string' ||
    typeof v.t !== 'number' ||
    !Number.isFinite(v.t)
  ) {
    throw new Error(`${source}:${lineNo}: not a workload log line: ${raw.slice(0, 200)}`);
  }
  return {
    ...v,
    node: typeof v.node === 'string' ? v.node : null,
    epoch: typeof v.epoch === 'string' ? v.epoch : v.epoch == null ? null : String(v.epoch),
    pid: v.pid,
    event: v.event,
    t: v.t,
  };
}

function close(open: Open, end: number, endedBy: RunInterval['endedBy']): RunInterval {
  const { line } = open;
  return {
    node: line.node,
    pid: line.pid,
    epoch: line.epoch,
    group: line.group ?? null,
    start: line.t,
    end,
    endedBy,
    ticks: open.ticks,
    lastTick: open.lastTick,
    tickMs: open.tickMs,
    maxGapMs: open.maxGapMs,
  };
}

function closeUnstopped(open: Open): RunInterval {
  return close(open, (open.lastTick ?? open.line.t) + open.tickMs, 'last-tick');
}

/**
 * Parses log text into intervals sorted by start. Throws on a malformed line, except a final line
 * without a newline (a write cut short), which is ignored. A tick or stop for a pid without an
 * open interval is an error: the checker does not guess.
 */
export function parseIntervals(text: string, options: ParseOptions = {}, source = 'log'): RunInterval[] {
  const lines = text.split('\n');
  const lastComplete = text.endsWith('\n') ? lines.length - 1 : lines.length - 2;
  const open = new Map<number, Open>();
  const done: RunInterval[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '') continue;
    let line: WorkloadLogLine;
    try {
      line = parseLine(raw, i + 1, source);
    } catch (err) {
      if (i > lastComplete) break; // torn final line
      throw err;
    }
    const current = open.get(line.pid);
    switch (line.event) {
      case 'start': {
        // The pid started again (reuse): the earlier process ended without a stop line.
        if (current) done.push(closeUnstopped(current));
        const tickMs = options.tickMs ?? (typeof line.tickMs === 'number' ? line.tickMs : DEFAULT_TICK_MS);
        open.set(line.pid, { line, ticks: 0, lastTick: null, tickMs, maxGapMs: 0 });
        break;
      }
      case 'tick':
        if (!current) throw new Error(`${source}:${i + 1}: tick for pid ${line.pid} without a start`);
        current.ticks += 1;
        current.maxGapMs = Math.max(current.maxGapMs, line.t - (current.lastTick ?? current.line.t));
        current.lastTick = Math.max(current.lastTick ?? line.t, line.t);
        break;
      case 'stop':
        if (!current) throw new Error(`${source}:${i + 1}: stop for pid ${line.pid} without a start`);
        done.push(close(current, line.t, 'stop'));
        open.delete(line.pid);
        break;
      default:
        break; // informational
    }
  }
  for (const current of open.values()) done.push(closeUnstopped(current));
  return done.sort((x, y) => x.start - y.start || x.pid - y.pid);
}

/** Reads and parses a workload log file (see parseIntervals). */
export function readIntervals(logPath: string, options: ReadOptions = {}): RunInterval[] {
  let text: string;
  try {
    text = fs.readFileSync(logPath, 'utf8');
  } catch (err) {
    if (options.allowMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseIntervals(text, options, logPath);
}

/**
 * Every pair of intervals that overlap in time, with the overlap in ms, sorted by overlap start.
 * Only intervals of the same group are compared (S1 is per group) unless `acrossGroups` is set.
 */
export function findOverlaps(intervals: readonly RunInterval[], options: { acrossGroups?: boolean } = {}): Overlap[] {
  const sorted = [...intervals].sort((x, y) => x.start - y.start || x.pid - y.pid);
  const found: Overlap[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      if (b.start >= a.end) break; // sorted by start: no later interval can overlap a
      if (!options.acrossGroups && (a.group ?? null) !== (b.group ?? null)) continue;
      const from = Math.max(a.start, b.start);
      const to = Math.min(a.end, b.end);
      if (to > from) found.push({ a, b, from, to, overlapMs: to - from });
    }
  }
  return found.sort((x, y) => x.from - y.from);
}

function label(iv: RunInterval): string {
  const group = iv.group === null ? '' : ` group=${iv.group}`;
  return `node=${iv.node ?? '?'} pid=${iv.pid} epoch=${iv.epoch ?? '?'}${group}`;
}

function ms(n: number): string {
  return n.toFixed(1);
}

/**
 * A human-readable timeline for failure messages: one row per interval, times relative to the
 * earliest start, and a bar chart `width` characters wide.
 */
export function formatTimeline(intervals: readonly RunInterval[], options: { width?: number } = {}): string {
  if (intervals.length === 0) return 'timeline: no run intervals';
  const width = Math.max(10, options.width ?? 60);
  const sorted = [...intervals].sort((x, y) => x.start - y.start || x.pid - y.pid);
  const t0 = Math.min(...sorted.map((iv) => iv.start));
  const t1 = Math.max(...sorted.map((iv) => iv.end));
  const span = Math.max(t1 - t0, 1);
  const labels = sorted.map(label);
  const pad = Math.max(...labels.map((l) => l.length));
  const rows = sorted.map((iv, k) => {
    const from = Math.floor(((iv.start - t0) / span) * width);
    const to = Math.max(from + 1, Math.ceil(((iv.end - t0) / span) * width));
    const bar = ' '.repeat(from) + '#'.repeat(Math.min(to, width) - from);
    const times = `+${ms(iv.start - t0)} .. +${ms(iv.end - t0)} ms (${ms(iv.end - iv.start)} ms, ${iv.endedBy}, ${iv.ticks} ticks)`;
    return `  ${labels[k]!.padEnd(pad)} |${bar.padEnd(width)}| ${times}`;
  });
  const head = `timeline: ${sorted.length} interval(s) over ${ms(t1 - t0)} ms from t0=${new Date(t0).toISOString()}`;
  return [head, ...rows].join('\n');
}

/** Describes overlaps (times relative to the earliest start of the intervals involved). */
export function formatOverlaps(overlaps: readonly Overlap[]): string {
  if (overlaps.length === 0) return 'no overlaps';
  const t0 = Math.min(...overlaps.flatMap((o) => [o.a.start, o.b.start]));
  return overlaps
    .map(
      (o) => `OVERLAP ${ms(o.overlapMs)} ms [+${ms(o.from - t0)}, +${ms(o.to - t0)}): ${label(o.a)}  &  ${label(o.b)}`,
    )
    .join('\n');
}

/** Throws an Error listing the overlaps and the timeline if any two intervals overlap (S1). */
export function assertNoOverlaps(intervals: readonly RunInterval[], options: { acrossGroups?: boolean } = {}): void {
  const overlaps = findOverlaps(intervals, options);
  if (overlaps.length > 0) {
    throw new Error(
      `S1 violated: two workloads ran at once\n${formatOverlaps(overlaps)}\n${formatTimeline(intervals)}`,
    );
  }
}
