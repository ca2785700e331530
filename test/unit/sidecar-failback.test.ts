/**
 * Fail-back (design §9.4): auto and manual, on either side.
 */
import { expect } from 'chai';
import { Harness, steadyState, type HarnessOptions, type LogEntry } from '../support/sidecar-harness';
import { GROUP, settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');

  describe('fail-back', () => {
    function afterTakeover(options: HarnessOptions = {}): Harness {
      const h = steadyState(options);
      h.runUntil(4030);
      h.crash('p');
      h.runUntilTrue(() => h.entries('s', 'running').length > 0, 10_000);
      h.runUntil(8000);
      return h;
    }

    it('auto: a primary that asked for the group back and then died leaves the secondary running once it takes over again', () => {
      const h = afterTakeover();
      h.startSidecar('p');
      h.runUntilTrue(() => h.entries('s', 'stop').length > 0, h.now + 10_000);
      // The hand-back began; the primary dies before it can acquire.
      h.crash('p');
      const died = h.now;
      h.runUntilTrue(() => h.log.some((e) => e.node === 's' && e.kind === 'running' && e.t > died), died + 10_000);
      const back = h.now;
      h.runUntil(back + 5000);
      // Before the fix the stale request stopped every new run at once: start, stop, release, again.
      expect(h.log.filter((e) => e.node === 's' && e.kind === 'stop' && e.t > died)).to.deep.equal([]);
      expect(h.core('s').view(h.now).workload).to.equal('running');
    });

    it('auto: the returning primary shows the fail-back it waits for, counting down to its ask (failbackInMs)', () => {
      const h = afterTakeover();
      expect(h.core('s').view(h.now).failbackInMs, 'the secondary never fails back').to.equal(-1);
      h.startSidecar('p');
      const back = h.now;
      expect(h.core('p').view(h.now).failbackInMs, 'before it hears the peer run').to.equal(-1);
      h.runUntilTrue(() => h.core('p').view(h.now).failbackInMs >= 0, back + 10 * P.heartbeatMs);
      const first = h.core('p').view(h.now).failbackInMs;
      expect(first)
        .to.be.above(P.failbackDelayMs - 10 * P.heartbeatMs)
        .and.at.most(P.failbackDelayMs);
      h.runUntil(h.now + 1000);
      expect(h.core('p').view(h.now).failbackInMs).to.be.closeTo(first - 1000, 1);
      h.runUntilTrue(() => h.log.some((e) => e.node === 'p' && e.kind === 'running' && e.t >= back), back + 10_000);
      expect(h.core('p').view(h.now).failbackInMs, 'once it runs again').to.equal(-1);
    });

    it('manual: nothing is pending (failbackInMs -1) while the secondary runs', () => {
      const h = afterTakeover({ p: { failback: 'manual' }, s: { failback: 'manual' } });
      h.startSidecar('p');
      h.runUntil(h.now + 5000);
      expect(h.core('p').view(h.now).failbackInMs).to.equal(-1);
    });

    it('auto: the returning primary asks after failbackDelayMs; the secondary stops, then releases; the primary then acquires and starts', () => {
      const h = afterTakeover();
      const sEpoch = h.core('s').view(h.now).epoch;
      h.startSidecar('p');
      const back = h.now;
      h.runUntilTrue(() => h.log.some((e) => e.node === 'p' && e.kind === 'running' && e.t >= back), back + 10_000);
      const asks = h.statesSent.filter((x) => x.node === 'p' && x.t >= back && x.state.handbackRequested);
      expect(asks.length).to.be.at.least(1);
      const firstAsk = (asks[0] as { t: number }).t;
      expect(firstAsk).to.be.at.least(back + P.failbackDelayMs);
      expect(firstAsk).to.be.at.most(back + P.failbackDelayMs + P.heartbeatMs);
      const sStop = h.entries('s', 'stop')[0] as LogEntry;
      const sStopped = h.entries('s', 'stopped')[0] as LogEntry;
      const sRelease = h.entries('s', 'release')[0] as LogEntry;
      const pAcquire = h.log.find((e) => e.node === 'p' && e.kind === 'acquire' && e.t >= back) as LogEntry;
      const pStart = h.log.find((e) => e.node === 'p' && e.kind === 'start' && e.t >= back) as LogEntry;
      expect(sStop.t).to.be.at.least(firstAsk);
      expect(sStop.detail).to.match(/fail-back/);
      expect(sStopped.t).to.be.above(sStop.t);
      expect(sRelease.t).to.be.at.least(sStopped.t);
      expect(sRelease.epoch).to.equal(sEpoch);
      expect(pAcquire.t).to.be.at.least(sStopped.t);
      expect(pStart.t).to.be.at.least(sRelease.t);
      expect((pStart.epoch as bigint) > sEpoch).to.equal(true);
      // The harness checked S1 at every start; stay a while to see it settle.
      h.runUntil(h.now + 10_000);
      expect(h.running('p')).to.equal(true);
      expect(h.running('s')).to.equal(false);
      expect(h.entries('s', 'start')).to.have.length(1);
    });

    it('manual: the returning primary never asks for the group back', () => {
      const h = afterTakeover({ p: { failback: 'manual' }, s: { failback: 'manual' } });
      h.startSidecar('p');
      const back = h.now;
      h.runUntil(back + 20_000);
      expect(h.statesSent.filter((x) => x.node === 'p' && x.state.handbackRequested)).to.deep.equal([]);
      expect(h.log.filter((e) => e.node === 'p' && e.t >= back && e.kind === 'start')).to.deep.equal([]);
      expect(h.running('s')).to.equal(true);
    });

    it("the group's policy at the witness, manual, overrides both sidecars' auto: no fail-back", () => {
      const h = afterTakeover();
      h.witness.operate({ kind: 'failback', group: GROUP, policy: 'manual' });
      h.startSidecar('p');
      const back = h.now;
      h.runUntil(back + P.failbackDelayMs + 10_000);
      expect(h.statesSent.filter((x) => x.node === 'p' && x.state.handbackRequested)).to.deep.equal([]);
      expect(h.core('p').view(h.now).failbackInMs, 'none pending').to.equal(-1);
      expect(h.running('s')).to.equal(true);
      // Back to the sidecars' own (auto): the primary asks after its delay and takes the group back.
      h.witness.operate({ kind: 'failback', group: GROUP, policy: 'node' });
      const asked = h.now;
      h.runUntilTrue(() => h.log.some((e) => e.node === 'p' && e.kind === 'running' && e.t >= asked), asked + 10_000);
      expect(h.running('s')).to.equal(false);
    });

    it("the group's policy at the witness, auto, overrides manual on the secondary: it hands back", () => {
      const h = afterTakeover({ s: { failback: 'manual' } });
      h.witness.operate({ kind: 'failback', group: GROUP, policy: 'auto' });
      h.startSidecar('p');
      const back = h.now;
      h.runUntilTrue(() => h.log.some((e) => e.node === 'p' && e.kind === 'running' && e.t >= back), back + 10_000);
      expect(h.running('s')).to.equal(false);
    });

    it('auto on the primary but manual on the secondary: the secondary does not hand back', () => {
      const h = afterTakeover({ s: { failback: 'manual' } });
      h.startSidecar('p');
      h.runUntil(h.now + 10_000);
      expect(h.statesSent.some((x) => x.node === 'p' && x.state.handbackRequested)).to.equal(true);
      expect(h.running('s')).to.equal(true);
    });
  });
});
