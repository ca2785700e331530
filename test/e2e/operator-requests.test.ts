/**
 * Operators' requests (design §9.6) with real processes on loopback, made as an operator makes
 * them (`witness switchover`, `witness maintenance`): the active node hands over at once, never
 * overlapping its peer, and maintenance is durable at the witness across its restart.
 */
import { expect } from 'chai';
import { type Cluster, timeline, useCluster } from '../support/cluster';
import { coldStart, steady } from '../support/cluster-steady';
import {
  FAILBACK_DELAY_MS,
  HEARTBEAT_MS,
  LEASE_MS,
  operator,
  STEP_MS,
  statusOf,
  TIMEOUT_MS,
} from '../support/operator-commands';

function report(line: string): void {
  process.stdout.write(`      [measure] ${line}\n`);
}

async function maintenanceOf(c: Cluster, node: string): Promise<boolean | undefined> {
  return (await statusOf(c, 'g1'))?.nodes.find((n) => n.node === node)?.maintenance;
}

describe('e2e: switchover and maintenance, asked of the witness', function () {
  this.timeout(60_000);
  useCluster();

  it('switchover: a stops and releases, b takes over at once under a new epoch, and they never overlap', async () => {
    const c = await coldStart({
      leaseMs: LEASE_MS,
      timeoutMs: TIMEOUT_MS,
      heartbeatMs: HEARTBEAT_MS,
      failback: 'manual',
    });
    await steady(c);
    const [a] = c.intervalsOf('a');
    const acquiresBefore = c.logged('a', 'acquire').length;
    const t0 = timeline();
    const asked = await operator(c, ['switchover', '--group', 'g1']);
    expect((await asked.exited).code, asked.output(20)).to.equal(0);
    await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, LEASE_MS + TIMEOUT_MS);
    const b = c.intervalsOf('b')[0]!;
    const aEnd = c.intervalsOf('a')[0]!.end ?? Number.NaN;
    report(
      `switchover: b's workload started ${(b.start - t0).toFixed(0)} ms after the request; ` +
        `gap with none running ${(b.start - aEnd).toFixed(0)} ms`,
    );
    expect(aEnd, "a's workload stopped before b's started").to.be.at.most(b.start);
    // From a's stop, not from the request: starting the operator's command (a node process) is
    // no part of the hand-over.
    expect(
      b.start - aEnd,
      'b started before it could count a as silent, and before the lease could run out',
    ).to.be.below(TIMEOUT_MS);
    expect(c.logged('a', 'stop').map((l) => l.rule)).to.include('stop-to-hand-over-on-request');
    expect(c.logged('b', 'acquire').map((l) => l.rule)).to.deep.equal(['acquire-peer-hands-over']);
    expect(BigInt(b.epoch ?? '0') > BigInt(a!.epoch ?? '0'), 'a new epoch for b').to.equal(true);
    expect(c.logged('a', 'acquire').length, 'a, handing over, asked for nothing').to.equal(acquiresBefore);
    // a stays a standby: it does not take the group back (fail-back is manual here).
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 500));
    expect(c.intervalsOf('a').length, 'a ran once').to.equal(1);
    c.assertNoOverlaps();
  });

  it('maintenance: a hands over and stays off through a witness restart, and runs again once it ends', async () => {
    const c = await coldStart({ leaseMs: LEASE_MS, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await steady(c);
    const on = await operator(c, ['maintenance', 'on', '--group', 'g1', '--node', 'a']);
    expect((await on.exited).code, on.output(20)).to.equal(0);
    expect(on.stdoutLines[0]).to.match(/MAINTENANCE {2}FAILBACK$/);
    await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, TIMEOUT_MS);
    expect(c.logged('b', 'acquire').map((l) => l.rule)).to.deep.equal(['acquire-peer-hands-over']);

    // Durable: a restarted witness still holds a in maintenance, and a asks for nothing, not even
    // the hand-back that --failback auto (2 s) would otherwise ask for.
    await c.restart('witness');
    await c.waitFor('the restarted witness hears a', async () => (await maintenanceOf(c, 'a')) !== undefined, STEP_MS);
    expect(await maintenanceOf(c, 'a')).to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, FAILBACK_DELAY_MS + TIMEOUT_MS));
    expect(c.intervalsOf('a').length, 'a ran once, before its maintenance').to.equal(1);

    const off = await operator(c, ['maintenance', 'off', '--group', 'g1', '--node', 'a']);
    expect((await off.exited).code, off.output(20)).to.equal(0);
    expect(await maintenanceOf(c, 'a')).to.equal(false);
    await c.waitFor('a runs again (fail-back)', () => c.intervalsOf('a').length > 1, STEP_MS + LEASE_MS);
    c.assertNoOverlaps();
  });

  it("fail-back policy: manual at the witness keeps a off after a switchover, through a witness restart; 'node' lets it take the group back", async () => {
    const c = await coldStart({ leaseMs: LEASE_MS, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await steady(c);
    const manual = await operator(c, ['failback', 'manual', '--group', 'g1']);
    expect((await manual.exited).code, manual.output(20)).to.equal(0);
    expect(manual.stdoutLines[1]).to.match(/manual$/);
    const asked = await operator(c, ['switchover', '--group', 'g1']);
    expect((await asked.exited).code, asked.output(20)).to.equal(0);
    await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, TIMEOUT_MS + LEASE_MS);
    await c.restart('witness');
    await new Promise((resolve) => setTimeout(resolve, 2 * FAILBACK_DELAY_MS + TIMEOUT_MS));
    expect(c.intervalsOf('a').length, "a's own --failback auto is overridden: it ran once").to.equal(1);
    const status = await operator(c, ['status', '--json', '--group', 'g1']);
    expect(JSON.parse(status.stdoutLines[0]!)).to.include({ failback: 'FAILBACK_POLICY_MANUAL' });

    const own = await operator(c, ['failback', 'node', '--group', 'g1']);
    expect((await own.exited).code, own.output(20)).to.equal(0);
    await c.waitFor('a takes the group back', () => c.intervalsOf('a').length > 1, FAILBACK_DELAY_MS + STEP_MS);
    expect(c.logged('a', 'failback-scheduled').length, 'announced once, after the policy was lifted').to.equal(1);
    const bad = await operator(c, ['failback', 'sometimes', '--group', 'g1']);
    expect((await bad.exited).code).to.equal(2);
    c.assertNoOverlaps();
  });

  it('refuses a node the witness does not know (exit 1, NOT_FOUND) and a missing --node (exit 2), changing nothing', async () => {
    const c = await coldStart({ leaseMs: LEASE_MS, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await steady(c);
    const unknown = await operator(c, ['maintenance', 'on', '--group', 'g1', '--node', 'zz']);
    expect((await unknown.exited).code).to.equal(1);
    expect(unknown.output(20)).to.match(/SetMaintenance at .* failed: NOT_FOUND: .*node/);
    const missing = await operator(c, ['maintenance', 'on', '--group', 'g1']);
    expect((await missing.exited).code).to.equal(2);
    expect(missing.output(20)).to.match(/node \(--node\) is required/);
    expect(await maintenanceOf(c, 'a')).to.equal(false);
    expect(c.intervalsOf('b').length, 'nothing moved').to.equal(0);
  });
});
