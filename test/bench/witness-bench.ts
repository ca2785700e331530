/**
 * `npm run bench:witness -- --nodes N --heartbeat 1s --seconds S [--mode stream|unary|both]
 *   [--generators K] [--connections C] [--max] [--json]`
 *
 * Witness capacity and renewal latency against a plain grpc-js ceiling (issue 5), in one run:
 *
 * 1. Starts a real witness (`witness serve`, embedded store in a temp data dir) and the echo server
 *    (test/bench/echo-server.ts: the same service definition, handlers with no logic).
 * 2. Starts K load-generator processes (test/bench/load-generator.ts); they play N simulated nodes
 *    in groups of two (a primary p and a secondary s per group) over real gRPC on loopback, the N
 *    nodes multiplexed over C client connections in all.
 * 3. For each mode (keep-alive streams: one stream per node; unary: one Renew call per heartbeat):
 *    every node sends its first heartbeat to each server (the witness registers it), the primaries
 *    acquire their group once (after the witness's start-up grace), then the nodes heartbeat once
 *    per period, spread evenly. After a warm-up on each server, the load goes to the witness and
 *    to the echo server in alternating segments (--segment, 2 s) until each has had S measured
 *    seconds: both see the same background load, on a machine other work may share. Measured per
 *    server: renewals/s offered and achieved, latency (in the generators, from send to answer)
 *    p50/p99/max, errors, server CPU% and RSS (from /proc), the generators' CPU and the rest of
 *    the machine's.
 * 4. --max instead pushes as fast as it can (closed loop, --inflight requests outstanding per
 *    generator) for S seconds against each server: the maximum throughput and its ratio.
 *
 * Every process started here is stopped by PID at the end, on failure and on Ctrl-C.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnTracked, type TrackedProcess } from '../support/processes';
import { cleanEnv, WITNESS_MAIN } from '../support/witness-process';
import { listenPort } from '../support/cluster';
import type { Counters } from './load-generator';
import {
  distribution,
  fixed,
  machineInfo,
  ms,
  onCleanup,
  parseFlags,
  SegmentSampler,
  progress,
  ratio,
  runScript,
  sleep,
  table,
  usage,
  UsageError,
  type Distribution,
  type FlagSpec,
  type MachineUsage,
  type ProcessUsage,
} from './common';

const GENERATOR_SCRIPT = path.join(__dirname, 'load-generator.js');
const ECHO_SCRIPT = path.join(__dirname, 'echo-server.js');
const START_TIMEOUT_MS = 15_000;

const SPEC: Record<string, FlagSpec> = {
  nodes: { kind: 'number', default: 20_000, min: 2, help: 'Simulated nodes (two per group).' },
  heartbeat: { kind: 'duration', default: '1s', min: 10, help: 'Heartbeat period of every node.' },
  seconds: { kind: 'number', default: 20, min: 0.5, help: 'Measured seconds per server and mode.' },
  mode: {
    kind: 'string',
    default: 'both',
    choices: ['stream', 'unary', 'both'],
    help: 'KeepAlive streams, unary Renew, or both in turn.',
  },
  generators: { kind: 'number', default: 2, min: 1, help: 'Load-generator processes.' },
  connections: {
    kind: 'number',
    default: 16,
    min: 1,
    help: 'Client connections (HTTP/2) in all, shared by the nodes.',
  },
  client: {
    kind: 'string',
    default: 'http2',
    choices: ['http2', 'grpc-js'],
    help: "The generators' gRPC client: gRPC framing on node:http2 (lighter), or @grpc/grpc-js.",
  },
  warmup: { kind: 'duration', default: '2s', help: 'Load on each server before the measured segments (not measured).' },
  segment: {
    kind: 'duration',
    default: '2s',
    min: 100,
    help: 'Length of each measured segment: the two servers take turns, so both see the same background load.',
  },
  max: { kind: 'boolean', help: 'Saturation: closed loop, as fast as possible, instead of one heartbeat per period.' },
  inflight: { kind: 'number', default: 500, min: 1, help: 'With --max: requests outstanding per generator.' },
  // Longer than a segment: a lease that ran out while the load was on the echo server would cost
  // the witness an expiry and a return event per group each turn, which no steady renewal causes.
  lease: { kind: 'duration', default: '5s', min: 50, help: "The witness's --lease (and the lease the nodes ask for)." },
  profile: {
    kind: 'string',
    help: 'Directory: run the witness, the echo server and the generators with node --cpu-prof there.',
  },
  'server-node-options': {
    kind: 'string',
    help: 'Extra node options for both servers (witness and echo alike), space-separated, e.g. "--trace-gc".',
  },
  'keep-output': {
    kind: 'string',
    help: "Directory: write the witness's and the echo server's output there at the end.",
  },
  json: { kind: 'boolean', help: 'Print one JSON object instead of the tables.' },
  help: { kind: 'boolean', help: 'Print this help.' },
};

/** A generator's counters for one server, as they arrive over IPC (JSON: verdict keys are strings). */
interface TargetRun extends Omit<Counters, 'verdicts'> {
  unanswered: number;
  latFile: string;
  lagMs: { p50: number; p99: number; max: number };
  verdicts: Record<string, number>;
}

