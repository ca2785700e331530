/**
 * `npm run bench:pairs -- --groups 50,100,200 [--hosts 2] [--seconds 10] [--nice 10] [--json]`
 *
 * What real pairs cost the witness (issue 13, item 4): the production sidecar code, not a load
 * generator that imitates it. For each step of the ramp:
 *
 * 1. A real `witness serve` (embedded store, default settings) in a fresh data dir.
 * 2. K sidecar-host processes (test/bench/pairs-host.ts) embed both library sidecars of G/K groups
 *    each (`startSidecar`, default settings: heartbeat 200 ms, timeout 1 s, lease 2 s), with their
 *    real witness and peer links over loopback gRPC.
 * 3. Once every primary holds its group (or --settle has passed), S measured seconds: groups held
 *    (primary active, running, holding at the witness; sampled every second), overlaps (a group
 *    whose two sidecars were active at once: a failure, printed loudly), renewals/s and peer
 *    heartbeats/s, renewal latency as the sidecars see it (test/bench/call-timing.ts), CPU and RSS
 *    of the witness and the hosts, and the rest of the machine's CPU.
 * 4. The sidecars are closed (each releases its group) and the witness stopped; then the echo
 *    comparison at the message rate the sidecars produced: `bench:witness` (its own witness and
 *    echo server, its generators, alternating segments) with 2G nodes at the heartbeat that gives
 *    the same renewals/s, in the mode the sidecars used (unary Renew or KeepAlive streams).
 *
 * Every process started here is stopped by PID at the end, on failure and on Ctrl-C.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnTracked, type TrackedProcess } from '../support/processes';
import { cleanEnv, startWitness } from '../support/witness-process';
import { freePort } from '../support/processes';
import type { CallFigures, HostStatus } from './pairs-host';
import { renderPairs, type EchoFigures, type StepFigures } from './pairs-report';
import { GeneratorProc, readLatencies, type ModeFigures } from './witness-bench';
import {
  distribution,
  machineInfo,
  onCleanup,
  parseFlags,
  ProcSampler,
  progress,
  ratio,
  runScript,
  sleep,
  usage,
  UsageError,
  type FlagSpec,
  type ProcessUsage,
} from './common';

const HOST_SCRIPT = path.join(__dirname, 'pairs-host.js');
const WITNESS_BENCH_SCRIPT = path.join(__dirname, 'witness-bench.js');
const STATUS_EVERY_MS = 1000;

const SPEC: Record<string, FlagSpec> = {
  groups: {
    kind: 'string',
    default: '50,100,200',
    help: 'The ramp: groups (two sidecars each) at each step, comma-separated.',
  },
  hosts: { kind: 'number', default: 2, min: 1, help: 'Sidecar-host processes the groups are spread over.' },
  seconds: {
    kind: 'number',
    default: 10,
    min: 0.5,
    help: 'Measured seconds per step (and per server in the echo comparison).',
  },
  settle: {
    kind: 'duration',
    default: '30s',
    min: 100,
    help: 'Longest wait for every primary to hold before measuring.',
  },
  warmup: { kind: 'duration', default: '2s', help: 'Held, not measured, before each measured window.' },
  nice: { kind: 'number', default: 0, min: 0, help: 'Run the sidecar hosts under nice -n N.' },
  concurrency: { kind: 'number', default: 50, min: 1, help: 'Sidecars each host starts (or closes) at once.' },
  echo: { kind: 'boolean', default: true, help: 'The echo comparison after each step (--echo=false: none).' },
  'echo-client': {
    kind: 'string',
    default: 'grpc-js',
    choices: ['grpc-js', 'http2'],
    help: "The comparison's generator client: grpc-js is the sidecars' own client library.",
  },
  profile: { kind: 'string', help: 'Directory: run the sidecar hosts with node --cpu-prof there.' },
  json: { kind: 'boolean', help: 'Print one JSON object instead of the tables.' },
  help: { kind: 'boolean', help: 'Print this help.' },
};

interface Run {
  readonly hosts: number;
  readonly seconds: number;
  readonly settleMs: number;
  readonly warmupMs: number;
  readonly nice: number;
  readonly concurrency: number;
  readonly echo: boolean;
  readonly echoClient: string;
  readonly profileDir: string | undefined;
  readonly dir: string;
}

function spawnHost(run: Run, name: string): TrackedProcess {
  const profile = run.profileDir
    ? ['--cpu-prof', '--cpu-prof-dir', run.profileDir, '--cpu-prof-name', `${name}.cpuprofile`]
    : [];
  const node = [process.execPath, ...profile, HOST_SCRIPT];
  const [cmd, ...args] = run.nice > 0 ? ['nice', '-n', String(run.nice), ...node] : node;
  return spawnTracked(cmd as string, args, { name, stdin: 'pipe', env: cleanEnv(), maxLines: 500 });
}

function sumStatus(all: readonly HostStatus[]): HostStatus {
  const out: HostStatus = {
    asked: 0,
    started: 0,
    held: 0,
    secondaryActive: 0,
    bothActiveNow: 0,
    overlaps: 0,
    overlapSamples: [],
    activations: { primary: 0, secondary: 0 },
    warnings: {},
    warningSamples: [],
    heapUsedMb: 0,
  };
  for (const s of all) {
    for (const key of [
      'asked',
      'started',
      'held',
      'secondaryActive',
      'bothActiveNow',
      'overlaps',
      'heapUsedMb',
    ] as const)
      out[key] += s[key];
    out.overlapSamples.push(...s.overlapSamples);
    out.activations.primary += s.activations.primary;
    out.activations.secondary += s.activations.secondary;
    for (const [msg, n] of Object.entries(s.warnings)) out.warnings[msg] = (out.warnings[msg] ?? 0) + n;
    out.warningSamples.push(...s.warningSamples);
  }
  return out;
}

/** The measured window of each step, on the clock of V8's CPU profiles, for profile-summary --window. */
const profileWindows: Record<string, [number, number][]> = {};

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function measureStep(run: Run, groups: number): Promise<StepFigures> {
  const stepDir = fs.mkdtempSync(path.join(run.dir, `step-${groups}-`));
  progress(`${groups} groups: starting the witness`);
  const witness = await startWitness(path.join(stepDir, 'witness-data'));
  const k = Math.min(run.hosts, groups);
  const ports: [number, number] = [await freePort(), await freePort()];
  const hosts: GeneratorProc[] = [];
  try {
    for (let i = 0; i < k; i++) hosts.push(new GeneratorProc(spawnHost(run, `pairs-host-${groups}-${i}`), i));
    const all = <T>(f: (h: GeneratorProc) => Promise<T>): Promise<T[]> => Promise.all(hosts.map(f));
    const status = async (): Promise<HostStatus> =>
      sumStatus(await all((h) => h.call<HostStatus>({ cmd: 'status' }, 30_000)));
    const startedAt = performance.now();
    let first = 0;
    const starts = hosts.map((h, i) => {
      const count = Math.floor(groups / k) + (i < groups % k ? 1 : 0);
      const cmd = { cmd: 'start', firstGroup: first, groups: count, hostIndex: i, ports, witness: witness.address };
      first += count;
      return h.call<{ started: number; ms: number }>(
        { ...cmd, dir: stepDir, concurrency: run.concurrency },
        60_000 + count * 50,
      );
    });
    progress(
      `${groups} groups: starting ${2 * groups} sidecars in ${k} hosts (pids ${hosts.map((h) => h.proc.pid).join(', ')})`,
    );
    const startMs = Math.max(...(await Promise.all(starts)).map((s) => s.ms));
    let settled = await status();
    while (settled.held < groups && performance.now() - startedAt < run.settleMs) {
      await sleep(STATUS_EVERY_MS);
      settled = await status();
    }
    const heldAfterMs = settled.held === groups ? performance.now() - startedAt : null;
    progress(`${groups} groups: ${settled.held} held after ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    await sleep(run.warmupMs);

    const sampler = new ProcSampler([
      { name: 'witness', pid: witness.proc.pid },
      ...hosts.map((h) => ({ name: `host-${h.index}`, pid: h.proc.pid })),
      { name: 'bench', pid: process.pid },
    ]);
    const before = await status();
    await all((h) => h.call({ cmd: 'measure' }, 30_000));
    sampler.start();
    const windowStart = performance.now();
    const windowStartUs = monotonicUs();
    const measureMs = run.seconds * 1000;
    let heldMin = before.held;
    let bothActiveMax = before.bothActiveNow;
    let secondaryActiveMax = before.secondaryActive;
    let after = before;
    for (let i = 0; i < Math.ceil(measureMs / STATUS_EVERY_MS) + 1; i++) {
      const left = windowStart + measureMs - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(STATUS_EVERY_MS, left));
      after = await status();
      heldMin = Math.min(heldMin, after.held);
      bothActiveMax = Math.max(bothActiveMax, after.bothActiveNow);
      secondaryActiveMax = Math.max(secondaryActiveMax, after.secondaryActive);
    }
    const calls = await all((h) => h.call<Record<string, CallFigures>>({ cmd: 'take', label: `s${groups}` }, 30_000));
    const usage = sampler.stop();
    const seconds = (performance.now() - windowStart) / 1000;
    if (run.profileDir) profileWindows[`s${groups}`] = [[windowStartUs, monotonicUs()]];
    const figures = (name: string): { perSec: number; latencies: Float64Array; errors: Record<string, number> } => {
      const per = calls.map((c) => c[name] as CallFigures);
      const errors: Record<string, number> = {};
      for (const p of per) for (const [code, n] of Object.entries(p.errorCodes)) errors[code] = (errors[code] ?? 0) + n;
      return {
        perSec: per.reduce((n, p) => n + p.answered + p.errors, 0) / seconds,
        latencies: readLatencies(per.map((p) => p.file)),
        errors,
      };
    };
    const renew = figures('renew');
    const keepAlive = figures('keepAlive');
    const witnessMode = keepAlive.latencies.length > renew.latencies.length ? 'stream' : 'unary';
    const renewals = witnessMode === 'stream' ? keepAlive : renew;
    const peerUnary = figures('peerHeartbeat');
    const peerStream = figures('peerHeartbeatStream');
    // A stream that failed sends unary for a while (design §4.5): the peer figures count both.
    const peer = {
      perSec: peerStream.perSec + peerUnary.perSec,
      latencies: Float64Array.from([...peerStream.latencies, ...peerUnary.latencies]),
      errors: Object.fromEntries(
        [...new Set([...Object.keys(peerUnary.errors), ...Object.keys(peerStream.errors)])].map((code) => [
          code,
          (peerUnary.errors[code] ?? 0) + (peerStream.errors[code] ?? 0),
        ]),
      ),
    };
    const witnessUsage = usage.processes[0] as ProcessUsage;
    const hostUsage = usage.processes.filter((p) => p.name.startsWith('host-'));
    const hostsCpuPercent = hostUsage.reduce((n, p) => n + p.cpuPercent, 0);

    progress(`${groups} groups: closing the sidecars`);
    const closes = await all((h) =>
      h.call<{ ms: number; failed: number }>({ cmd: 'close', concurrency: run.concurrency }, 120_000),
    );
    for (const h of hosts) h.proc.child.stdin?.end();
    await Promise.all(hosts.map((h) => h.proc.waitForExit(15_000).catch(() => h.proc.stop(1000))));
    await witness.proc.stop(8000);

    return {
      groups,
      hosts: k,
      started: settled.started,
      startMs,
      heldAfterMs,
      held: { atStart: before.held, min: heldMin, end: after.held },
      secondaryActiveMax,
      bothActiveMax,
      overlaps: after.overlaps,
      overlapSamples: after.overlapSamples,
      activationsInWindow: {
        primary: after.activations.primary - before.activations.primary,
        secondary: after.activations.secondary - before.activations.secondary,
      },
      witnessMode,
      renewalsPerSec: renewals.perSec,
      renewalErrors: renewals.errors,
      renewLatencyMs: distribution(renewals.latencies),
      peerHeartbeatsPerSec: peer.perSec,
      peerErrors: peer.errors,
      peerLatencyMs: distribution(peer.latencies),
      witnessUsage,
      witnessCpuUsPerRenewal: ((witnessUsage.cpuPercent / 100) * 1e6) / renewals.perSec,
      hostUsage,
      hostsCpuPercent,
      hostsCpuUsPerGroupSecond: ((hostsCpuPercent / 100) * 1e6) / groups,
      hostsRssMb: hostUsage.reduce((n, p) => n + p.rssMaxMb, 0),
      heapKbPerSidecar: (after.heapUsedMb * 1024) / (2 * groups),
      machine: usage.machine,
      measuredSeconds: seconds,
      closeMs: Math.max(...closes.map((c) => c.ms)),
      closeFailed: closes.reduce((n, c) => n + c.failed, 0),
      warnings: after.warnings,
      warningSamples: after.warningSamples,
      echo: undefined,
    };
  } finally {
    for (const h of hosts) if (h.proc.running) await h.proc.stop(2000);
    if (witness.proc.running) await witness.proc.stop(3000);
    fs.rmSync(stepDir, { recursive: true, force: true });
  }
}

/** `bench:witness` at the renewal rate the sidecars produced: its witness and its echo server, same run. */
async function echoAtRate(run: Run, step: StepFigures): Promise<EchoFigures> {
  const nodes = 2 * step.groups;
  const heartbeatMs = Math.max(10, Math.round((nodes * 1000) / step.renewalsPerSec));
  const args = ['--json', '--nodes', String(nodes), '--heartbeat', `${heartbeatMs}ms`, '--mode', step.witnessMode];
  args.push('--seconds', String(run.seconds), '--client', run.echoClient, '--generators', String(run.hosts));
  progress(`${step.groups} groups: echo comparison: bench:witness ${args.join(' ')}`);
  // Detached: a kill on failure takes its witness, echo server and generators (its process group) too.
  const proc = spawnTracked(process.execPath, [WITNESS_BENCH_SCRIPT, ...args], {
    name: `witness-bench-${step.groups}`,
    env: cleanEnv(),
    detached: true,
    maxLines: 2000,
  });
  const exit = await proc.runToCompletion(180_000 + run.seconds * 4000 + nodes * 20);
  const line = [...proc.stdoutLines].reverse().find((l) => l.startsWith('{'));
  if (exit.code !== 0 || line === undefined)
    throw new Error(`bench:witness failed (${JSON.stringify(exit)}):\n${proc.output(30)}`);
  const result = (JSON.parse(line) as { results: ModeFigures[] }).results[0] as ModeFigures;
  const server = (f: ModeFigures['witness']): EchoFigures['echo'] => ({
    achievedPerSec: f.achievedPerSec,
    latencyMs: f.latencyMs,
    errors: f.errors,
    cpuPercent: f.serverUsage.cpuPercent,
    cpuUsPerRenewal: f.cpuUsPerRenewal,
    generatorsCpuPercent: f.generatorsCpuPercent,
    othersPercentOfCore: f.machine.othersPercentOfCore,
  });
  return {
    command: `bench:witness -- ${args.join(' ')}`,
    nodes,
    heartbeatMs,
    witness: server(result.witness),
    echo: server(result.echo),
    p50VsEcho: ratio(step.renewLatencyMs.p50, result.echo.latencyMs.p50),
    p99VsEcho: ratio(step.renewLatencyMs.p99, result.echo.latencyMs.p99),
  };
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), SPEC);
  if (flags.help) {
    const summary =
      'Real library sidecars (both of each group) against one witness, ramped, beside the echo server at the same renewal rate.';
    process.stdout.write(`${usage('npm run bench:pairs -- [options]', summary, SPEC)}\n`);
    return 0;
  }
  const steps = String(flags.groups)
    .split(',')
    .map((s) => Number(s.trim()));
  if (steps.some((g) => !Number.isInteger(g) || g < 1))
    throw new UsageError('--groups: positive integers, comma-separated');
  const profileDir = typeof flags.profile === 'string' ? path.resolve(flags.profile) : undefined;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bench-pairs-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run: Run = {
    hosts: Math.floor(Number(flags.hosts)),
    seconds: Number(flags.seconds),
    settleMs: Number(flags.settle),
    warmupMs: Number(flags.warmup),
    nice: Math.floor(Number(flags.nice)),
    concurrency: Math.floor(Number(flags.concurrency)),
    echo: flags.echo === true,
    echoClient: String(flags['echo-client']),
    profileDir,
    dir,
  };
  const machine = machineInfo();
  progress(`machine: ${machine.cpus} cores (${machine.model}), node ${machine.node}; ${machine.uptime}`);
  const results: StepFigures[] = [];
  for (const groups of steps) {
    const step = await measureStep(run, groups);
    if (step.overlaps > 0 || step.bothActiveMax > 0)
      process.stderr.write(
        `\n!!! ${groups} groups: BOTH SIDECARS OF A GROUP ACTIVE AT ONCE: ${step.overlaps} overlaps, ` +
          `${step.bothActiveMax} groups at one sample: ${step.overlapSamples.join('; ')}\n\n`,
      );
    if (run.echo && step.renewalsPerSec > 0) step.echo = await echoAtRate(run, step);
    results.push(step);
  }
  const config = { steps, ...run, dir: undefined, sidecarSettings: 'defaults (heartbeat 200ms, timeout 1s, lease 2s)' };
  if (flags.json === true) process.stdout.write(`${JSON.stringify({ bench: 'pairs', machine, config, results })}\n`);
  else process.stdout.write(`${renderPairs(machine.uptime, config, results)}\n`);
  if (profileDir) {
    fs.writeFileSync(path.join(profileDir, 'windows.json'), `${JSON.stringify(profileWindows)}\n`);
    progress(
      `CPU profiles of the hosts in ${profileDir}; the measured window of a step: ` +
        `node dist/test/bench/profile-summary.js ${profileDir}/pairs-host-${steps[0]}-0.cpuprofile --window s${steps[0]}`,
    );
  }
  return results.some((s) => s.overlaps > 0 || s.bothActiveMax > 0) ? 1 : 0;
}

/** Per step: start-up, settle, warm-up, the measured window, closing, and the echo comparison's four windows. */
function hardLimitMs(): number {
  try {
    const flags = parseFlags(process.argv.slice(2), SPEC);
    const steps = String(flags.groups).split(',').map(Number);
    const perStep = (g: number): number =>
      240_000 + Number(flags.settle) + Number(flags.warmup) + 6 * Number(flags.seconds) * 1000 + g * 100;
    return steps.reduce((ms, g) => ms + perStep(Number.isFinite(g) ? g : 0), 60_000);
  } catch {
    return 60_000; // a usage error: main reports it at once
  }
}

if (require.main === module) runScript(main, hardLimitMs());
