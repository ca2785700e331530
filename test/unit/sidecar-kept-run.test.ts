/**
 * A run kept across a sidecar restart (design §9.8), in the core alone: which runs can be kept, and
 * how the next process's core carries one. The adopted run goes on exactly the old leases: a renewal
 * answered to the new process extends them, and without one the run stops at the old deadline.
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { InvariantViolation } from '../../src/core/assert';
import { stopBudget } from '../../src/core/sidecar/timing';
import { Manual } from '../support/manual-core';
import { GROUP, holderEnd, kinds, settings } from '../support/sidecar-test-settings';

describe('sidecar core: a run kept across a restart', () => {
  const P = settings('p');

  function running(): { m: Manual; core: SidecarCore; epoch: bigint; t: number } {
    const m = new Manual(P);
    const t = 2000; // after the quiet period
    const core = new SidecarCore(P, 0);
    const epoch = m.runAt(core, 'p', t);
    return { m, core, epoch, t };
  }

  it('a running, held run is kept with its epoch and both lease ends', () => {
    const { core, epoch, t } = running();
    const run = core.keptRun(t + 10);
    expect(run).to.deep.equal({
      group: GROUP,
      node: 'p',
      epoch,
      knownEpoch: epoch,
      witnessLeaseUntil: holderEnd(t, P.leaseMs, P),
      peerLeaseUntil: Number.NEGATIVE_INFINITY,
    });
  });

  it('nothing is kept while stopped, starting or stopping, nor once the stop deadline has come', () => {
    const stopped = new SidecarCore(P, 0);
    expect(stopped.keptRun(5000), 'stopped').to.equal(undefined);
    const { core, t } = running();
    expect(core.keptRun(core.stopDeadline()), 'at the deadline').to.equal(undefined);
    expect(kinds(core.decide(core.stopDeadline())), 'the stop row acts then').to.deep.equal(['stop']);
    expect(core.keptRun(t + 10), 'stopping').to.equal(undefined);
  });

  it("the next process's core runs the adopted run under its epoch, and a renewal it sends extends it", () => {
    const { m, core, epoch, t } = running();
    const run = core.keptRun(t + 100)!;
    const next = new SidecarCore(P, t + 400);
    next.adopt(run, t + 400);
    expect(next.view(t + 400)).to.include({ workload: 'running', epoch, holding: true });
    expect(next.stopDeadline(), 'the same deadline as before the restart').to.equal(core.stopDeadline());
    expect(next.witnessHeartbeat().heldEpoch, 'its heartbeats renew that epoch').to.equal(epoch);
    expect(kinds(next.decide(t + 400)), 'nothing to do yet').to.deep.equal([]);
    m.heartbeat(next, 'p', t + 500);
    expect(next.stopDeadline(), 'renewed from the new send time').to.equal(
      holderEnd(t + 500, P.leaseMs, P) - stopBudget(P),
    );
  });

  it('an adopted run that nobody renews stops at the old deadline', () => {
    const { core, t } = running();
    const next = new SidecarCore(P, t + 400);
    next.adopt(core.keptRun(t + 100)!, t + 400);
    const deadline = next.stopDeadline();
    expect(next.nextWakeAt(t + 400), 'the core wakes at the deadline').to.equal(deadline);
    expect(kinds(next.decide(deadline - 1))).to.deep.equal([]);
    const stop = next.decide(deadline);
    expect(stop.map((a) => [a.kind, a.rule])).to.deep.equal([['stop', 'stop-lost-peer-and-witness']]);
  });

  it("a core adopts only a fresh start's, and only its own node's run", () => {
    const { core, t } = running();
    const run = core.keptRun(t + 100)!;
    expect(() => new SidecarCore(settings('s'), t).adopt(run, t), "another node's run").to.throw(InvariantViolation);
    const busy = new SidecarCore(P, t);
    busy.adopt(run, t);
    expect(() => busy.adopt(run, t), 'a second adoption').to.throw(InvariantViolation);
  });
});