interface GeneratorRun {
  nodes: number;
  drained: boolean;
  cpuSeconds: number;
  targets: TargetRun[];
}

interface Segment {
  target: number;
  fromMs: number;
  toMs: number;
  measured: boolean;
}

/** A child process driven by JSON commands on stdin, one reply line each (load generators, pairs-host). */
export class GeneratorProc {
  private nextId = 1;

  constructor(
    readonly proc: TrackedProcess,
    readonly index: number,
  ) {}

  async call<T>(cmd: Record<string, unknown>, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    this.proc.child.stdin?.write(`${JSON.stringify({ id, ...cmd })}\n`);
    const prefix = `{"reply":${id},`;
    const line = await this.proc.waitForLine((l) => l.startsWith(prefix), timeoutMs, { stream: 'stdout' });
    const body = JSON.parse(line) as T & { error?: string };
    if (body.error !== undefined) throw new Error(`generator ${this.index}: ${String(cmd.cmd)}: ${body.error}`);
    return body;
  }
}

export interface ServerFigures {
  server: 'witness' | 'echo';
  nodes: number;
  offeredPerSec: number;
  sentPerSec: number;
  achievedPerSec: number;
  latencyMs: Distribution;
  errors: number;
  errorDetail: Record<string, number>;
  unanswered: number;
  generatorLagMs: { p99: number; max: number };
  serverUsage: ProcessUsage;
  generatorsCpuPercent: number;
  machine: MachineUsage;
  measuredSeconds: number;
  /** Server CPU time per answered renewal (µs): the cost of a renewal, whatever limits the rate. */
  cpuUsPerRenewal: number;
  registration: { ms: number; failed: number };
}

export interface ModeFigures {
  mode: 'stream' | 'unary';
  kind: 'paced' | 'max';
  witness: ServerFigures;
  echo: ServerFigures;
  ratios: { p50: number; p99: number; max: number; throughput: number; cpu: number; cpuPerRenewal: number };
}

/** Process-wide options of this run: profiling, extra node options for the two servers, output kept. */
const runOptions: { profileDir?: string; serverNodeOptions: string[]; keepOutput?: string } = { serverNodeOptions: [] };

