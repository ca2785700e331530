/**
 * Summarises a V8 CPU profile written by `node --cpu-prof` (the benchmarks' --profile DIR):
 *
 *   node dist/test/bench/profile-summary.js FILE.cpuprofile [--top 25] [--after-ms MS] [--before-ms MS] [--json]
 *
 * Prints the share of busy time per area (grpc-js, protobufjs, the witness's src/ files, node
 * internals, GC...), then the functions with the most self time and the most inclusive time.
 * --window LABEL keeps only the samples taken in one measured window of a benchmark run
 * (bench:witness --profile DIR writes DIR/windows.json: label -> [[start, end], ...] on CLOCK_MONOTONIC
 * in µs, the clock V8's profiles use on Linux); `--window list` lists them. --after-ms /
 * --before-ms keep only samples taken that long after the profile started.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseFlags, table, type FlagSpec } from './common';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SPEC: Record<string, FlagSpec> = {
  top: { kind: 'number', default: 25, min: 1, help: 'Functions listed per table.' },
  'after-ms': { kind: 'number', default: 0, help: 'Ignore samples taken before this many ms into the profile.' },
  'before-ms': {
    kind: 'number',
    default: Number.POSITIVE_INFINITY,
    help: 'Ignore samples taken after this many ms into the profile.',
  },
  window: { kind: 'string', help: 'Only the samples of this measured window (from windows.json beside the profile).' },
  json: { kind: 'boolean', help: 'Print JSON.' },
};

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

export function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return '(program: native, not attributed)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  if (url.includes('node_modules/@grpc/grpc-js')) return 'grpc-js';
  if (url.includes('node_modules/@grpc/proto-loader')) return 'proto-loader';
  if (url.includes('node_modules/protobufjs') || url.includes('node_modules/@protobufjs')) return 'protobufjs';
  if (url.includes('node_modules/pino') || url.includes('node_modules/sonic-boom')) return 'pino';
  if (url.includes('node_modules/')) return `other: ${shortUrl(url).split('/')[0] ?? ''}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0] ?? ''}`;
  if (url.includes('/dist/src/')) return `src/${shortUrl(url).split('/').slice(1, -1).join('/')}`;
  if (url.includes('/dist/test/')) return 'test';
  return shortUrl(url);
}

function key(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

/** Keeps samples at absolute times (µs, the profile's clock) inside one of `windows` (all if none). */
export function summarise(
  profile: CpuProfile,
  afterMs: number,
  beforeMs: number,
  windows: readonly [number, number][] = [],
) {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let t = 0;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000; // µs -> ms
    t += dt;
    if (t < afterMs || t > beforeMs) continue;
    const at = profile.startTime + t * 1000;
    if (windows.length > 0 && !windows.some(([from, to]) => at >= from && at <= to)) continue;
    const node = byId.get(profile.samples[i] as number);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    self.set(key(node.callFrame), (self.get(key(node.callFrame)) ?? 0) + dt);
    areas.set(area(node.callFrame), (areas.get(area(node.callFrame)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (frame === undefined || frame.functionName === '(root)') continue;
      const k = key(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { busyMs: total, idleMs: idle, areas: sorted(areas), self: sorted(self), inclusive: sorted(inclusive) };
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--') && !/^\d/.test(a));
  const flags = parseFlags(
    args.filter((a) => a !== file),
    SPEC,
  );
  if (file === undefined) {
    process.stderr.write(
      'usage: profile-summary FILE.cpuprofile [--top N] [--after-ms MS] [--before-ms MS] [--json]\n',
    );
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  let windows: [number, number][] = [];
  if (typeof flags.window === 'string') {
    const windowsFile = path.join(path.dirname(file), 'windows.json');
    const all = JSON.parse(fs.readFileSync(windowsFile, 'utf8')) as Record<string, [number, number][]>;
    const w = all[flags.window];
    if (w === undefined) {
      process.stderr.write(`windows in ${windowsFile}: ${Object.keys(all).join(', ')}\n`);
      process.exit(flags.window === 'list' ? 0 : 2);
    }
    windows = w;
  }
  const s = summarise(profile, Number(flags['after-ms']), Number(flags['before-ms']), windows);
  const top = Number(flags.top);
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ ...s, self: s.self.slice(0, top), inclusive: s.inclusive.slice(0, top) })}\n`,
    );
    return;
  }
  const pct = (v: number): string => `${((v / s.busyMs) * 100).toFixed(1)}%`;
  process.stdout.on('error', () => process.exit(0)); // | head
  process.stdout.write(`${file}: busy ${(s.busyMs / 1000).toFixed(2)} s, idle ${(s.idleMs / 1000).toFixed(2)} s\n\n`);
  process.stdout.write(
    `${table(
      ['area', 'self ms', 'share'],
      s.areas.map(([k, v]) => [k, v.toFixed(0), pct(v)]),
    )}\n\n`,
  );
  process.stdout.write(
    `${table(
      ['self time', 'ms', 'share'],
      s.self.slice(0, top).map(([k, v]) => [k, v.toFixed(0), pct(v)]),
    )}\n\n`,
  );
  process.stdout.write(
    `${table(
      ['inclusive time', 'ms', 'share'],
      s.inclusive.slice(0, top).map(([k, v]) => [k, v.toFixed(0), pct(v)]),
    )}\n`,
  );
}

if (require.main === module) main();
