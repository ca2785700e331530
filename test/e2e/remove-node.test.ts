/**
 * Removing a node and breaking a group (design §9.7) with real processes on loopback, asked as an
 * operator asks (`witness remove-node`, `readmit-node`, `break-group`): refused while the node is
 * active unless forced; forced, the active node hands over at once, never overlapping its peer;
 * a removed node runs nothing through a witness restart, and runs again once readmitted.
 */
import { expect } from 'chai';
import { sleep, timeline, useCluster } from '../support/cluster';
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

describe('e2e: remove a node, readmit it, break the group', function () {
  this.timeout(90_000);
  useCluster();

  it('remove-node: refused for the active node without --force; forced, a hands over to b at once and stays off through a witness restart until readmitted', async () => {
    const c = await coldStart({ leaseMs: LEASE_MS, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await steady(c);
    const refused = await operator(c, ['remove-node', '--group', 'g1', '--node', 'a']);
    expect((await refused.exited).code).to.equal(1);
    expect(refused.output(20)).to.match(/RemoveNode at .* failed: FAILED_PRECONDITION: .*force/);
    expect((await statusOf(c, 'g1'))?.removed, 'nothing changed').to.deep.equal([]);
    expect(c.intervalsOf('b').length, 'nothing moved').to.equal(0);

    const t0 = timeline();
    const forced = await operator(c, ['remove-node', '--group', 'g1', '--node', 'a', '--force']);
    expect((await forced.exited).code, forced.output(20)).to.equal(0);
    expect(
      forced.stdoutLines.find((l) => /^g1\s+a\s/.test(l)),
      forced.output(20),
    ).to.match(/\sremoved\s/);
    await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, TIMEOUT_MS + LEASE_MS);
    const b = c.intervalsOf('b')[0]!;
    const aEnd = c.intervalsOf('a')[0]!.end ?? Number.NaN;
    report(
      `remove-node --force: b's workload started ${(b.start - t0).toFixed(0)} ms after the request; ` +
        `gap with none running ${(b.start - aEnd).toFixed(0)} ms`,
    );
    expect(aEnd, "a's workload stopped before b's started").to.be.at.most(b.start);
    expect(b.start - aEnd, 'a hand-over: b did not wait for a to go silent').to.be.below(TIMEOUT_MS);
    expect(c.logged('a', 'stop').map((l) => l.rule)).to.include('stop-to-hand-over-on-request');
    expect(c.logged('b', 'acquire').map((l) => l.rule)).to.deep.equal(['acquire-peer-hands-over']);

    // Durable: a restarted witness still has a removed, and a asks for nothing, not even the
    // hand-back its own --failback auto would ask for after the delay.
    await c.restart('witness');
    await c.waitFor(
      'the restarted witness hears a',
      async () => (await statusOf(c, 'g1'))?.nodes.some((n) => n.node === 'a') === true,
      STEP_MS,
    );
    const afterRestart = await statusOf(c, 'g1');
    expect(afterRestart?.removed).to.deep.equal(['a']);
    expect(afterRestart?.nodes.find((n) => n.node === 'a')).to.include({ removed: true, maintenance: false });
    await sleep(FAILBACK_DELAY_MS + TIMEOUT_MS);
    expect(c.intervalsOf('a').length, 'a ran once, before its removal').to.equal(1);

    const back = await operator(c, ['readmit-node', '--group', 'g1', '--node', 'a']);
    expect((await back.exited).code, back.output(20)).to.equal(0);
    expect((await statusOf(c, 'g1'))?.removed).to.deep.equal([]);
    await c.waitFor('a runs again (fail-back)', () => c.intervalsOf('a').length > 1, STEP_MS + LEASE_MS);
    c.assertNoOverlaps();
  });

  it('break-group: refused while a node is active; forced, the workload stops and nothing runs until a node is readmitted', async () => {
    const c = await coldStart({ leaseMs: LEASE_MS, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await steady(c);
    const refused = await operator(c, ['break-group', '--group', 'g1']);
    expect((await refused.exited).code).to.equal(1);
    expect(refused.output(20)).to.match(/BreakGroup at .* failed: FAILED_PRECONDITION: .*refuse-break-while-active/);
    expect((await statusOf(c, 'g1'))?.removed, 'nothing changed').to.deep.equal([]);

    const forced = await operator(c, ['break-group', '--group', 'g1', '--force']);
    expect((await forced.exited).code, forced.output(20)).to.equal(0);
    await c.waitFor('a stops', () => c.intervalsOf('a')[0]?.end !== undefined, LEASE_MS);
    // Past a's lease and b's timeout: nobody takes over.
    await sleep(LEASE_MS + TIMEOUT_MS);
    expect(c.intervalsOf('a').length, 'a ran once').to.equal(1);
    expect(c.intervalsOf('b').length, 'b never ran').to.equal(0);
    const broken = await statusOf(c, 'g1');
    expect(broken?.removed).to.deep.equal(['a', 'b']);
    expect(broken?.holder, 'a released').to.equal('');

    const back = await operator(c, ['readmit-node', '--group', 'g1', '--node', 'b']);
    expect((await back.exited).code, back.output(20)).to.equal(0);
    await c.waitFor('b runs once readmitted', () => c.intervalsOf('b').length > 0, TIMEOUT_MS + LEASE_MS);
    expect(c.intervalsOf('a').length, 'a, still removed, stays off').to.equal(1);
    c.assertNoOverlaps();
  });

  it('refuses a node the witness does not know (exit 1, NOT_FOUND) and a missing --node (exit 2), changing nothing', async () => {
    const c = await coldStart({ leaseMs: LEASE_MS, timeoutMs: TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS });
    await steady(c);
    const unknown = await operator(c, ['remove-node', '--group', 'g1', '--node', 'zz']);
    expect((await unknown.exited).code).to.equal(1);
    expect(unknown.output(20)).to.match(/RemoveNode at .* failed: NOT_FOUND: .*node/);
    const missing = await operator(c, ['readmit-node', '--group', 'g1']);
    expect((await missing.exited).code).to.equal(2);
    expect(missing.output(20)).to.match(/node \(--node\) is required/);
    const bad = await operator(c, ['remove-node', '--group', 'g1', '--node', 'a b']);
    expect((await bad.exited).code).to.equal(1);
    expect(bad.output(20)).to.match(/INVALID_ARGUMENT: .*node/);
    expect((await statusOf(c, 'g1'))?.removed).to.deep.equal([]);
    expect(c.intervalsOf('b').length, 'nothing moved').to.equal(0);
  });
});