function spawnNodeScript(script: string, args: string[], name: string, server: boolean): TrackedProcess {
  const { profileDir } = runOptions;
  const execArgs = [
    ...(server ? runOptions.serverNodeOptions : []),
    ...(profileDir
      ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name.replace(/\s+/g, '-')}.cpuprofile`]
      : []),
  ];
  return spawnTracked(process.execPath, [...execArgs, script, ...args], {
    name,
    stdin: 'pipe',
    env: cleanEnv(),
    maxLines: runOptions.keepOutput ? 200_000 : 500,
  });
}

async function startWitness(
  dir: string,
  leaseMs: number,
  streamsPerConnection: number,
): Promise<{ proc: TrackedProcess; address: string; graceEndsAt: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await listenPort();
    const startedAt = Date.now();
    const proc = spawnNodeScript(
      WITNESS_MAIN,
      [
        'serve',
        '--open-registration',
        '--listen',
        `127.0.0.1:${port}`,
        '--data-dir',
        path.join(dir, 'witness-data'),
        '--lease',
        `${leaseMs}ms`,
        // The generators multiplex thousands of nodes on a few connections, where a real node has a
        // connection of its own; the echo server (grpc-js's default) has no such limit either.
        // The countdown events of holders silent while the load is on the echo server (design §18.2)
        // are not what this bench measures.
        '--holder-silent-after',
        '0',
        '--max-streams-per-connection',
        String(streamsPerConnection),
      ],
      'witness',
      true,
    );
    try {
      const line = await proc.waitForLine(/"msg":"witness listening"/, START_TIMEOUT_MS, { stream: 'stdout' });
      const listening = JSON.parse(line) as { startupGraceMs?: number };
      return {
        proc,
        address: `127.0.0.1:${port}`,
        graceEndsAt: startedAt + (listening.startupGraceMs ?? leaseMs * 1.1) + 100,
      };
    } catch (error) {
      await proc.stop(2000);
      if (attempt >= 3 || !/EADDRINUSE/.test(proc.output(50))) throw error;
    }
  }
}

async function startEcho(): Promise<{ proc: TrackedProcess; address: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await listenPort();
    const proc = spawnNodeScript(ECHO_SCRIPT, ['--listen', `127.0.0.1:${port}`], 'echo', true);
    try {
      await proc.waitForLine(/"msg":"echo listening"/, START_TIMEOUT_MS, { stream: 'stdout' });
      return { proc, address: `127.0.0.1:${port}` };
    } catch (error) {
      await proc.stop(2000);
      if (attempt >= 3 || !/EADDRINUSE|in use/.test(proc.output(50))) throw error;
    }
  }
}

/** CLOCK_MONOTONIC in µs: the clock of V8's CPU profiles on Linux. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Merges (and removes) the raw float64 latency files the child processes wrote. */
export function readLatencies(files: readonly string[]): Float64Array {
  const parts = files.map((f) => {
    const buf = fs.readFileSync(f);
    fs.rmSync(f, { force: true });
    return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  });
  const all = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mergeCodes(runs: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), SPEC);
  if (flags.help) {
    process.stdout.write(
      `${usage('npm run bench:witness -- [options]', 'Witness renewal capacity and latency against a plain grpc-js echo server, same load, same run.', SPEC)}\n`,
    );
    return 0;
  }
  const nodes = Math.floor(Number(flags.nodes));
  if (nodes % 2 !== 0) throw new UsageError('--nodes must be even (two nodes per group)');
  const groups = nodes / 2;
  const heartbeatMs = Number(flags.heartbeat);
  const seconds = Number(flags.seconds);
  const measureMs = Math.round(seconds * 1000);
  const warmupMs = Number(flags.warmup);
  const segmentMs = Number(flags.segment);
  const leaseMs = Number(flags.lease);
  const max = flags.max === true;
  const json = flags.json === true;
  const modes: ('stream' | 'unary')[] =
    flags.mode === 'both' ? ['stream', 'unary'] : [flags.mode as 'stream' | 'unary'];
  const k = Math.max(1, Math.min(Math.floor(Number(flags.generators)), groups));
  const connections = Math.max(k, Math.floor(Number(flags.connections)));
  const inflight = Math.floor(Number(flags.inflight));
  const client = String(flags.client);
  const profileDir = typeof flags.profile === 'string' ? path.resolve(flags.profile) : undefined;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  runOptions.profileDir = profileDir;
  runOptions.serverNodeOptions =
    typeof flags['server-node-options'] === 'string' ? flags['server-node-options'].split(/\s+/).filter(Boolean) : [];
  runOptions.keepOutput = typeof flags['keep-output'] === 'string' ? path.resolve(flags['keep-output']) : undefined;
  if (runOptions.keepOutput) fs.mkdirSync(runOptions.keepOutput, { recursive: true });

  const machine = machineInfo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bench-witness-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  progress(`machine: ${machine.cpus} cores (${machine.model}), node ${machine.node}; ${machine.uptime}`);

  const perGen = Math.max(1, Math.round(connections / k));
  // A node's KeepAlive stream and the unary call (Acquire) it may have open beside it.
  const streamsPerConnection = 2 * Math.ceil(nodes / (perGen * k)) + 100;

  progress('starting the witness and the echo server');
  const [witness, echo] = await Promise.all([startWitness(dir, leaseMs, streamsPerConnection), startEcho()]);
  progress(`witness ${witness.address} (pid ${witness.proc.pid}), echo ${echo.address} (pid ${echo.proc.pid})`);

  const gens: GeneratorProc[] = [];
  let firstGroup = 0;
  for (let i = 0; i < k; i++) {
    const count = Math.floor(groups / k) + (i < groups % k ? 1 : 0);
    const g = new GeneratorProc(spawnNodeScript(GENERATOR_SCRIPT, [], `generator-${i}`, false), i);
    await g.call({ cmd: 'init', firstGroup, groups: count, totalGroups: groups, heartbeatMs, leaseMs, dir }, 10_000);
    firstGroup += count;
    gens.push(g);
  }
  const all = <T>(f: (g: GeneratorProc) => Promise<T>): Promise<T[]> => Promise.all(gens.map(f));

  let acquired = false;
  const results: ModeFigures[] = [];
  /** Measured segments per label on CLOCK_MONOTONIC (µs), for profile-summary --window. */
  const windows: Record<string, [number, number][]> = {};
  const servers = ['witness', 'echo'] as const;
  const addresses = [witness.address, echo.address];
  for (const mode of modes) {
    await all((g) => g.call({ cmd: 'connect', addresses, connections: perGen, mode, client }, 10_000));
    const registration: Partial<Record<'witness' | 'echo', { ms: number; failed: number }>> = {};
    for (const [target, server] of servers.entries()) {
      progress(`${mode}: registering ${nodes} nodes with the ${server}`);
      const reg = await all((g) =>
        g.call<{ ms: number; failed: number; errorCodes: Record<string, number> }>(
          { cmd: 'register', target, concurrency: 1000 },
          60_000,
        ),
      );
      const failed = sum(reg.map((r) => r.failed));
      if (failed > 0)
        progress(
          `${mode}: ${failed} registration heartbeats to the ${server} failed: ${JSON.stringify(reg.map((r) => r.errorCodes))}`,
        );
      registration[server] = { ms: Math.max(...reg.map((r) => r.ms)), failed };
      if (server === 'witness' && !acquired) {
        const wait = witness.graceEndsAt - Date.now();
        if (wait > 0) {
          progress(`waiting ${wait} ms for the end of the witness's start-up grace`);
          await sleep(wait);
        }
        progress(`acquiring ${groups} groups (each grant is fsynced before it is answered)`);
        const acq = await all((g) =>
          g.call<{ granted: number; failed: number; problems: string[]; ms: number }>(
            { cmd: 'acquire', target, concurrency: 64 },
            600_000,
          ),
        );
        const acqFailed = sum(acq.map((a) => a.failed));
        progress(
          `acquired ${sum(acq.map((a) => a.granted))} groups in ${Math.max(...acq.map((a) => a.ms)).toFixed(0)} ms` +
            (acqFailed
              ? `, ${acqFailed} failed: ${acq
                  .flatMap((a) => a.problems)
                  .slice(0, 3)
                  .join('; ')}`
              : ''),
        );
        if (acqFailed > 0) throw new Error(`${acqFailed} acquisitions failed`);
        acquired = true;
      }
    }

    // Warm-up on each server, then alternate measured segments until each has `measureMs`.
    const segments: Segment[] = [];
    let at = 0;
    for (const target of [0, 1]) {
      if (warmupMs > 0) segments.push({ target, fromMs: at, toMs: (at += warmupMs), measured: false });
    }
    const count = Math.max(1, Math.round(measureMs / segmentMs));
    const lengths = Array.from(
      { length: count },
      (_, i) => Math.round(((i + 1) * measureMs) / count) - Math.round((i * measureMs) / count),
    );
    for (const len of lengths) {
      for (const target of [0, 1]) segments.push({ target, fromMs: at, toMs: (at += len), measured: true });
    }
    const startAtWallMs = Date.now() + 300;
    const drainMs = Math.max(3000, 2 * heartbeatMs);
    progress(
      `${mode}: ${max ? `saturating (${inflight} in flight per generator)` : `${nodes} nodes at one heartbeat per ${heartbeatMs} ms`}: ` +
        `${warmupMs} ms warm-up on each server, then ${count} x ${Math.round(measureMs / count)} ms measured on each, alternating`,
    );
    const labels = servers.map((server) => `${mode}-${server}`);
    const sampler = new SegmentSampler([
      { name: 'witness', pid: witness.proc.pid },
      { name: 'echo', pid: echo.proc.pid },
      ...gens.map((g) => ({ name: `generator-${g.index}`, pid: g.proc.pid })),
      { name: 'bench', pid: process.pid },
    ]);
    const marking = (async () => {
      for (const seg of segments) {
        await sleep(startAtWallMs + seg.fromMs - Date.now());
        sampler.mark(seg.measured ? (labels[seg.target] as string) : null);
        if (seg.measured) {
          const fromUs = monotonicUs();
          const label = labels[seg.target] as string;
          (windows[label] ??= []).push([fromUs, fromUs + (seg.toMs - seg.fromMs) * 1000]);
        }
      }
      await sleep(startAtWallMs + at - Date.now());
      sampler.stop();
    })();
    const runs = await all((g) =>
      g.call<GeneratorRun>(
        { cmd: 'run', startAtWallMs, segments, drainMs, max, inflight, label: mode },
        2 * at + drainMs + 60_000,
      ),
    );
    await marking;
    await all((g) => g.call({ cmd: 'close' }, 10_000));

    const figures = servers.map((server, target): ServerFigures => {
      const per = runs.map((r) => r.targets[target] as TargetRun);
      const latencies = readLatencies(per.map((r) => r.latFile));
      const usageFigures = sampler.report(labels[target] as string);
      const serverUsage = usageFigures.processes[target] as ProcessUsage;
      const errorDetail = mergeCodes(per.map((r) => r.errorCodes));
      const add = (name: string, n: number): void => {
        if (n > 0) errorDetail[name] = n;
      };
      const refused = sum(per.map((r) => r.refused));
      const badVerdict = sum(per.map((r) => r.badVerdict));
      const unmatched = sum(per.map((r) => r.unmatched));
      const lost = sum(per.map((r) => r.lost));
      const unanswered = sum(per.map((r) => r.unanswered));
      add('refused', refused);
      add('unexpected verdict', badVerdict);
      add('unmatched answer', unmatched);
      add('lost', lost);
      add('stream failures', sum(per.map((r) => r.streamFailures)));
      add('unanswered after drain', unanswered);
      const seconds = usageFigures.seconds > 0 ? usageFigures.seconds : measureMs / 1000;
      return {
        server,
        nodes,
        offeredPerSec: max ? NaN : (nodes * 1000) / heartbeatMs,
        sentPerSec: sum(per.map((r) => r.sent)) / (measureMs / 1000),
        achievedPerSec: sum(per.map((r) => r.answered)) / (measureMs / 1000),
        latencyMs: distribution(latencies),
        errors: sum(per.map((r) => r.errors)) + refused + badVerdict + unmatched + lost + unanswered,
        errorDetail,
        unanswered,
        generatorLagMs: {
          p99: Math.max(...per.map((r) => r.lagMs.p99)),
          max: Math.max(...per.map((r) => r.lagMs.max)),
        },
        serverUsage,
        generatorsCpuPercent: sum(
          usageFigures.processes.filter((p) => p.name.startsWith('generator')).map((p) => p.cpuPercent),
        ),
        machine: usageFigures.machine,
        measuredSeconds: seconds,
        cpuUsPerRenewal:
          ((serverUsage.cpuPercent / 100) * 1e6) / (sum(per.map((r) => r.answered)) / (measureMs / 1000)),
        registration: registration[server] ?? { ms: NaN, failed: 0 },
      };
    });
    const [w, e] = figures as [ServerFigures, ServerFigures];
    for (const f of figures) {
      progress(
        `${mode}/${f.server}: ${fixed(f.achievedPerSec, 0)}/s, p50 ${ms(f.latencyMs.p50)} ms, p99 ${ms(f.latencyMs.p99)} ms, ` +
          `max ${ms(f.latencyMs.max)} ms, errors ${f.errors}, CPU ${fixed(f.serverUsage.cpuPercent, 0)}%, RSS ${fixed(f.serverUsage.rssMaxMb, 0)} MB`,
      );
    }
    results.push({
      mode,
      kind: max ? 'max' : 'paced',
      witness: w,
      echo: e,
      ratios: {
        p50: ratio(w.latencyMs.p50, e.latencyMs.p50),
        p99: ratio(w.latencyMs.p99, e.latencyMs.p99),
        max: ratio(w.latencyMs.max, e.latencyMs.max),
        throughput: ratio(w.achievedPerSec, e.achievedPerSec),
        cpu: ratio(w.serverUsage.cpuPercent, e.serverUsage.cpuPercent),
        cpuPerRenewal: ratio(w.cpuUsPerRenewal, e.cpuUsPerRenewal),
      },
    });
  }

  for (const g of gens) await g.call({ cmd: 'exit' }, 5000).catch(() => undefined);
  await Promise.all(gens.map((g) => g.proc.waitForExit(5000).catch(() => g.proc.stop(1000))));
  await Promise.all([witness.proc.stop(8000), echo.proc.stop(3000)]);
  if (runOptions.keepOutput) {
    for (const [name, proc] of [
      ['witness', witness.proc],
      ['echo', echo.proc],
    ] as const) {
      fs.writeFileSync(path.join(runOptions.keepOutput, `${name}.out`), `${proc.stdoutLines.join('\n')}\n`);
      fs.writeFileSync(path.join(runOptions.keepOutput, `${name}.err`), `${proc.stderrLines.join('\n')}\n`);
    }
    fs.writeFileSync(path.join(runOptions.keepOutput, 'windows.json'), `${JSON.stringify(windows)}\n`);
    progress(`server output in ${runOptions.keepOutput}`);
  }

  const config = {
    nodes,
    groups,
    heartbeatMs,
    seconds,
    warmupMs,
    segmentMs,
    generators: k,
    connections: perGen * k,
    client,
    max,
    inflightPerGenerator: max ? inflight : undefined,
    leaseMs,
    witnessStore: 'embedded (file store)',
  };
  const targets = targetChecks(results);
  if (json) {
    process.stdout.write(`${JSON.stringify({ bench: 'witness', machine, config, results, targets })}\n`);
  } else {
    process.stdout.write(`${render(machine.uptime, config, results, targets)}\n`);
  }
  if (profileDir) {
    fs.writeFileSync(path.join(profileDir, 'windows.json'), `${JSON.stringify(windows)}\n`);
    progress(
      `CPU profiles in ${profileDir}; summarise one measured window with: ` +
        `node dist/test/bench/profile-summary.js ${profileDir}/witness.cpuprofile --window ${Object.keys(windows)[0] ?? 'list'}`,
    );
  }
  return 0;
}

interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

function targetChecks(results: readonly ModeFigures[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const r of results) {
    const w = r.witness;
    if (r.kind === 'paced') {
      out.push({
        what: `${r.mode}: ${w.nodes} nodes held, no errors`,
        target: `>= 99% of ${fixed(w.offeredPerSec, 0)}/s, 0 errors`,
        measured: `${fixed(w.achievedPerSec, 0)}/s, ${w.errors} errors`,
        met: w.achievedPerSec >= 0.99 * w.offeredPerSec && w.errors === 0,
      });
      out.push({
        what: `${r.mode}: latency p50 witness/echo`,
        target: '<= 1.5',
        measured: fixed(r.ratios.p50, 2),
        met: r.ratios.p50 <= 1.5,
      });
      out.push({
        what: `${r.mode}: latency p99 witness/echo`,
        target: '<= 1.5',
        measured: fixed(r.ratios.p99, 2),
        met: r.ratios.p99 <= 1.5,
      });
    } else {
      out.push({
        what: `${r.mode}: max throughput witness/echo`,
        target: '>= 0.5',
        measured: `${fixed(r.ratios.throughput, 2)} (${fixed(w.achievedPerSec, 0)}/s vs ${fixed(r.echo.achievedPerSec, 0)}/s)`,
        met: r.ratios.throughput >= 0.5,
      });
      out.push({
        what: `${r.mode}: CPU per renewal echo/witness (generator-independent)`,
        target: '>= 0.5',
        measured: `${fixed(1 / r.ratios.cpuPerRenewal, 2)} (${fixed(w.cpuUsPerRenewal, 1)} µs vs ${fixed(r.echo.cpuUsPerRenewal, 1)} µs)`,
        met: 1 / r.ratios.cpuPerRenewal >= 0.5,
      });
    }
  }
  return out;
}

