/**
 * A workload that exits by itself (design §9.1, §5.5): restarts with back-off, each under a new
 * epoch, then giving the group up for the failure cool-down.
 */
import { expect } from 'chai';
import { steadyState, type LogEntry } from '../support/sidecar-harness';
import { settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');
  const S = settings('s');

  describe('a workload that exits by itself', () => {
    it('is restarted with back-off up to maxRestarts, each run under a new epoch; then the node releases, is ineligible for the cooldown, and the secondary takes over', () => {
      // design §5.5: every activation gets a new epoch, also when the same node starts again after
      // a restart.
      const h = steadyState({ p: { failback: 'manual' }, s: { failback: 'manual' } });
      let epoch = h.core('p').view(h.now).epoch;
      for (let k = 1; k <= P.maxRestarts; k++) {
        h.runUntil(h.now + 310);
        const exitAt = h.now;
        expect(h.exit('p')).to.equal(true);
        expect(h.core('p').peerState(exitAt).eligible).to.equal(true);
        h.runUntilTrue(() => h.entries('p', 'start').length === k + 1, exitAt + 1000);
        const start = h.entries('p', 'start')[k] as LogEntry;
        expect((start.epoch as bigint) > epoch, `restart ${k} under a new epoch`).to.equal(true);
        epoch = start.epoch as bigint;
        const backoff = P.restartBackoffMs * 2 ** (k - 1);
        expect(start.t - exitAt).to.be.at.least(backoff);
        expect(start.t - exitAt).to.be.at.most(backoff + P.heartbeatMs);
        expect(start.detail).to.equal(`granted epoch ${epoch} by the witness`);
        const acquire = h.entries('p', 'acquire').filter((e) => e.t > exitAt);
        expect(acquire.map((e) => [e.t, e.detail])).to.deep.equal([
          [start.t, `restart ${k} of ${P.maxRestarts} after the workload exited`],
        ]);
      }
      expect(h.entries('s', 'acquire')).to.deep.equal([]);
      h.runUntil(h.now + 310);
      const giveUpAt = h.now;
      expect(h.exit('p')).to.equal(true);
      const release = h.entries('p', 'release')[0] as LogEntry;
      expect(release).to.include({ t: giveUpAt, epoch });
      expect(h.core('p').peerState(giveUpAt).eligible).to.equal(false);
      h.runUntilTrue(() => h.entries('s', 'running').length > 0, giveUpAt + 3000);
      const sStart = h.entries('s', 'start')[0] as LogEntry;
      expect((sStart.epoch as bigint) > epoch).to.equal(true);
      expect(sStart.t - giveUpAt).to.be.below(S.heartbeatMs * 3);
      expect(h.entries('p', 'start')).to.have.length(P.maxRestarts + 1);
      // Ineligible for exactly the cooldown; it does not ask for the group meanwhile.
      const p = h.core('p');
      expect(p.peerState(giveUpAt + P.failureCooldownMs - 0.001).eligible).to.equal(false);
      expect(p.peerState(giveUpAt + P.failureCooldownMs).eligible).to.equal(true);
      h.runUntil(giveUpAt + P.failureCooldownMs + 3000);
      expect(h.log.filter((e) => e.node === 'p' && e.kind === 'acquire' && e.t > giveUpAt)).to.deep.equal([]);
      expect(h.running('s')).to.equal(true);
    });

    it('a restart never runs past the lease the node held when the workload exited', () => {
      // A back-off longer than what is left of the lease: no restart, the node lets the group go.
      const h = steadyState({ p: { restartBackoffMs: 900 } });
      const epoch = h.core('p').view(h.now).epoch;
      h.runUntil(h.now + 305);
      expect(h.exit('p')).to.equal(true);
      h.runUntil(h.now + 3000);
      expect(h.log.filter((e) => e.node === 'p' && e.kind === 'start' && e.epoch === epoch)).to.have.length(1);
      expect(h.running('s') || h.running('p')).to.equal(true);
    });
  });
});
