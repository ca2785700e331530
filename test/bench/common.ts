/**
 * Helpers shared by the benchmark scripts (test/bench/*-bench.ts): flag parsing, percentiles,
 * per-process CPU and RSS from /proc, machine facts, plain-text tables, and cleanup of every
 * process a script started (by PID) on success, failure, Ctrl-C and SIGTERM.
 *
 * Benchmarks are scripts, never timed tests: nothing here asserts on a figure.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseDuration } from '../../src/config/duration';
import { killAllTracked, trackedProcesses } from '../support/processes';

// ---- flags --------------------------------------------------------------------------------------

export type FlagKind = 'number' | 'duration' | 'string' | 'boolean';

export interface FlagSpec {
  readonly kind: FlagKind;
  readonly default?: number | string | boolean;
  readonly help: string;
  /** For 'string': the accepted values. */
  readonly choices?: readonly string[];
  /** For 'number' and 'duration': the smallest accepted value. */
  readonly min?: number;
}

export type Flags = Record<string, number | string | boolean | undefined>;

export class UsageError extends Error {}

/** `--name value`, `--name=value`, `--flag` (booleans). Unknown flags are errors. */
export function parseFlags(argv: readonly string[], spec: Record<string, FlagSpec>): Flags {
  const flags: Flags = {};
  for (const [name, s] of Object.entries(spec)) {
    if (s.default !== undefined)
      flags[name] = s.kind === 'duration' ? parseDuration(s.default as string | number) : s.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const s = spec[name];
    if (s === undefined) throw new UsageError(`unknown flag --${name}`);
    if (s.kind === 'boolean') {
      flags[name] = eq >= 0 ? arg.slice(eq + 1) !== 'false' : true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    switch (s.kind) {
      case 'number': {
        const n = Number(raw);
        if (!Number.isFinite(n)) throw new UsageError(`--${name}: not a number: ${raw}`);
        if (s.min !== undefined && n < s.min) throw new UsageError(`--${name} must be at least ${s.min}`);
        flags[name] = n;
        break;
      }
      case 'duration': {
        let ms: number;
        try {
          ms = parseDuration(raw);
        } catch (error) {
          throw new UsageError(`--${name}: ${(error as Error).message}`);
        }
        if (s.min !== undefined && ms < s.min) throw new UsageError(`--${name} must be at least ${s.min} ms`);
        flags[name] = ms;
        break;
      }
      case 'string':
        if (s.choices !== undefined && !s.choices.includes(raw)) {
          throw new UsageError(`--${name} must be one of ${s.choices.join(', ')}`);
        }
        flags[name] = raw;
        break;
    }
  }
  return flags;
}

export function usage(command: string, summary: string, spec: Record<string, FlagSpec>): string {
  const lines = [`Usage: ${command}`, '', summary, '', 'Options:'];
  for (const [name, s] of Object.entries(spec)) {
    const value = s.kind === 'boolean' ? '' : s.choices ? ` ${s.choices.join('|')}` : ` ${s.kind.toUpperCase()}`;
    const def = s.default === undefined || s.kind === 'boolean' ? '' : ` (default ${String(s.default)})`;
    lines.push(`  --${name}${value}`, `      ${s.help}${def}`);
  }
  return lines.join('\n');
}

// ---- statistics ---------------------------------------------------------------------------------

export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (p in [0, 100]). NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[rank] as number;
}

/** Sorts `values` in place (numerically) and summarises it. */
export function distribution(values: Float64Array | number[]): Distribution {
  const sorted = values instanceof Float64Array ? values.sort() : values.sort((a, b) => a - b);
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i] as number;
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length === 0 ? NaN : (sorted[sorted.length - 1] as number),
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
  };
}

// ---- /proc sampling -----------------------------------------------------------------------------

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime/stime in /proc/PID/stat. */
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU time of `pid` in seconds, all its live threads, or undefined once it is gone. Read from
 * /proc/PID/task/TID/schedstat (the scheduler's exact run time, in ns) where available: utime and
 * stime are sampled at the timer tick, which over- or under-charges a process that wakes briefly
 * and often (an idle sidecar). Falls back to utime + stime.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited meanwhile
      }
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    // no schedstat: fall back to the tick-sampled counters
  }
  return tickCpuSeconds(pid);
}

