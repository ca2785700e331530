/**
 * The watchdog and WorkloadSupervisor with real processes: the workload is
 * test/support/workload.ts (it logs start/tick/stop lines with its pid and WITNESS_* environment),
 * wrapped in `sh -c 'exec "$@" >> out'` so that its stdout goes to a file, not into the test output
 * (exec keeps the pid, so the pid reported is the workload's).
 *
 * Every process a test starts (workloads and their process groups, watchdogs, drivers, stray
 * children) is SIGCONTed and SIGKILLed by PID in afterEach, also when the test failed.
 */
import { expect } from 'chai';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monotonicNowMs } from '../../src/sidecar/monotonic-clock';
import {
  findProcessesByEnv,
  RUN_ID_VARIABLE,
  WorkloadSupervisor,
  type WorkloadStopped,
} from '../../src/sidecar/workload-supervisor';
import { killAllTracked, spawnNode, type TrackedProcess } from '../support/processes';
import type { WorkloadLogLine } from '../support/run-intervals';
import { WORKLOAD_SCRIPT } from '../support/workload';

const EPOCH = (1n << 40n) + 7n; // more than 2^32: checks the bigint is passed whole
const ENV = { WITNESS_GROUP: 'g1', WITNESS_NODE: 'a' };
const FAR = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Gone for good: `kill(pid, 0)` fails with ESRCH (exited and reaped). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Exists and is not a zombie. For processes whose parent died: they are reparented to PID 1, which
 * in some containers never reaps them, so `kill(pid, 0)` would keep succeeding on the zombie.
 */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls `cond` every 5 ms; resolves with the elapsed ms, rejects after `timeoutMs`. */
async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = monotonicNowMs();
  for (;;) {
    if (cond()) return monotonicNowMs() - t0;
    if (monotonicNowMs() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(5);
  }
}

/** The next `name` event's arguments; rejects after `timeoutMs`. Create it right before awaiting. */
function nextEvent<T extends unknown[]>(em: EventEmitter, name: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const on = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      em.off(name, on);
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    em.once(name, on);
  });
}

function readLog(file: string): WorkloadLogLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as WorkloadLogLine);
}

async function waitForLogLine(
  file: string,
  match: (l: WorkloadLogLine) => boolean,
  timeoutMs: number,
  what: string,
): Promise<WorkloadLogLine> {
  let hit: WorkloadLogLine | undefined;
  await waitUntil(() => (hit = readLog(file).find(match)) !== undefined, timeoutMs, `log line: ${what}`);
  return hit!;
}

