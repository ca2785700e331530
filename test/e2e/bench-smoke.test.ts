/**
 * The benchmark scripts (test/bench, `npm run bench:*`) are scripts, never timed tests: here each
 * runs for a second or two with small numbers, and the test only checks that it exits 0, prints
 * its fields, and leaves none of the processes it started behind. No figure is asserted.
 */
import { expect } from 'chai';
import path from 'node:path';
import { isAlive, pidsWithCmdline } from '../support/cluster';
import { requireEtcd } from '../support/etcd-cluster';
import { killAllTracked, spawnTracked } from '../support/processes';
import { cleanEnv } from '../support/witness-process';

const BENCH_DIR = path.resolve(__dirname, '../bench');

interface BenchRun {
  code: number | null;
  stdout: string[];
  stderr: string[];
}

async function runBench(script: string, args: readonly string[], timeoutMs: number): Promise<BenchRun> {
  const proc = spawnTracked(process.execPath, [path.join(BENCH_DIR, script), ...args], {
    name: script,
    env: cleanEnv(),
    maxLines: 5000,
  });
  const exit = await proc.waitForExit(timeoutMs);
  await new Promise<void>((resolve) => {
    if (proc.child.stdout?.readableEnded && proc.child.stderr?.readableEnded) resolve();
    else proc.child.once('close', () => resolve());
    setTimeout(resolve, 2000);
  });
  return { code: exit.code, stdout: [...proc.stdoutLines], stderr: [...proc.stderrLines] };
}

function lastJson(run: BenchRun): Record<string, unknown> {
  const line = [...run.stdout].reverse().find((l) => l.startsWith('{'));
  if (line === undefined)
    throw new Error(`no JSON line on stdout:\n${run.stdout.join('\n')}\n${run.stderr.join('\n')}`);
  return JSON.parse(line) as Record<string, unknown>;
}

function expectSuccess(run: BenchRun): void {
  expect(run.code, `exit status; stderr:\n${run.stderr.slice(-40).join('\n')}`).to.equal(0);
}

/** Every pid the report names has exited (the script stopped what it started). */
function expectGone(pids: number[]): void {
  const alive = pids.filter((pid) => isAlive(pid));
  expect(alive, 'processes the benchmark started and left running').to.deep.equal([]);
}

const isNumber = (v: unknown): boolean => typeof v === 'number' && !Number.isNaN(v);

