/**
 * A planned stop hands over (design §9.5) with real processes on loopback: SIGTERM of the active
 * sidecar stops its workload, releases the group and tells its peer, which takes over at once,
 * long before it could count the leaving node as silent and before the lease could have run out.
 * The timeout and the lease are set longer than the cluster's defaults so the two cannot be
 * confused: without the hand-over, b would wait at least the 2 s timeout.
 */
import { expect } from 'chai';
import { type Cluster, timeline, useCluster } from '../support/cluster';
import { coldStart, steady } from '../support/cluster-steady';

const LEASE_MS = 3000;
const TIMEOUT_MS = 2000;
const HEARTBEAT_MS = 100;

function report(line: string): void {
  process.stdout.write(`      [measure] ${line}\n`);
}

function acquireRules(c: Cluster): unknown[] {
  return c.logged('b', 'acquire').map((l) => l.rule);
}

describe('e2e: a planned stop (SIGTERM of the active sidecar) hands over', function () {
  this.timeout(30_000);
  useCluster();

  it('b runs within the timeout of the SIGTERM, after a stopped and released, and a exits 0', async function () {
    const c = await coldStart({ leaseMs: LEASE_MS, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await steady(c);
    const [a] = c.intervalsOf('a');
    expect(a, "a's run").to.not.equal(undefined);
    const t0 = timeline();
    expect(c.proc('a').kill('SIGTERM')).to.equal(true);
    await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, LEASE_MS + TIMEOUT_MS);
    const b = c.intervalsOf('b')[0]!;
    const gap = b.start - (c.intervalsOf('a')[0]!.end ?? Number.NaN);
    const handOver = b.start - t0;
    const exit = await c.proc('a').exited;
    report(
      `hand-over: b's workload started ${handOver.toFixed(0)} ms after SIGTERM; gap with none running ${gap.toFixed(0)} ms`,
    );
    expect(exit.code, "a's sidecar exit code").to.equal(0);
    expect(c.intervalsOf('a')[0]!.end, "a's workload stopped before b's started").to.be.at.most(b.start);
    expect(
      handOver,
      'b started before it could count a as silent (timeout), and before the lease could run out',
    ).to.be.below(TIMEOUT_MS);
    expect(acquireRules(c), "b's acquire came from the hand-over row").to.deep.equal(['acquire-peer-hands-over']);
    expect(c.logged('a', 'release').length, 'a released the group').to.equal(1);
    expect(BigInt(b.epoch ?? '0') > BigInt(a!.epoch ?? '0'), 'a new epoch for b').to.equal(true);
    c.assertNoOverlaps();
  });
});
