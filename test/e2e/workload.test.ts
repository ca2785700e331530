import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAllTracked, spawnNode, type TrackedProcess } from '../support/processes';
import { findOverlaps, formatTimeline, readIntervals } from '../support/run-intervals';
import { WORKLOAD_SCRIPT } from '../support/workload';

const TICK_MS = 20;
const STARTED = /^workload started /;

/** Whether `pid` exists and is not a zombie (Linux /proc). */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('workload processes and the S1 checker (real processes)', function () {
  this.timeout(15000);
  let dir: string;
  let log: string;

  const startWorkload = async (node: string, epoch: string, extra: string[] = []): Promise<TrackedProcess> => {
    const p = spawnNode(
      WORKLOAD_SCRIPT,
      ['--log', log, '--tick', String(TICK_MS), '--max-runtime', '60000', ...extra],
      {
        name: `workload-${node}`,
        env: { ...process.env, WITNESS_NODE: node, WITNESS_EPOCH: epoch, WITNESS_GROUP: 'g1' },
      },
    );
    await p.waitForLine(STARTED, 5000);
    return p;
  };

  const terminate = async (p: TrackedProcess): Promise<void> => {
    expect(p.kill('SIGTERM')).to.equal(true);
    const exit = await p.waitForExit(5000);
    expect(exit, p.output()).to.deep.equal({ code: 0, signal: null });
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workload-e2e-'));
    log = path.join(dir, 'workload.log');
  });

  afterEach(async () => {
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two runs one after the other do not overlap', async () => {
    const a = await startWorkload('a', '1');
    await sleep(150);
    await terminate(a);
    const b = await startWorkload('b', '2');
    await sleep(150);
    await terminate(b);

    const intervals = readIntervals(log);
    const timeline = formatTimeline(intervals);
    expect(
      intervals.map((iv) => [iv.node, iv.pid, iv.epoch, iv.group, iv.endedBy]),
      timeline,
    ).to.deep.equal([
      ['a', a.pid, '1', 'g1', 'stop'],
      ['b', b.pid, '2', 'g1', 'stop'],
    ]);
    for (const iv of intervals) {
      expect(iv.ticks, timeline).to.be.at.least(3);
      expect(iv.end - iv.start, timeline).to.be.within(100, 3000);
    }
    expect(findOverlaps(intervals), timeline).to.deep.equal([]);
  });

  it('two runs at the same time are reported as overlapping', async () => {
    const [a, b] = await Promise.all([startWorkload('a', '1'), startWorkload('b', '2')]);
    await sleep(200);
    await Promise.all([terminate(a), terminate(b)]);

    const intervals = readIntervals(log);
    const timeline = formatTimeline(intervals);
    expect(intervals, timeline).to.have.length(2);
    const overlaps = findOverlaps(intervals);
    expect(overlaps, timeline).to.have.length(1);
    expect([overlaps[0]!.a.pid, overlaps[0]!.b.pid].sort(), timeline).to.deep.equal([a.pid, b.pid].sort());
    expect(overlaps[0]!.overlapMs, timeline).to.be.at.least(150);
  });

  it('a workload ignoring SIGTERM keeps ticking until SIGKILL; its interval ends by the tick rule', async () => {
    const a = await startWorkload('a', '1', ['--ignore-sigterm']);
    expect(a.kill('SIGTERM')).to.equal(true);
    await a.waitForLine(/ignoring SIGTERM/, 2000);
    const ignoredAt = readIntervals(log)[0]!;
    await sleep(150);
    expect(a.running).to.equal(true);
    const stillTicking = readIntervals(log)[0]!;
    expect(stillTicking.ticks).to.be.above(ignoredAt.ticks);

    expect(a.kill('SIGKILL')).to.equal(true);
    expect(await a.waitForExit(5000)).to.deep.equal({ code: null, signal: 'SIGKILL' });
    const [iv, ...rest] = readIntervals(log);
    expect(rest).to.deep.equal([]);
    expect(iv!.endedBy).to.equal('last-tick');
    expect(iv!.end).to.equal(iv!.lastTick! + TICK_MS);
    expect(fs.readFileSync(log, 'utf8')).to.not.match(/"event":"stop"/);
  });

  it('killAllTracked() SIGKILLs a process that ignores SIGTERM', async () => {
    const a = await startWorkload('a', '1', ['--ignore-sigterm']);
    const killed = await killAllTracked();
    expect(killed).to.deep.equal([a.pid]);
    expect(a.exitInfo).to.deep.equal({ code: null, signal: 'SIGKILL' });
    expect(() => process.kill(a.pid, 0)).to.throw(/ESRCH/);
  });

  it('killAllTracked() also kills the process group of a detached process', async () => {
    // A detached shell whose child (the workload) would outlive a kill of the shell's PID alone.
    const shell = spawnNode(
      '-e',
      [
        `const c = require('child_process').spawn(process.execPath, [${JSON.stringify(WORKLOAD_SCRIPT)}, '--log', ${JSON.stringify(log)}, '--ignore-sigterm', '--max-runtime', '60000'], { stdio: 'inherit' });` +
          `console.log('grandchild ' + c.pid); setInterval(() => {}, 1000);`,
      ],
      { name: 'group-leader', detached: true },
    );
    const line = await shell.waitForLine(/^grandchild \d+$/, 5000);
    const grandchild = Number(line.split(' ')[1]);
    await shell.waitForLine(STARTED, 5000);
    try {
      await killAllTracked();
      // The grandchild is not our child: poll until it is gone or a zombie (bounded).
      const deadline = Date.now() + 3000;
      while (isAlive(grandchild) && Date.now() < deadline) await sleep(20);
      expect(isAlive(grandchild), `grandchild ${grandchild} survived`).to.equal(false);
    } finally {
      if (isAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
  });

  it('waitForLine rejects when the process exits without printing the line', async () => {
    const p = spawnNode('-e', ['console.log("bye")'], { name: 'short' });
    let error: Error | null = null;
    try {
      await p.waitForLine(/never printed/, 5000);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/output (already )?ended without a matching line[\s\S]*bye/);
    expect(await p.waitForExit(2000)).to.deep.equal({ code: 0, signal: null });
  });
});