describe('benchmark scripts (smoke: they run and print their fields; no timing assertions)', function () {
  this.timeout(120_000);
  afterEach(async function () {
    await killAllTracked(5000);
  });

  it('bench:witness (paced, streams and unary) prints both servers, their ratios and the targets', async function () {
    const run = await runBench(
      'witness-bench.js',
      ['--nodes', '20', '--seconds', '2', '--warmup', '500ms', '--segment', '1s', '--generators', '2', '--json'],
      90_000,
    );
    expectSuccess(run);
    const report = lastJson(run) as {
      results: {
        mode: string;
        witness: Record<string, unknown>;
        echo: Record<string, unknown>;
        ratios: Record<string, unknown>;
      }[];
      targets: unknown[];
    };
    expect(report.results.map((r) => r.mode)).to.deep.equal(['stream', 'unary']);
    const pids: number[] = [];
    for (const r of report.results) {
      for (const f of [r.witness, r.echo]) {
        expect(f).to.include.keys(
          'offeredPerSec',
          'achievedPerSec',
          'latencyMs',
          'errors',
          'serverUsage',
          'generatorsCpuPercent',
          'machine',
        );
        expect(isNumber(f.achievedPerSec), 'achievedPerSec').to.equal(true);
        expect(f.latencyMs).to.include.keys('p50', 'p99', 'max');
        const usage = f.serverUsage as { cpuPercent: unknown; rssMaxMb: unknown; pid: number };
        expect(isNumber(usage.cpuPercent) && isNumber(usage.rssMaxMb), 'server CPU and RSS').to.equal(true);
        pids.push(usage.pid);
      }
      expect(r.ratios).to.include.keys('p50', 'p99', 'max', 'throughput');
    }
    expect(report.targets.length).to.be.greaterThan(0);
    expectGone(pids);
  });

  it('bench:witness --max prints the table with the throughput ratio', async function () {
    const run = await runBench(
      'witness-bench.js',
      [
        '--nodes',
        '20',
        '--seconds',
        '1',
        '--warmup',
        '200ms',
        '--segment',
        '500ms',
        '--mode',
        'stream',
        '--max',
        '--inflight',
        '20',
      ],
      60_000,
    );
    expectSuccess(run);
    const text = run.stdout.join('\n');
    for (const field of [
      'saturation',
      'achieved/s',
      'p50 ms',
      'p99 ms',
      'witness/echo',
      'max throughput witness/echo',
    ]) {
      expect(text).to.include(field);
    }
  });

  it('bench:pairs --groups 2 holds both groups of real sidecars and prints them beside the echo server', async function () {
    const run = await runBench(
      'pairs-bench.js',
      ['--groups', '2', '--seconds', '1', '--warmup', '200ms', '--json'],
      110_000,
    );
    expectSuccess(run);
    const report = lastJson(run) as {
      results: {
        groups: number;
        held: { atStart: number; min: number; end: number };
        overlaps: number;
        bothActiveMax: number;
        renewalsPerSec: number;
        renewLatencyMs: { count: number; p50: number; p99: number };
        peerHeartbeatsPerSec: number;
        witnessUsage: { pid: number; cpuPercent: number };
        hostUsage: { pid: number; cpuPercent: number }[];
        machine: Record<string, unknown>;
        echo: { heartbeatMs: number; echo: { latencyMs: { p99: number }; achievedPerSec: number }; p99VsEcho: number };
      }[];
    };
    expect(report.results).to.have.length(1);
    const step = report.results[0]!;
    expect(step.groups).to.equal(2);
    expect(step.held).to.deep.equal({ atStart: 2, min: 2, end: 2 });
    expect(step.overlaps + step.bothActiveMax, 'groups with both sidecars active').to.equal(0);
    expect(step.renewLatencyMs.count, 'renewals timed in the sidecars').to.be.greaterThan(0);
    expect(isNumber(step.renewLatencyMs.p99) && isNumber(step.peerHeartbeatsPerSec)).to.equal(true);
    expect(step.renewalsPerSec).to.be.greaterThan(0);
    expect(step.hostUsage).to.have.length(2);
    expect(step.machine).to.include.keys('othersPercentOfCore');
    expect(isNumber(step.echo.echo.latencyMs.p99) && isNumber(step.echo.p99VsEcho), 'echo comparison').to.equal(true);
    expect(step.echo.echo.achievedPerSec).to.be.greaterThan(0);
    expectGone([step.witnessUsage.pid, ...step.hostUsage.map((h) => h.pid)]);
    expect(pidsWithCmdline('fw-bench-pairs-'), 'witnesses of the run left running').to.deep.equal([]);
  });

  it('bench:failover --trials 1 prints the failover times, their ratio to the lease and the overlap check', async function () {
    const run = await runBench('failover-bench.js', ['--trials', '1', '--json'], 90_000);
    expectSuccess(run);
    const report = lastJson(run) as { summary: Record<string, unknown>; trials: Record<string, unknown>[] };
    expect(report.summary).to.include.keys('failoverMs', 'sidecarStartMs', 'p99OverLease', 'overlaps', 'intervals');
    expect(report.summary.overlaps).to.equal(0);
    expect(report.trials).to.have.length(1);
    expect(report.trials[0]).to.include.keys('fault', 'failoverMs', 'sidecarStartMs', 'oldStoppedMs');
    expect(isNumber(report.trials[0]?.failoverMs), 'failoverMs').to.equal(true);
  });

  it('bench:replicas --trials 1 prints the failover and leader-change times and the overlap check', async function () {
    requireEtcd(this);
    const run = await runBench('replicas-bench.js', ['--trials', '1', '--json'], 110_000);
    expectSuccess(run);
    const report = lastJson(run) as { summary: Record<string, { count: number; p50: number }> & { overlaps: number } };
    expect(report.summary).to.include.keys('failoverMs', 'leaderServingMs', 'leaderMayGrantMs', 'overlaps');
    expect(report.summary.overlaps).to.equal(0);
    for (const key of ['failoverMs', 'leaderServingMs', 'leaderMayGrantMs'] as const) {
      expect(report.summary[key]?.count, key).to.equal(1);
      expect(isNumber(report.summary[key]?.p50), key).to.equal(true);
    }
    expect(pidsWithCmdline('fw-etcd-'), 'etcd members left running').to.deep.equal([]);
    expect(pidsWithCmdline('fw-replicas-'), 'witness replicas left running').to.deep.equal([]);
  });

  it('bench:sidecar prints RSS and CPU of each sidecar', async function () {
    const run = await runBench('sidecar-bench.js', ['--seconds', '2', '--settle', '500ms', '--json'], 90_000);
    expectSuccess(run);
    const report = lastJson(run) as {
      processes: { name: string; pid: number; cpuPercent: unknown; rssMaxMb: unknown }[];
    };
    const sidecars = report.processes.filter((p) => p.name.startsWith('sidecar'));
    expect(sidecars).to.have.length(2);
    for (const p of sidecars)
      expect(isNumber(p.cpuPercent) && isNumber(p.rssMaxMb), `${p.name}: CPU and RSS`).to.equal(true);
    expectGone(report.processes.map((p) => p.pid));
  });
});