/** utime + stime of `pid` in seconds (tick-sampled), or undefined once it is gone. */
export function tickCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / clkTck();
  } catch {
    return undefined;
  }
}

/** VmRSS of `pid` in MB, or undefined once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS, RssAnon (private memory) and RssFile (mapped files: mostly the node binary, shared by every node process) in MB. */
export function rssDetail(pid: number): { rss: number; anon: number; file: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: kbField(status, 'VmRSS'), anon: kbField(status, 'RssAnon'), file: kbField(status, 'RssFile') };
  } catch {
    return undefined;
  }
}

export interface MemoryDetail {
  rss: number;
  anon: number;
  file: number;
  /** Proportional set size: each shared page divided among the processes mapping it. */
  pss: number;
  /** Private_Clean + Private_Dirty: pages no other process maps (file pages included). */
  private: number;
}

/** rssDetail plus Pss and Private from /proc/PID/smaps_rollup, in MB. */
export function memoryDetail(pid: number): MemoryDetail | undefined {
  const rss = rssDetail(pid);
  if (rss === undefined) return undefined;
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return {
      ...rss,
      pss: kbField(rollup, 'Pss'),
      private: kbField(rollup, 'Private_Clean') + kbField(rollup, 'Private_Dirty'),
    };
  } catch {
    return undefined;
  }
}

