import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  assertNoOverlaps,
  findOverlaps,
  formatTimeline,
  parseIntervals,
  readIntervals,
  type WorkloadLogLine,
} from '../support/run-intervals';

const T0 = 1_700_000_000_000;

function line(node: string, pid: number, event: string, t: number, extra: Partial<WorkloadLogLine> = {}): string {
  return JSON.stringify({ node, pid, epoch: node === 'a' ? '1' : '2', event, t: T0 + t, ...extra }) + '\n';
}

/** A process that starts at `from`, ticks every `tick` ms and, unless killed, stops at `to`. */
function run(
  node: string,
  pid: number,
  from: number,
  to: number,
  opts: { killed?: boolean; tick?: number; group?: string } = {},
): string[] {
  const tick = opts.tick ?? 20;
  const out = [line(node, pid, 'start', from, { tickMs: tick, group: opts.group ?? 'g' })];
  for (let t = from + tick; t < to; t += tick) out.push(line(node, pid, 'tick', t));
  if (!opts.killed) out.push(line(node, pid, 'stop', to, { signal: 'SIGTERM' }));
  return out;
}

describe('run intervals (S1 checker)', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-intervals-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads start/stop intervals from a log file, sorted by start', () => {
    const log = path.join(dir, 'workload.log');
    fs.writeFileSync(log, [...run('b', 20, 300, 500), ...run('a', 10, 0, 200)].join(''));
    const intervals = readIntervals(log);
    expect(
      intervals.map((iv) => [iv.node, iv.pid, iv.epoch, iv.group, iv.start - T0, iv.end - T0, iv.endedBy]),
    ).to.deep.equal([
      ['a', 10, '1', 'g', 0, 200, 'stop'],
      ['b', 20, '2', 'g', 300, 500, 'stop'],
    ]);
    expect(intervals[0]!.ticks).to.equal(9);
  });

  it('finds no overlap in sequential runs, even back to back', () => {
    const intervals = parseIntervals([...run('a', 10, 0, 200), ...run('b', 20, 200, 400)].join(''));
    expect(findOverlaps(intervals)).to.deep.equal([]);
    expect(() => assertNoOverlaps(intervals)).to.not.throw();
  });

  it('finds an overlap and measures it', () => {
    // Lines of concurrent processes interleave in the file.
    const a = run('a', 10, 0, 300);
    const b = run('b', 20, 250, 600);
    const text = [...a, ...b].sort((x, y) => JSON.parse(x).t - JSON.parse(y).t).join('');
    const overlaps = findOverlaps(parseIntervals(text));
    expect(overlaps).to.have.length(1);
    const [o] = overlaps;
    expect([o!.a.node, o!.b.node]).to.deep.equal(['a', 'b']);
    expect(o!.overlapMs).to.equal(50);
    expect(o!.from - T0).to.equal(250);
    expect(o!.to - T0).to.equal(300);
    expect(() => assertNoOverlaps(parseIntervals(text))).to.throw(
      /S1 violated[\s\S]*OVERLAP 50\.0 ms[\s\S]*node=a pid=10/,
    );
  });

  it('a SIGKILLed process (no stop line) ran until its last tick plus the tick period', () => {
    const [iv] = parseIntervals(run('a', 10, 0, 110, { killed: true, tick: 20 }).join(''));
    // ticks at 20, 40, 60, 80, 100 -> conservative end 120
    expect(iv!.endedBy).to.equal('last-tick');
    expect(iv!.lastTick! - T0).to.equal(100);
    expect(iv!.end - T0).to.equal(120);
  });

  it('the SIGKILL rule makes a successor starting before the next tick overlap', () => {
    const killed = run('a', 10, 0, 110, { killed: true, tick: 20 }); // conservative end 120
    const early = parseIntervals([...killed, ...run('b', 20, 115, 300)].join(''));
    const late = parseIntervals([...killed, ...run('b', 20, 120, 300)].join(''));
    expect(findOverlaps(early).map((o) => o.overlapMs)).to.deep.equal([5]);
    expect(findOverlaps(late)).to.deep.equal([]);
  });

  it('a process killed before its first tick ran until start plus the tick period', () => {
    const [iv] = parseIntervals(line('a', 10, 'start', 50, { tickMs: 25 }));
    expect(iv!.end - T0).to.equal(75);
    expect(iv!.ticks).to.equal(0);
  });

  it('the tickMs option overrides the period from the start line', () => {
    const [iv] = parseIntervals(run('a', 10, 0, 50, { killed: true, tick: 20 }).join(''), { tickMs: 100 });
    expect(iv!.end - T0).to.equal(140);
  });

  it('a reused pid starts a new interval; the earlier one ends by the tick rule', () => {
    const text = [...run('a', 10, 0, 50, { killed: true }), ...run('b', 10, 500, 600)].join('');
    const intervals = parseIntervals(text);
    expect(intervals.map((iv) => [iv.node, iv.start - T0, iv.end - T0])).to.deep.equal([
      ['a', 0, 60],
      ['b', 500, 600],
    ]);
  });

  it('compares only intervals of the same group unless asked', () => {
    const intervals = parseIntervals(
      [...run('a', 10, 0, 300, { group: 'g1' }), ...run('b', 20, 100, 400, { group: 'g2' })].join(''),
    );
    expect(findOverlaps(intervals)).to.deep.equal([]);
    expect(findOverlaps(intervals, { acrossGroups: true })).to.have.length(1);
  });

  it('ignores a torn final line but rejects malformed lines elsewhere', () => {
    const good = run('a', 10, 0, 100).join('');
    expect(parseIntervals(good + '{"node":"a","pi')).to.have.length(1);
    expect(() => parseIntervals('{"node":"a","pi\n' + good)).to.throw(/log:1: not JSON/);
    expect(() => parseIntervals(line('a', 10, 'tick', 5))).to.throw(/without a start/);
  });

  it('a missing log is an error unless allowMissing', () => {
    const missing = path.join(dir, 'nope.log');
    expect(() => readIntervals(missing)).to.throw(/ENOENT/);
    expect(readIntervals(missing, { allowMissing: true })).to.deep.equal([]);
  });

  it('formats a timeline with one row per interval', () => {
    const intervals = parseIntervals([...run('a', 10, 0, 300), ...run('b', 20, 250, 600, { killed: true })].join(''));
    const text = formatTimeline(intervals, { width: 30 });
    const rows = text.split('\n');
    expect(rows).to.have.length(3);
    expect(rows[1]).to.match(
      /node=a pid=10 epoch=1 group=g\s+\|#{15} {15}\| \+0\.0 \.\. \+300\.0 ms \(300\.0 ms, stop, 14 ticks\)/,
    );
    expect(rows[2]).to.match(/node=b pid=20 .*last-tick/);
    expect(formatTimeline([])).to.match(/no run intervals/);
  });
});
