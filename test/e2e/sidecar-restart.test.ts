/**
 * A sidecar restart that keeps its workload (design §9.8), with real processes on loopback: SIGUSR2
 * of the active sidecar (started with --state-dir) hands the run to its watchdog, the process exits
 * 75, and the next sidecar process adopts the run on the watchdog's socket and renews it under the
 * same epoch: the same workload process runs on and the peer never takes over. The same from an
 * older install whose files are gone by then (an upgrade), and the two ways it must still end: the
 * adopted run's sidecar killed (-9) stops it at once, and a kept run that nobody adopts stops at
 * its deadline. The lease is longer than the cluster's default so that a restart on a loaded
 * machine fits in the window (lease less stop budget after the last renewal); the restart's own
 * time is measured and printed.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Cluster, isAlive, sleep, timeline, useCluster } from '../support/cluster';
import { coldStart, steady } from '../support/cluster-steady';
import { runCli } from '../support/cli-run';
import { watchdogPids } from '../support/one-sidecar';
import { wallToTimeline } from '../support/timeline';
import { spawnNode } from '../support/processes';
import { cleanEnv, WITNESS_MAIN } from '../support/witness-process';

const LEASE_MS = 3000;
const RESTART_EXIT_STATUS = 75;

function report(line: string): void {
  process.stdout.write(`      [measure] ${line}\n`);
}

describe('e2e: a sidecar restart (SIGUSR2 with --state-dir) keeps its workload', function () {
  this.timeout(60_000);
  useCluster();
  let stateRoot = '';
  const watchdogs = new Set<number>();

  beforeEach(function () {
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-state-'));
  });

  afterEach(function () {
    // A watchdog outlives the sidecar that spawned it here: stop any left by its pid.
    for (const pid of watchdogs) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    watchdogs.clear();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  const stateArgs = (node: string): string[] => ['--state-dir', path.join(stateRoot, node)];

  function noteWatchdogs(c: Cluster): void {
    for (const proc of [c.proc('a'), c.proc('b')]) for (const pid of watchdogPids(proc)) watchdogs.add(pid);
  }

  /** SIGUSR2 to a's sidecar: it exits 75, leaving its run to the watchdog. Returns when it exited. */
  async function exitForRestart(c: Cluster): Promise<number> {
    noteWatchdogs(c);
    expect(c.proc('a').kill('SIGUSR2'), 'SIGUSR2 sent').to.equal(true);
    const exit = await c.proc('a').waitForExit(5000);
    expect(exit.code, "a's sidecar exit status").to.equal(RESTART_EXIT_STATUS);
    expect(
      c.logged(
        'a',
        'exiting for a restart: the watchdog keeps the workload for the next sidecar process until its deadline',
      ).length,
    ).to.equal(1);
    return timeline();
  }

  /** Starts a's next sidecar process and waits until it renews the adopted run. */
  async function adoptedAgain(c: Cluster, epoch: string | null, exitedAt: number): Promise<void> {
    await c.restart('a');
    noteWatchdogs(c);
    await c.waitFor(
      "a's new sidecar process runs the adopted workload on a renewed lease",
      async () => {
        const s = await c.state('a');
        return s?.active === true && s.epoch === epoch && s.witnessLeaseRemainingMs > 0 && s.holding;
      },
      LEASE_MS,
    );
    const adopted = c.logged('a', 'workload adopted');
    expect(adopted.length, 'the new process logged the adoption').to.equal(1);
    report(
      `restart: the new sidecar process adopted the run ${(wallToTimeline(adopted[0]!.time ?? Number.NaN) - exitedAt).toFixed(0)} ms after the old one exited`,
    );
  }

  /** a's one run goes on: the same process, never stopped, ticking after the restart; b never ran. */
  async function sameRunGoesOn(c: Cluster, since: number): Promise<void> {
    await sleep(500);
    const runs = c.intervalsOf('a');
    expect(runs.length, "a's workload started once").to.equal(1);
    expect(
      c.openIntervals().map((iv) => iv.pid),
      "a's workload was never stopped",
    ).to.deep.equal([runs[0]!.pid]);
    expect(runs[0]!.lastTick ?? 0, 'it ticked after the restart').to.be.above(since);
    expect(c.intervalsOf('b'), 'b never ran').to.deep.equal([]);
  }

  it('restarted: the same workload process runs on under the same epoch; a kill -9 after still stops it at once', async function () {
    const c = await coldStart({ leaseMs: LEASE_MS, sidecarArgs: stateArgs });
    await steady(c);
    const run = c.intervalsOf('a')[0]!;
    const exitedAt = await exitForRestart(c);
    await adoptedAgain(c, run.epoch, exitedAt);
    await sameRunGoesOn(c, exitedAt);

    const killedAt = timeline();
    await c.kill('a');
    await c.waitFor(
      "a's adopted workload stops once its sidecar is killed",
      () => c.openIntervals().length === 0,
      2000,
    );
    const stoppedAfter = c.intervalsOf('a')[0]!.end! - killedAt;
    report(`kill -9 of the adopting sidecar: its workload stopped ${stoppedAfter.toFixed(0)} ms later`);
    expect(stoppedAfter, 'stopped at once (SIGTERM when the socket closed), not at the deadline').to.be.below(1000);
    await c.waitFor('b takes over', () => c.intervalsOf('b').length > 0, 2 * LEASE_MS);
    c.assertNoOverlaps();
  });

  it('upgraded: the sidecar of an older install, its files gone, hands its run to this build', async function () {
    const install = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-old-install-'));
    try {
      const dist = path.resolve(WITNESS_MAIN, '../../..');
      fs.cpSync(path.join(dist, 'src'), path.join(install, 'dist', 'src'), { recursive: true });
      fs.cpSync(path.resolve(dist, '..', 'proto'), path.join(install, 'proto'), { recursive: true });
      fs.symlinkSync(path.resolve(dist, '..', 'node_modules'), path.join(install, 'node_modules'), 'dir');
      const oldMain = path.join(install, 'dist', 'src', 'cli', 'main.js');
      let upgraded = false;
      const c = await coldStart({
        leaseMs: LEASE_MS,
        sidecarArgs: stateArgs,
        main: (name) => (name === 'a' && !upgraded ? oldMain : WITNESS_MAIN),
      });
      await steady(c);
      // The package is replaced: the running sidecar and watchdog have their code loaded already.
      fs.rmSync(install, { recursive: true, force: true });
      const run = c.intervalsOf('a')[0]!;
      const exitedAt = await exitForRestart(c);
      upgraded = true;
      await adoptedAgain(c, run.epoch, exitedAt);
      await sameRunGoesOn(c, exitedAt);
      c.assertNoOverlaps();
    } finally {
      fs.rmSync(install, { recursive: true, force: true });
    }
  });

  it('a kept run that no process adopts stops at its deadline, and b takes over', async function () {
    const c = await coldStart({ leaseMs: LEASE_MS, sidecarArgs: stateArgs });
    await steady(c);
    const exitedAt = await exitForRestart(c);
    const socket = path.join(stateRoot, 'a', 'watchdog.sock');
    expect(fs.existsSync(socket), 'the watchdog listens for the next process').to.equal(true);
    // A sidecar of another node given this directory is refused (its epoch record is a's), and leaves the run kept.
    // Run as a process of its own: the kept run goes on meanwhile, which the run log shows.
    const wrong = spawnNode(
      WITNESS_MAIN,
      [
        'sidecar',
        '--group',
        'g1',
        '--node',
        'x',
        '--peer-node',
        'y',
        '--state-dir',
        path.join(stateRoot, 'a'),
        '--',
        'true',
      ],
      { name: 'wrong sidecar', env: cleanEnv() },
    );
    const refused = await wrong.waitForExit(10_000);
    expect(refused.code, wrong.output(10)).to.equal(2);
    expect(wrong.output(10))
      .to.match(/stateDir/)
      .and.match(/is the record of node a of group g1/);
    const run = c.intervalsOf('a')[0]!;
    expect(isAlive(run.pid), 'the kept workload still runs').to.equal(true);
    await c.waitFor("a's kept workload stops", () => c.openIntervals().length === 0, LEASE_MS);
    const stoppedAfter = c.intervalsOf('a')[0]!.end! - exitedAt;
    report(`no adopter: the kept workload stopped ${stoppedAfter.toFixed(0)} ms after its sidecar exited`);
    expect(stoppedAfter, 'it ran on until its deadline, within a lease').to.be.above(200).and.below(LEASE_MS);
    await c.waitFor('the watchdog exits and removes its socket', () => !fs.existsSync(socket), 2000);
    await c.waitFor('b takes over', () => c.intervalsOf('b').length > 0, 2 * LEASE_MS);
    c.assertNoOverlaps();
  });

  it('a kept run whose watchdog is killed in the gap is killed by the next process before it starts afresh', async function () {
    const c = await coldStart({ leaseMs: LEASE_MS, sidecarArgs: stateArgs });
    await steady(c);
    const run = c.intervalsOf('a')[0]!;
    const watchdog = watchdogPids(c.proc('a'))[0]!;
    await exitForRestart(c);
    process.kill(watchdog, 'SIGKILL');
    await sleep(100);
    expect(isAlive(run.pid), 'the orphaned workload runs on: nothing enforces its deadline').to.equal(true);
    await c.restart('a');
    noteWatchdogs(c);
    expect(isAlive(run.pid), 'the next process killed it before it was ready').to.equal(false);
    expect(c.logged('a', 'workload adopted'), 'nothing was adopted').to.deep.equal([]);
    await c.waitFor('the pair runs again', () => c.openIntervals().length === 1, 3 * LEASE_MS);
    c.assertNoOverlaps();
  });

  it('a --state-dir that others may write to is refused at start (exit 2, naming stateDir)', function () {
    const dir = path.join(stateRoot, 'shared');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o777);
    const result = runCli([
      'sidecar',
      '--group',
      'g1',
      '--node',
      'a',
      '--peer-node',
      'b',
      '--state-dir',
      dir,
      '--',
      'true',
    ]);
    expect(result.code, result.stderr).to.equal(2);
    expect(result.stderr)
      .to.match(/stateDir/)
      .and.match(/writable by others/);
  });
});