function kbField(text: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
export function machineJiffies(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export interface ProcessUsage {
  name: string;
  pid: number;
  /** Mean CPU over the window, in % of one core. */
  cpuPercent: number;
  /** Highest one-second CPU sample, in % of one core. */
  cpuPeakPercent: number;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  /** Highest RssAnon (private) and RssFile (shared file mappings) seen, MB. */
  rssAnonMaxMb?: number;
  rssFileMaxMb?: number;
  /** Highest Pss and Private (Private_Clean + Private_Dirty, smaps_rollup) seen, MB. */
  pssMaxMb?: number;
  privateMaxMb?: number;
}

export interface MachineUsage {
  /** Busy % of all cores over the window (100 = every core busy). */
  busyPercent: number;
  /** CPU of processes other than the sampled ones, in % of one core (other engineers' work). */
  othersPercentOfCore: number;
  loadavgStart: string;
  loadavgEnd: string;
}

/**
 * Samples CPU (utime+stime) and RSS of named processes every `everyMs`, and the machine's busy
 * time, between start() and stop().
 */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = new Map<number, number>();
  private readonly last = new Map<number, { t: number; cpu: number }>();
  private readonly peak = new Map<number, number>();
  private readonly memory = new Map<number, { start: number; end: number; max: MemoryDetail }>();
  private wall0 = 0;
  private machine0 = { busy: 0, total: 0 };
  private loadavg0 = '';

  constructor(
    private readonly processes: readonly { name: string; pid: number }[],
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.wall0 = performance.now();
    this.machine0 = machineJiffies();
    this.loadavg0 = loadavg();
    for (const { pid } of this.processes) {
      const cpu = cpuSeconds(pid) ?? 0;
      this.t0.set(pid, cpu);
      this.last.set(pid, { t: this.wall0, cpu });
      const m = memoryDetail(pid);
      this.memory.set(pid, {
        start: m?.rss ?? NaN,
        end: m?.rss ?? NaN,
        max: m ?? { rss: 0, anon: 0, file: 0, pss: 0, private: 0 },
      });
      this.peak.set(pid, 0);
    }
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  private sample(): void {
    const now = performance.now();
    for (const { pid } of this.processes) {
      const cpu = cpuSeconds(pid);
      const prev = this.last.get(pid);
      if (cpu !== undefined && prev !== undefined && now > prev.t) {
        const pct = ((cpu - prev.cpu) / ((now - prev.t) / 1000)) * 100;
        this.peak.set(pid, Math.max(this.peak.get(pid) ?? 0, pct));
        this.last.set(pid, { t: now, cpu });
      }
      const m = memoryDetail(pid);
      const entry = this.memory.get(pid);
      if (m !== undefined && entry !== undefined) {
        entry.end = m.rss;
        for (const key of Object.keys(m) as (keyof MemoryDetail)[]) entry.max[key] = Math.max(entry.max[key], m[key]);
      }
    }
  }

  stop(): { processes: ProcessUsage[]; machine: MachineUsage } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const seconds = (performance.now() - this.wall0) / 1000;
    const machine1 = machineJiffies();
    const processes = this.processes.map(({ name, pid }) => {
      const cpu = this.last.get(pid)?.cpu ?? 0;
      const m = this.memory.get(pid);
      const max = m?.max;
      return {
        name,
        pid,
        cpuPercent: seconds > 0 ? ((cpu - (this.t0.get(pid) ?? 0)) / seconds) * 100 : NaN,
        cpuPeakPercent: this.peak.get(pid) ?? NaN,
        rssStartMb: m?.start ?? NaN,
        rssEndMb: m?.end ?? NaN,
        rssMaxMb: max?.rss ?? NaN,
        rssAnonMaxMb: max?.anon ?? NaN,
        rssFileMaxMb: max?.file ?? NaN,
        pssMaxMb: max?.pss ?? NaN,
        privateMaxMb: max?.private ?? NaN,
      };
    });
    const dTotal = machine1.total - this.machine0.total;
    const dBusy = machine1.busy - this.machine0.busy;
    const cores = os.cpus().length;
    const busyPercent = dTotal > 0 ? (dBusy / dTotal) * 100 : NaN;
    const ours = processes.reduce((a, p) => a + (Number.isFinite(p.cpuPercent) ? p.cpuPercent : 0), 0);
    return {
      processes,
      machine: {
        busyPercent,
        othersPercentOfCore: Math.max(0, busyPercent * cores - ours),
        loadavgStart: this.loadavg0,
        loadavgEnd: loadavg(),
      },
    };
  }
}

/**
 * Like ProcSampler, but the time is cut into labelled segments (mark(label) ends the current one
 * and starts the next; null = not counted): CPU of each process and of the machine is summed per
 * label, RSS (sampled every second) is the highest seen while the label was current. Used to
 * alternate two servers under one load and attribute each second to the right one.
 */
export class SegmentSampler {
  private timer: NodeJS.Timeout | undefined;
  private label: string | null = null;
  private since = 0;
  private cpuAt = new Map<number, number>();
  private machineAt = { busy: 0, total: 0 };
  private readonly buckets = new Map<
    string,
    { seconds: number; cpu: Map<number, number>; rssMax: Map<number, number>; busy: number; total: number }
  >();
  private loadavgs = new Map<string, string>();

  constructor(private readonly processes: readonly { name: string; pid: number }[]) {}

  mark(label: string | null): void {
    const now = performance.now();
    const machine = machineJiffies();
    const cpus = new Map(this.processes.map(({ pid }) => [pid, cpuSeconds(pid) ?? this.cpuAt.get(pid) ?? 0]));
    if (this.label !== null) {
      const b = this.bucket(this.label);
      b.seconds += (now - this.since) / 1000;
      for (const { pid } of this.processes)
        b.cpu.set(pid, (b.cpu.get(pid) ?? 0) + (cpus.get(pid) ?? 0) - (this.cpuAt.get(pid) ?? 0));
      b.busy += machine.busy - this.machineAt.busy;
      b.total += machine.total - this.machineAt.total;
      this.loadavgs.set(this.label, loadavg());
    }
    this.label = label;
    this.since = now;
    this.cpuAt = cpus;
    this.machineAt = machine;
    if (label !== null) this.sampleRss();
    this.timer ??= setInterval(() => this.sampleRss(), 1000);
  }

  stop(): void {
    this.mark(null);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private bucket(label: string) {
    let b = this.buckets.get(label);
    if (b === undefined) {
      b = { seconds: 0, cpu: new Map(), rssMax: new Map(), busy: 0, total: 0 };
      this.buckets.set(label, b);
    }
    return b;
  }

  private sampleRss(): void {
    if (this.label === null) return;
    const b = this.bucket(this.label);
    for (const { pid } of this.processes) {
      const r = rssMb(pid);
      if (r !== undefined) b.rssMax.set(pid, Math.max(b.rssMax.get(pid) ?? 0, r));
    }
  }

  report(label: string): { seconds: number; processes: ProcessUsage[]; machine: MachineUsage } {
    const b = this.bucket(label);
    const processes = this.processes.map(({ name, pid }) => {
      const rss = b.rssMax.get(pid) ?? NaN;
      return {
        name,
        pid,
        cpuPercent: b.seconds > 0 ? ((b.cpu.get(pid) ?? 0) / b.seconds) * 100 : NaN,
        cpuPeakPercent: NaN,
        rssStartMb: NaN,
        rssEndMb: rssMb(pid) ?? NaN,
        rssMaxMb: rss,
      };
    });
    const busyPercent = b.total > 0 ? (b.busy / b.total) * 100 : NaN;
    const ours = processes.reduce((a, p) => a + (Number.isFinite(p.cpuPercent) ? p.cpuPercent : 0), 0);
    return {
      seconds: b.seconds,
      processes,
      machine: {
        busyPercent,
        othersPercentOfCore: Math.max(0, busyPercent * os.cpus().length - ours),
        loadavgStart: '',
        loadavgEnd: this.loadavgs.get(label) ?? '',
      },
    };
  }
}

export function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

export interface MachineInfo {
  cpus: number;
  model: string;
  memoryGb: number;
  node: string;
  kernel: string;
  loadavg: string;
  /** Live processes on the machine that are not ours (a rough "is someone else busy" hint). */
  uptime: string;
}

export function machineInfo(): MachineInfo {
  let uptime = '';
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = `load average: ${loadavg()}`;
  }
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1e9),
    node: process.version,
    kernel: os.release(),
    loadavg: loadavg(),
    uptime,
  };
}

