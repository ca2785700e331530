/**
 * The standby's sync schedule (design §21.1, §21.2) on a fake clock and timers, with a command
 * whose runs the test finishes: every interval while a plain standby, never while the workload
 * runs, starts or stops, cancelled when the node begins to take over, "sync now" run once per id,
 * and the age it reports.
 */
import { expect } from 'chai';
import type { Clock, TimerHandle, Timers } from '../../src/sidecar/sidecar-ports';
import {
  type NodeCondition,
  StandbySync,
  type SyncCommand,
  type SyncOutcome,
} from '../../src/sidecar/sync/standby-sync';

const INTERVAL_MS = 1000;
const STANDBY: NodeCondition = { runsWorkload: false, standby: true, outOfService: false };
const STARTING: NodeCondition = { runsWorkload: true, standby: false, outOfService: false };
const HOLDING: NodeCondition = { runsWorkload: false, standby: false, outOfService: false };
const IN_MAINTENANCE: NodeCondition = { runsWorkload: false, standby: true, outOfService: true };
const OK: SyncOutcome = { ok: true, exitCode: 0, outputTail: 'done\n', error: '' };
const FAILED: SyncOutcome = { ok: false, exitCode: 1, outputTail: 'no route\n', error: '' };

class FakeTime implements Clock, Timers {
  t = 0;
  private timers: Array<{ at: number; fire: () => void; cancelled: boolean }> = [];
  now(): number {
    return this.t;
  }
  after(delayMs: number, fire: () => void): TimerHandle {
    const timer = { at: this.t + delayMs, fire, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => !x.cancelled && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.t = due.at;
      due.fire();
    }
    this.t = end;
  }
}

/** Runs the test finishes by hand; `cancelled` records why a run was killed. */
class ManualCommand implements SyncCommand {
  readonly runs: Array<{ finish: (o: SyncOutcome) => void; cancelled: string }> = [];
  run(done: (outcome: SyncOutcome) => void): { cancel(why: string): void } {
    const entry = { finish: done, cancelled: '' };
    this.runs.push(entry);
    return {
      cancel: (why) => {
        entry.cancelled = why;
        done({ ok: false, exitCode: -1, outputTail: '', error: 'killed' });
      },
    };
  }
  finishLast(outcome: SyncOutcome): void {
    (this.runs[this.runs.length - 1] as ManualCommand['runs'][number]).finish(outcome);
  }
}

function schedule(): { time: FakeTime; command: ManualCommand; sync: StandbySync } {
  const time = new FakeTime();
  const command = new ManualCommand();
  return { time, command, sync: new StandbySync({ intervalMs: INTERVAL_MS }, command, time, time) };
}

describe('StandbySync: the standby’s sync schedule (design §21.1)', () => {
  it('runs at once as a standby, then an interval after each run ends; reports the age from the last success’s start', () => {
    const { time, command, sync } = schedule();
    expect(sync.report()).to.deep.equal({ synced: false, ageMs: 0, lastRun: undefined });
    sync.onCondition(STANDBY);
    expect(command.runs).to.have.length(1);
    expect(sync.syncing).to.equal(true);
    time.advance(200);
    command.finishLast(OK);
    expect(sync.report()).to.deep.include({ synced: true, ageMs: 200 });
    expect(sync.report().lastRun).to.deep.equal({
      requestId: 0n,
      ok: true,
      exitCode: 0,
      durationMs: 200,
      outputTail: 'done\n',
      error: '',
    });
    time.advance(INTERVAL_MS - 1);
    expect(command.runs, 'not before the interval').to.have.length(1);
    time.advance(1);
    expect(command.runs).to.have.length(2);
    time.advance(50);
    command.finishLast(FAILED);
    // A failure keeps the last success's age.
    expect(sync.report().ageMs).to.equal(INTERVAL_MS + 250);
    expect(sync.report().lastRun?.ok).to.equal(false);
  });

  it('tells each run listener of a finished run, with the report already as fresh as that run made it', () => {
    const { time, command, sync } = schedule();
    const told: { ok: boolean; synced: boolean; ageMs: number }[] = [];
    sync.onRun((run) => {
      const { synced, ageMs } = sync.report();
      told.push({ ok: run.ok, synced, ageMs });
    });
    sync.onCondition(STANDBY);
    time.advance(200);
    expect(told, 'nothing before the run ends').to.have.length(0);
    command.finishLast(OK);
    time.advance(INTERVAL_MS);
    time.advance(30);
    command.finishLast(FAILED);
    expect(told).to.deep.equal([
      { ok: true, synced: true, ageMs: 200 },
      { ok: false, synced: true, ageMs: INTERVAL_MS + 230 },
    ]);
  });

  it('never runs while the workload runs, starts or the node holds the group; its copy is the source then', () => {
    const { time, command, sync } = schedule();
    sync.onCondition(STARTING);
    time.advance(5 * INTERVAL_MS);
    expect(command.runs).to.have.length(0);
    expect(sync.report()).to.deep.include({ synced: true, ageMs: 0 });
    sync.onCondition(HOLDING);
    time.advance(300);
    expect(command.runs, 'holding, workload stopped: not yet a standby').to.have.length(0);
    // The moment the workload stopped is when its copy was last the source.
    expect(sync.report().ageMs).to.equal(300);
  });

  it('kills a run when the node begins to take over, and when it is put in maintenance', () => {
    for (const [condition, why] of [
      [STARTING, 'cancelled: the node is taking over'],
      [IN_MAINTENANCE, 'cancelled: the node is out of service'],
    ] as const) {
      const { command, sync } = schedule();
      sync.onCondition(STANDBY);
      sync.onCondition(condition);
      expect(command.runs[0]?.cancelled).to.equal(why);
      expect(sync.report().lastRun).to.deep.include({ ok: false, error: why });
    }
  });

  it('"sync now" runs once at once, answers with its id, and a repeated id runs nothing more', () => {
    const { time, command, sync } = schedule();
    sync.onCondition(STANDBY);
    command.finishLast(OK);
    time.advance(10);
    sync.onSyncNow(42n);
    expect(command.runs).to.have.length(2);
    sync.onSyncNow(42n);
    time.advance(5);
    command.finishLast(FAILED);
    expect(sync.report().lastRun).to.deep.include({ requestId: 42n, ok: false, exitCode: 1, durationMs: 5 });
    sync.onSyncNow(42n);
    expect(command.runs, 'the same request again').to.have.length(2);
    sync.onSyncNow(43n);
    expect(command.runs).to.have.length(3);
  });

  it('"sync now" waits while the node may not sync, and runs once it may', () => {
    const { command, sync } = schedule();
    sync.onCondition(STARTING);
    sync.onSyncNow(7n);
    expect(command.runs).to.have.length(0);
    sync.onCondition(STANDBY);
    expect(command.runs).to.have.length(1);
    command.finishLast(OK);
    expect(sync.report().lastRun?.requestId).to.equal(7n);
  });
});
