/**
 * Takeover after the primary vanishes (design §11): the secondary starts with a higher epoch within
 * the failover bound, never while the primary's leases could be valid; the partitions of design §13
 * in which it must not.
 */
import { expect } from 'chai';
import { failoverBoundMs, stopBudget } from '../../src/core/sidecar/timing';
import { steadyState, type LogEntry } from '../support/sidecar-harness';
import { settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');
  const S = settings('s');
  const BUDGET = stopBudget(P); // 200 + 100 + 10

  describe('takeover after the primary vanishes', () => {
    for (const how of ['sidecar killed', 'isolated from both']) {
      it(`the secondary starts with a higher epoch within the failover bound, never while the primary's leases could be valid (${how})`, () => {
        const h = steadyState();
        h.runUntil(5030);
        const pEpoch = h.core('p').view(h.now).epoch;
        const leaseEnd = h.core('p').stopDeadline() + BUDGET;
        if (how === 'sidecar killed') h.crash('p');
        else h.isolate('p');
        h.runUntilTrue(() => h.entries('s', 'start').length > 0, 10_000);
        const start = h.entries('s', 'start')[0] as LogEntry;
        const lastHeard = h.lastHeardFrom.p;
        expect(lastHeard).to.be.at.most(5030);
        expect(start.t, 'not while the primary may still hold a lease').to.be.at.least(leaseEnd);
        expect(start.t - lastHeard, 'failover time').to.be.at.most(failoverBoundMs(S) + S.heartbeatMs);
        expect((start.epoch as bigint) > pEpoch).to.equal(true);
        expect(h.witnessView()).to.include({ holder: 's', epoch: start.epoch });
        if (how === 'isolated from both') {
          const stopped = h.entries('p', 'stopped')[0] as LogEntry;
          expect(stopped.t).to.be.at.most(start.t);
        }
      });
    }

    it('a primary cut off from the secondary only keeps running; the witness refuses the secondary (scenario 5)', () => {
      const h = steadyState();
      h.cutLink('p', 's');
      h.runUntil(h.now + 10_000);
      expect(h.entries('s', 'start')).to.deep.equal([]);
      expect(h.running('p')).to.equal(true);
    });

    it('the witness down and the peer link cut: both stopped (scenario 7)', () => {
      const h = steadyState();
      h.isolate('w');
      h.cutLink('p', 's');
      h.runUntil(h.now + 5000);
      expect(h.running('p')).to.equal(false);
      expect(h.running('s')).to.equal(false);
      expect(h.entries('s', 'acquire')).to.deep.equal([]);
    });
  });
});