function render(
  uptime: string,
  config: Record<string, unknown>,
  results: readonly ModeFigures[],
  targets: readonly TargetCheck[],
): string {
  const lines: string[] = [];
  lines.push(`bench:witness  ${JSON.stringify(config)}`);
  lines.push(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; at start: ${uptime}`);
  for (const r of results) {
    lines.push('');
    lines.push(
      `${r.mode === 'stream' ? 'KeepAlive streams' : 'unary Renew'}, ${r.kind === 'max' ? 'saturation (closed loop)' : 'paced'}:`,
    );
    const row = (f: ServerFigures): string[] => [
      f.server,
      r.kind === 'max' ? '-' : fixed(f.offeredPerSec, 0),
      fixed(f.achievedPerSec, 0),
      ms(f.latencyMs.p50),
      ms(f.latencyMs.p99),
      ms(f.latencyMs.max),
      String(f.errors),
      fixed(f.serverUsage.cpuPercent, 0),
      fixed(f.cpuUsPerRenewal, 1),
      fixed(f.serverUsage.rssMaxMb, 0),
      fixed(f.generatorsCpuPercent, 0),
      fixed(f.machine.othersPercentOfCore, 0),
      ms(f.generatorLagMs.p99),
    ];
    lines.push(
      table(
        [
          'server',
          'offered/s',
          'achieved/s',
          'p50 ms',
          'p99 ms',
          'max ms',
          'errors',
          'CPU %',
          'CPU µs/renewal',
          'RSS MB',
          'gen CPU %',
          'other CPU %',
          'gen lag p99',
        ],
        [
          row(r.witness),
          row(r.echo),
          [
            'witness/echo',
            '',
            fixed(r.ratios.throughput, 2),
            fixed(r.ratios.p50, 2),
            fixed(r.ratios.p99, 2),
            fixed(r.ratios.max, 2),
            '',
            fixed(r.ratios.cpu, 2),
            fixed(r.ratios.cpuPerRenewal, 2),
            '',
            '',
            '',
            '',
          ],
        ],
      ),
    );
    for (const f of [r.witness, r.echo]) {
      if (Object.keys(f.errorDetail).length > 0) lines.push(`  ${f.server} errors: ${JSON.stringify(f.errorDetail)}`);
    }
    lines.push(
      `  load average during the runs: witness ${r.witness.machine.loadavgEnd}, echo ${r.echo.machine.loadavgEnd}`,
    );
  }
  lines.push('');
  lines.push('targets (issue 5):');
  lines.push(
    table(
      ['what', 'target', 'measured', 'met'],
      targets.map((t) => [t.what, t.target, t.measured, t.met ? 'yes' : 'NO']),
    ),
  );
  lines.push(
    '\nCPU % is of one core; "other CPU %" is the rest of the machine (processes not started by this run); ' +
      '"CPU µs/renewal" is server CPU time per answered renewal. Latency is measured in the generators, from send to answer; ' +
      '"gen lag p99" is how late the generators sent behind schedule (high: the generators, not the server, fell behind). ' +
      "With --max, a generator-bound run (gen CPU near 100% per generator) understates the servers' ceilings; CPU per renewal does not.",
  );
  return lines.join('\n');
}

if (require.main === module) runScript(main, 60 * 60 * 1000);
