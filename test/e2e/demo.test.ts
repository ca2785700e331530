/**
 * `witness demo` as a newcomer runs it (issue 15): the built CLI as a real process. It shows a
 * failover to b and a hand-back to a under increasing epochs, within a minute, and leaves nothing
 * behind: no process it started (found by the PIDs it prints, and by a marker variable every
 * descendant inherits), no temporary directory; also when interrupted with Ctrl-C midway.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { groupAlive } from '../../src/sidecar/watchdog/process-group';
import { killAllTracked, spawnNode, type TrackedProcess } from '../support/processes';
import { cleanEnv, WITNESS_MAIN } from '../support/witness-process';

/** What issue 15 promises: a failover and a hand-back in under a minute. */
const PROMISED_MS = 60_000;
/** The demo's own limit is 90 s; past it plus its clean-up, it is hung. */
const EXIT_TIMEOUT_MS = 110_000;
/**
 * Set in the demo's environment, inherited by everything it starts (the demo passes on all but
 * WITNESS_* variables): how the test finds a descendant whose PID the demo never printed (a watchdog).
 */
const MARK_VARIABLE = 'DEMO_TEST_MARK';

function startDemo(marker: string, args: readonly string[] = []): TrackedProcess {
  return spawnNode(WITNESS_MAIN, ['demo', ...args], { name: 'demo', env: { ...cleanEnv(), [MARK_VARIABLE]: marker } });
}

/**
 * PIDs of processes whose environment carries `marker`: the demo's descendants still running (a
 * zombie's environment reads empty, so it is not counted).
 */
function processesMarked(marker: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((name) => {
      try {
        return fs.readFileSync(`/proc/${name}/environ`, 'utf8').includes(`${MARK_VARIABLE}=${marker}`);
      } catch {
        return false; // gone meanwhile, or not ours
      }
    })
    .map(Number);
}

/** Every PID the demo printed: in its start lines and in its clean-up line. */
function printedPids(lines: readonly string[]): number[] {
  const text = lines.join('\n');
  const pids = [...text.matchAll(/\bpid (\d+)/g)].map((m) => Number(m[1]));
  const cleanup = /pids ((?:\d+ ?)+)/.exec(text)?.[1] ?? '';
  return [...new Set([...pids, ...cleanup.trim().split(' ').filter(Boolean).map(Number)])];
}

function directoryOf(lines: readonly string[]): string {
  const dir = /are in (\S+?witness-demo-\w+)/.exec(lines.join('\n'))?.[1];
  expect(dir, lines.join('\n')).to.be.a('string');
  return dir as string;
}

/** The epoch of the first "X runs, epoch E" line after `heading`, for node X. */
function epochAfter(lines: readonly string[], heading: string, node: string): bigint {
  const from = lines.findIndex((line) => line.includes(heading));
  const line = lines.slice(from + 1).find((l) => new RegExp(`^\\s*\\S+\\s+${node} runs, epoch \\d+`).test(l));
  expect([from, line], `no "${node} runs" after "${heading}":\n${lines.join('\n')}`).to.satisfy(
    ([index, found]: [number, string | undefined]) => index >= 0 && found !== undefined,
  );
  return BigInt(/epoch (\d+)/.exec(line as string)?.[1] ?? '0');
}

describe('witness demo (real processes)', function () {
  this.timeout(EXIT_TIMEOUT_MS + 20_000);
  const marker = randomUUID();

  afterEach(async () => {
    await killAllTracked();
    // A failed test must not leave the demo's children either.
    for (const pid of processesMarked(marker)) process.kill(pid, 'SIGKILL');
  });

  it('shows a failover to b and a hand-back to a, epochs increasing, in under a minute; leaves nothing', async () => {
    const started = Date.now();
    const demo = startDemo(marker);
    const exit = await demo.runToCompletion(EXIT_TIMEOUT_MS);
    const took = Date.now() - started;
    const lines = demo.stdoutLines;
    const output = `${lines.join('\n')}\n${demo.stderrLines.join('\n')}`;
    expect(exit.code, output).to.equal(0);
    const first = epochAfter(lines, '1. Start', 'a');
    const failover = epochAfter(lines, '2. Failover', 'b');
    const handBack = epochAfter(lines, '3. Hand-back', 'a');
    expect([first < failover, failover < handBack], `epochs ${first}, ${failover}, ${handBack}`).to.deep.equal([
      true,
      true,
    ]);
    expect(took, `the demo took ${took} ms`).to.be.below(PROMISED_MS);
    const pids = printedPids(lines);
    // The witness, a, b, a restarted, and a workload per epoch.
    expect(pids, output).to.have.length.of.at.least(7);
    // Each printed PID leads its process group (the demo starts every child in one of its own).
    expect(pids.filter(groupAlive), 'printed PIDs (or their groups) still alive').to.deep.equal([]);
    expect(processesMarked(marker), 'descendants of the demo still alive').to.deep.equal([]);
    expect(fs.existsSync(directoryOf(lines)), 'the temporary directory is left').to.equal(false);
  });

  it('Ctrl-C midway (SIGINT once a runs): stops every process, removes its directory, exits 1 saying so', async () => {
    const demo = startDemo(marker);
    await demo.waitForLine(/a runs, epoch/, EXIT_TIMEOUT_MS / 2);
    const dir = directoryOf(demo.stdoutLines);
    expect(fs.existsSync(dir), 'the directory exists while the demo runs').to.equal(true);
    demo.child.kill('SIGINT');
    const exit = await demo.runToCompletion(30_000);
    const lines = demo.stdoutLines;
    expect([exit.code, demo.stderrLines.join('\n')], lines.join('\n')).to.satisfy(
      ([code, stderr]: [number, string]) => code === 1 && stderr.includes('interrupted by SIGINT'),
    );
    const pids = printedPids(lines);
    expect(pids, lines.join('\n')).to.have.length.of.at.least(4);
    // Each printed PID leads its process group (the demo starts every child in one of its own).
    expect(pids.filter(groupAlive), 'printed PIDs (or their groups) still alive').to.deep.equal([]);
    expect(processesMarked(marker), 'descendants of the demo still alive').to.deep.equal([]);
    expect(fs.existsSync(dir), 'the temporary directory is left').to.equal(false);
  });
});