describe('watchdog and workload supervisor (real processes)', function () {
  this.timeout(15000);

  let dir: string;
  let log: string;
  let out: string;
  let supervisors: WorkloadSupervisor[];
  /** Process group leaders (workloads): killed by group and by pid. */
  let groups: Set<number>;
  /** Other processes (watchdogs, stray children). */
  let pids: Set<number>;
  let drivers: TrackedProcess[];

  /** The workload command: workload.js logging to `log`, its output to `out`. */
  const workloadArgv = (...extra: string[]): string[] => [
    '/bin/sh',
    '-c',
    'exec "$@" >>"$0" 2>&1',
    out,
    process.execPath,
    WORKLOAD_SCRIPT,
    '--log',
    log,
    '--tick',
    '20',
    '--max-runtime',
    '30000',
    ...extra,
  ];

  const makeSupervisor = (argv: string[], stopTimeoutMs: number, backstopMarginMs?: number): WorkloadSupervisor => {
    const sup = new WorkloadSupervisor({ argv, stopTimeoutMs, backstopMarginMs });
    supervisors.push(sup);
    sup.on('running', (pid: number) => {
      groups.add(pid);
      if (sup.watchdogPid !== undefined) pids.add(sup.watchdogPid);
    });
    return sup;
  };

  /**
   * start() and wait for 'running' and the workload's start line (its signal handlers are set).
   * The watchdog is spawned first (prepare()), so that its start-up, slow on a loaded machine,
   * does not eat a short start deadline.
   */
  const startAndWait = async (sup: WorkloadSupervisor, deadline: number | (() => number)): Promise<number> => {
    await sup.prepare();
    if (sup.watchdogPid !== undefined) pids.add(sup.watchdogPid);
    if (typeof deadline === 'function') deadline = deadline();
    const running = nextEvent<[number]>(sup, 'running', 5000);
    sup.start(EPOCH, ENV, deadline);
    if (sup.watchdogPid !== undefined) pids.add(sup.watchdogPid);
    const [pid] = await running;
    await waitForLogLine(log, (l) => l.event === 'start' && l.pid === pid, 5000, `start of ${pid}`);
    return pid;
  };

  const stopLine = (pid: number): WorkloadLogLine | undefined =>
    readLog(log).find((l) => l.pid === pid && l.event === 'stop');

  const driverScript = (): string => {
    const file = path.join(dir, 'driver.js');
    const supervisorModule = path.resolve(__dirname, '../../src/sidecar/workload-supervisor.js');
    const clockModule = path.resolve(__dirname, '../../src/sidecar/monotonic-clock.js');
    fs.writeFileSync(
      file,
      `'use strict';
const { WorkloadSupervisor } = require(${JSON.stringify(supervisorModule)});
const { monotonicNowMs } = require(${JSON.stringify(clockModule)});
const cfg = JSON.parse(process.argv[2]);
const sup = new WorkloadSupervisor({ argv: cfg.argv, stopTimeoutMs: cfg.stopTimeoutMs });
sup.on('running', (pid) => console.log('running pid=' + pid));
sup.on('stopped', (byItself, info) => console.log('stopped byItself=' + byItself + ' reason=' + info.reason));
sup.start(7n, { WITNESS_GROUP: 'g1', WITNESS_NODE: 'driver' }, monotonicNowMs() + cfg.firstLeaseMs);
console.log('watchdog pid=' + sup.watchdogPid);
setInterval(() => sup.feed(monotonicNowMs() + cfg.leaseMs), cfg.feedEveryMs);
`,
    );
    return file;
  };

  /** Spawns the driver and waits until its workload has started; returns [workload pid, watchdog pid]. */
  const startDriver = async (cfg: {
    argv: string[];
    stopTimeoutMs: number;
    /** Deadline of the start (long, so that a slow start under load cannot eat it). */
    firstLeaseMs: number;
    /** Deadline of every feed: now + leaseMs. */
    leaseMs: number;
    feedEveryMs: number;
  }): Promise<{ driver: TrackedProcess; pid: number; watchdogPid: number }> => {
    const driver = spawnNode(driverScript(), [JSON.stringify(cfg)], { name: 'driver' });
    drivers.push(driver);
    const wd = await driver.waitForLine(/^watchdog pid=\d+$/, 5000);
    const watchdogPid = Number(wd.split('=')[1]);
    pids.add(watchdogPid);
    const run = await driver.waitForLine(/^running pid=\d+$/, 5000);
    const pid = Number(run.split('=')[1]);
    groups.add(pid);
    await waitForLogLine(log, (l) => l.event === 'start' && l.pid === pid, 5000, `start of ${pid}`);
    return { driver, pid, watchdogPid };
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watchdog-e2e-'));
    log = path.join(dir, 'workload.log');
    out = path.join(dir, 'workload.out');
    supervisors = [];
    groups = new Set();
    pids = new Set();
    drivers = [];
  });

  afterEach(async function () {
    const signal = (target: number, sig: NodeJS.Signals): void => {
      try {
        process.kill(target, sig);
      } catch {
        // gone
      }
    };
    for (const sup of supervisors) {
      if (sup.watchdogPid !== undefined) pids.add(sup.watchdogPid);
      sup.removeAllListeners();
    }
    for (const d of drivers) signal(d.pid, 'SIGCONT'); // a stopped process must not stay stopped
    for (const pid of groups) {
      signal(-pid, 'SIGCONT');
      signal(-pid, 'SIGKILL');
      signal(pid, 'SIGKILL');
    }
    for (const pid of pids) {
      signal(pid, 'SIGCONT');
      signal(pid, 'SIGKILL');
    }
    await killAllTracked(); // the drivers, by pid
    const all = [...groups, ...pids];
    try {
      await waitUntil(() => all.every((p) => !isAlive(p)), 3000, `all test processes dead (${all.join(', ')})`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start: running with WITNESS_* in the environment; stop: SIGTERM honoured, stopped(byItself=false)', async () => {
    const sup = makeSupervisor(workloadArgv(), 2000);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    const start = readLog(log).find((l) => l.pid === pid && l.event === 'start');
    expect(start).to.include({ epoch: EPOCH.toString(), node: 'a', group: 'g1' });
    expect(sup.state).to.equal('running');
    expect(sup.workloadPid).to.equal(pid);
    // The run id that finds the workload without its pid (if the watchdog died before reporting it).
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const runId = environ.find((v) => v.startsWith(`${RUN_ID_VARIABLE}=`))?.slice(RUN_ID_VARIABLE.length + 1);
    expect(runId).to.be.a('string').and.not.equal('');
    expect(findProcessesByEnv(RUN_ID_VARIABLE, runId!)).to.deep.equal([pid]);

    const stopped = nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    const t0 = monotonicNowMs();
    sup.stop();
    const [byItself, info] = await stopped;
    const elapsed = monotonicNowMs() - t0;
    expect(byItself).to.equal(false);
    expect(info).to.include({ reason: 'requested', code: 0, signal: null, pid, escalated: false });
    expect(elapsed).to.be.below(1000);
    expect(gone(pid), 'workload gone').to.equal(true);
    expect(stopLine(pid)).to.include({ signal: 'SIGTERM' });
    expect(sup.state).to.equal('idle');
  });

  it('a workload that ignores SIGTERM is SIGKILLed after stopTimeoutMs', async () => {
    const stopTimeoutMs = 600;
    const sup = makeSupervisor(workloadArgv('--ignore-sigterm'), stopTimeoutMs);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    const stopped = nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    const t0 = monotonicNowMs();
    sup.stop();
    const [byItself, info] = await stopped;
    const elapsed = monotonicNowMs() - t0;
    expect(byItself).to.equal(false);
    expect(info).to.include({ reason: 'requested', signal: 'SIGKILL', escalated: true });
    expect(elapsed)
      .to.be.at.least(stopTimeoutMs)
      .and.below(stopTimeoutMs + 1000);
    expect(gone(pid)).to.equal(true);
    expect(readLog(log).some((l) => l.pid === pid && l.event === 'signal' && l.ignored === true)).to.equal(true);
    expect(stopLine(pid)).to.equal(undefined);
  });

  it('a deadline that passes without feed: the watchdog stops the workload by itself, on time', async () => {
    const sup = makeSupervisor(workloadArgv(), 500);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    // An earlier deadline than the one given at start (so a slow start cannot eat it): it counts.
    const deadline = monotonicNowMs() + 400;
    sup.feed(deadline);
    const [byItself, info] = await nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    const late = monotonicNowMs() - deadline;
    expect(byItself).to.equal(false);
    expect(info).to.include({ reason: 'deadline', code: 0, escalated: false });
    expect(late, 'stopped after the deadline').to.be.at.least(-1);
    expect(late, 'stopped soon after the deadline').to.be.below(400);
    expect(gone(pid)).to.equal(true);
    expect(stopLine(pid)).to.include({ signal: 'SIGTERM' });
  });

  it('feeding later deadlines keeps the workload running; it stops once the feed stops', async () => {
    const sup = makeSupervisor(workloadArgv(), 500);
    const stoppedEvents: WorkloadStopped[] = [];
    sup.on('stopped', (_byItself: boolean, info: WorkloadStopped) => stoppedEvents.push(info));
    let deadline = 0;
    // Fed from the start, as the sidecar does: the start deadline (300 ms) is long past at the check.
    const feeder = setInterval(() => {
      deadline = monotonicNowMs() + 300;
      sup.feed(deadline);
    }, 50);
    let pid: number;
    try {
      pid = await startAndWait(sup, () => (deadline = monotonicNowMs() + 300));
      await sleep(1200);
      expect(stoppedEvents).to.deep.equal([]);
      expect(sup.state).to.equal('running');
      expect(isAlive(pid)).to.equal(true);
    } finally {
      clearInterval(feeder);
    }
    const lastDeadline = deadline;
    await waitUntil(() => stoppedEvents.length > 0, 2000, "'stopped' after the feed stopped");
    const late = monotonicNowMs() - lastDeadline;
    expect(stoppedEvents[0]).to.include({ byItself: false, reason: 'deadline' });
    expect(late).to.be.at.least(-1).and.below(400);
    expect(gone(pid)).to.equal(true);
  });

  it('a workload that exits by itself: stopped(byItself=true)', async () => {
    const sup = makeSupervisor(workloadArgv('--max-runtime', '300'), 2000);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    const [byItself, info] = await nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    expect(byItself).to.equal(true);
    expect(info).to.include({ reason: 'exited', code: 0, signal: null, pid });
    expect(stopLine(pid)).to.include({ signal: 'max-runtime' });
    expect(gone(pid)).to.equal(true);
  });

  it('when the workload exits by itself, what is left of its process group is stopped too', async () => {
    const sleepPidFile = path.join(dir, 'sleep.pid');
    const argv = workloadArgv('--max-runtime', '300');
    // A child left behind in the workload's group: sh starts `sleep`, then execs the workload.
    argv[2] = `sleep 30 & echo $! > ${JSON.stringify(sleepPidFile)}; ${argv[2]}`;
    const sup = makeSupervisor(argv, 500);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    const sleepPid = Number(fs.readFileSync(sleepPidFile, 'utf8'));
    pids.add(sleepPid);
    expect(isAlive(sleepPid)).to.equal(true);
    const [byItself, info] = await nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    expect(byItself).to.equal(true);
    expect(info).to.include({ reason: 'exited', code: 0, pid });
    expect(isAlive(sleepPid), 'the left-over child is dead when stopped is reported').to.equal(false);
  });

  it('start while a workload is active throws; after stopped, the same watchdog starts the next one', async () => {
    const sup = makeSupervisor(workloadArgv(), 2000);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    const watchdogPid = sup.watchdogPid;
    expect(() => sup.start(EPOCH + 1n, ENV, monotonicNowMs() + FAR)).to.throw(/running/);
    sup.stop();
    expect(() => sup.start(EPOCH + 1n, ENV, monotonicNowMs() + FAR)).to.throw(/stopping/);
    await nextEvent(sup, 'stopped', 5000);
    expect(gone(pid)).to.equal(true);

    const pid2 = await startAndWait(sup, monotonicNowMs() + FAR);
    expect(pid2).to.not.equal(pid);
    expect(sup.watchdogPid).to.equal(watchdogPid);
    const stopped = nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    sup.stop();
    expect((await stopped)[1]).to.include({ reason: 'requested', pid: pid2 });
  });

  it('a start whose deadline has already passed starts nothing (-Infinity included)', async () => {
    const sup = makeSupervisor(workloadArgv(), 500);
    await sup.prepare();
    const running: number[] = [];
    sup.on('running', (pid: number) => running.push(pid));
    for (const deadline of [monotonicNowMs() - 1, -Infinity]) {
      const stopped = nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
      sup.start(EPOCH, ENV, deadline);
      const [byItself, info] = await stopped;
      expect(byItself).to.equal(false);
      expect(info).to.include({ reason: 'deadline-passed', pid: null });
    }
    expect(running).to.deep.equal([]);
    expect(readLog(log)).to.deep.equal([]);
  });

  it('no deadline (Infinity, simple mode): runs until told otherwise; a finite deadline fed later counts', async () => {
    const sup = makeSupervisor(workloadArgv(), 500, 300);
    const stoppedEvents: WorkloadStopped[] = [];
    sup.on('stopped', (_byItself: boolean, info: WorkloadStopped) => stoppedEvents.push(info));
    const pid = await startAndWait(sup, Infinity);
    await sleep(500);
    expect(stoppedEvents).to.deep.equal([]);
    expect(isAlive(pid)).to.equal(true);
    const deadline = monotonicNowMs() + 200;
    sup.feed(deadline);
    await waitUntil(() => stoppedEvents.length > 0, 2000, "'stopped' after the finite deadline");
    expect(monotonicNowMs() - deadline)
      .to.be.at.least(-1)
      .and.below(400);
    expect(stoppedEvents[0]).to.include({ byItself: false, reason: 'deadline' });
    expect(gone(pid)).to.equal(true);
  });

  it('the watchdog SIGKILLed while the workload runs: the supervisor kills the group; the next start spawns a new watchdog', async () => {
    const sup = makeSupervisor(workloadArgv('--ignore-sigterm'), 500);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    const watchdogPid = sup.watchdogPid!;
    const stopped = nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    const t0 = monotonicNowMs();
    process.kill(watchdogPid, 'SIGKILL');
    const [byItself, info] = await stopped;
    expect(monotonicNowMs() - t0).to.be.below(1000);
    expect(byItself).to.equal(false);
    expect(info).to.include({ reason: 'watchdog-died', pid, escalated: true });
    expect(isAlive(pid), 'workload dead').to.equal(false);

    const pid2 = await startAndWait(sup, monotonicNowMs() + FAR);
    expect(sup.watchdogPid).to.be.a('number').and.not.equal(watchdogPid);
    const stopped2 = nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    await sup.close();
    expect((await stopped2)[1]).to.include({ pid: pid2 });
  });

  it('a frozen watchdog (SIGSTOP): the supervisor backstop kills it and the workload', async () => {
    const stopTimeoutMs = 300;
    const margin = 300;
    const sup = makeSupervisor(workloadArgv(), stopTimeoutMs, margin);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    process.kill(sup.watchdogPid!, 'SIGSTOP');
    const deadline = monotonicNowMs() + 300;
    sup.feed(deadline);
    const [byItself, info] = await nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    const late = monotonicNowMs() - deadline;
    expect(byItself).to.equal(false);
    expect(info).to.include({ reason: 'backstop', pid });
    expect(late)
      .to.be.at.least(stopTimeoutMs + margin - 1)
      .and.below(stopTimeoutMs + margin + 500);
    expect(isAlive(pid)).to.equal(false);
  });

  it('a watchdog frozen before it reads the start: the backstop kills it; nothing runs', async () => {
    const sup = makeSupervisor(workloadArgv(), 300, 300);
    await sup.prepare();
    const watchdogPid = sup.watchdogPid!;
    pids.add(watchdogPid);
    const running: number[] = [];
    sup.on('running', (pid: number) => running.push(pid));
    process.kill(watchdogPid, 'SIGSTOP');
    const deadline = monotonicNowMs() + 300;
    const stopped = nextEvent<[boolean, WorkloadStopped]>(sup, 'stopped', 5000);
    sup.start(EPOCH, ENV, deadline);
    const [byItself, info] = await stopped;
    expect(byItself).to.equal(false);
    expect(info).to.include({ reason: 'backstop', pid: null, escalated: false });
    expect(monotonicNowMs() - deadline).to.be.at.least(600 - 1);
    expect(running).to.deep.equal([]);
    expect(readLog(log)).to.deep.equal([]);
    await waitUntil(() => gone(watchdogPid), 2000, 'watchdog killed and reaped');
  });

  it('close(): stops the workload, waits until it is dead, ends the watchdog', async () => {
    const sup = makeSupervisor(workloadArgv(), 2000);
    const pid = await startAndWait(sup, monotonicNowMs() + FAR);
    const watchdogPid = sup.watchdogPid!;
    await sup.close();
    expect(gone(pid)).to.equal(true);
    expect(stopLine(pid)).to.include({ signal: 'SIGTERM' });
    expect(gone(watchdogPid), 'watchdog exited and reaped').to.equal(true);
    expect(() => sup.start(EPOCH, ENV, monotonicNowMs() + FAR)).to.throw(/closed/);
  });

  it('SIGKILL of the process that holds the supervisor: the workload is dead within 1 s', async () => {
    const { driver, pid, watchdogPid } = await startDriver({
      argv: workloadArgv(),
      stopTimeoutMs: 2000,
      firstLeaseMs: FAR,
      leaseMs: FAR,
      feedEveryMs: 100,
    });
    process.kill(driver.pid, 'SIGKILL');
    const elapsed = await waitUntil(() => gone(pid), 1000, `workload ${pid} gone after SIGKILL of the driver`);
    expect(stopLine(pid)).to.include({ signal: 'SIGTERM' });
    // The watchdog exits once its workload is dead (it may stay a zombie: its parent is gone).
    await waitUntil(() => !isAlive(watchdogPid), 2000, 'watchdog exited');
    expect(driver.stderrLines.join('\n')).to.match(/sidecar gone/);
    console.log(`      workload gone ${elapsed.toFixed(0)} ms after SIGKILL of the driver`);
  });

  it('SIGSTOP of the process that holds the supervisor: the watchdog stops the workload at the deadline', async () => {
    const leaseMs = 300;
    const feedEveryMs = 50;
    const stopTimeoutMs = 500;
    const { driver, pid } = await startDriver({
      argv: workloadArgv(),
      stopTimeoutMs,
      firstLeaseMs: FAR,
      leaseMs,
      feedEveryMs,
    });
    await sleep(2 * leaseMs); // fed: still running past the first deadline
    expect(isAlive(pid)).to.equal(true);
    process.kill(driver.pid, 'SIGSTOP');
    const elapsed = await waitUntil(
      () => gone(pid),
      leaseMs + stopTimeoutMs + 700,
      `workload ${pid} stopped by the watchdog while the driver is frozen`,
    );
    // The last deadline fed was at most one feed period (plus timer jitter) before the freeze.
    expect(elapsed).to.be.at.least(leaseMs - feedEveryMs - 50);
    expect(stopLine(pid)).to.include({ signal: 'SIGTERM' });
    process.kill(driver.pid, 'SIGCONT');
    await driver.waitForLine(/^stopped byItself=false reason=deadline$/, 3000);
    console.log(`      workload gone ${elapsed.toFixed(0)} ms after SIGSTOP of the driver (lease ${leaseMs} ms)`);
  });
});