// ---- output -------------------------------------------------------------------------------------

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

export function fixed(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

export function ms(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
}

export function ratio(a: number | undefined, b: number | undefined): number {
  return a === undefined || b === undefined || !(b > 0) ? NaN : a / b;
}

/** Progress for humans on stderr (stdout carries the table or the JSON). */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

export function sleep(msToWait: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}

// ---- cleanup ------------------------------------------------------------------------------------

const extraCleanups: (() => void | Promise<void>)[] = [];

/** Something to run (once) before the script exits, whatever the reason: proxies, temp dirs. */
export function onCleanup(fn: () => void | Promise<void>): void {
  extraCleanups.push(fn);
}

let cleaning: Promise<void> | undefined;

/** SIGKILLs every tracked process by PID and runs the registered cleanups. Idempotent. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const p of trackedProcesses()) p.killNow('SIGCONT');
    try {
      await killAllTracked(5000);
    } catch (error) {
      process.stderr.write(`cleanup: ${(error as Error).message}\n`);
    }
    for (const fn of extraCleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        process.stderr.write(`cleanup: ${(error as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

/**
 * Runs `main` with a hard time limit; on any failure, Ctrl-C or SIGTERM stops every process the
 * script started (by PID), then exits: 0 on success, 1 on failure, 2 on a usage error, 130/143
 * on a signal.
 */
export function runScript(main: () => Promise<number>, hardLimitMs: number): void {
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    void cleanup().finally(() => process.exit(code));
  };
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      progress(`${signal}: stopping every process this script started`);
      exit(code);
    });
  }
  const limit = setTimeout(() => {
    process.stderr.write(`bench: hard time limit of ${Math.round(hardLimitMs / 1000)} s reached; stopping\n`);
    exit(1);
  }, hardLimitMs);
  limit.unref();
  main().then(
    (code) => exit(code),
    (error: unknown) => {
      if (exiting) return; // stopped by a signal or the time limit: its processes were killed under it
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n`);
        exit(2);
        return;
      }
      process.stderr.write(
        `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      exit(1);
    },
  );
}
