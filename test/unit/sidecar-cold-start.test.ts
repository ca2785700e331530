/**
 * Cold start with both sidecars and the witness up (design §10.1): the primary waits out its quiet
 * period (design §9.2) and the witness's start-up grace (design §6.5), then acquires and starts;
 * the secondary never acquires while it hears the primary.
 */
import { expect } from 'chai';
import { Harness, type LogEntry } from '../support/sidecar-harness';
import { FIRST_EPOCH, grantorEnd, settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');

  describe('cold start, all up', () => {
    it('the primary waits out its quiet period and the witness start-up grace, then acquires and starts with the granted epoch', () => {
      // The witness caps leases at 2 s, so its start-up grace (2030 ms) outlasts the primary's quiet period (1020 ms).
      const h = new Harness({ arbiterMaxLeaseMs: 2000 });
      h.runUntil(6000);
      const quietEnd = grantorEnd(0, P.peerLeaseMs, P);
      const graceEnd = grantorEnd(0, 2000, P);
      const acquires = h.entries('p', 'acquire');
      expect(acquires.length).to.be.at.least(1);
      expect(acquires[0]?.t).to.be.at.least(quietEnd);
      const starts = h.entries('p', 'start');
      expect(starts).to.have.length(1);
      const start = starts[0] as LogEntry;
      expect(start.t).to.be.at.least(graceEnd);
      expect(start.t).to.be.below(graceEnd + P.heartbeatMs + 1);
      expect(start.epoch).to.equal(FIRST_EPOCH);
      const view = h.witnessView();
      expect(view.holder).to.equal('p');
      expect(view.epoch).to.equal(start.epoch);
      expect(h.core('p').view(h.now)).to.include({ workload: 'running', epoch: FIRST_EPOCH, holding: true });
      expect(h.log.filter((e) => e.node === 's' && (e.kind === 'acquire' || e.kind === 'start'))).to.deep.equal([]);
      expect(h.core('s').view(h.now).workload).to.equal('stopped');
    });

    it('starts right after the quiet period when the witness has been up for long', () => {
      const h = new Harness({ arbiterStartAt: -10_000 });
      h.runUntil(3000);
      const starts = h.entries('p', 'start');
      expect(starts).to.have.length(1);
      expect(starts[0]?.t).to.be.at.least(grantorEnd(0, P.peerLeaseMs, P));
      expect(starts[0]?.t).to.be.below(grantorEnd(0, P.peerLeaseMs, P) + P.heartbeatMs);
      expect(h.entries('s', 'acquire')).to.deep.equal([]);
    });

    it('the secondary never acquires while it hears the primary, even when it came up first', () => {
      const h = new Harness({ startAt: { s: 0, p: 300 }, arbiterStartAt: -10_000 });
      h.runUntil(10_000);
      expect(h.entries('s', 'acquire')).to.deep.equal([]);
      expect(h.entries('p', 'start')).to.have.length(1);
    });
  });
});
