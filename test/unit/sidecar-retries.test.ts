/**
 * Retries: a failed call is asked again a heartbeat later, never in a tight loop.
 */
import { expect } from 'chai';
import { steadyState } from '../support/sidecar-harness';
import { settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');

  describe('retries', () => {
    it('a release that fails at once (witness down: connection refused) is not retried in a tight loop', () => {
      const h = steadyState({ p: { maxRestarts: 0 } });
      h.runUntil(h.now + 30);
      let witnessDown = false;
      h.fate = (from, to) => (witnessDown && from === 'p' && to === 'w' ? 'reset' : undefined);
      witnessDown = true;
      expect(h.exit('p')).to.equal(true); // gives the group up at once: stop, then release
      const from = h.now;
      h.runUntil(from + P.leaseMs);
      const releases = h.log.filter((e) => e.node === 'p' && e.kind === 'release' && e.t >= from).length;
      // About one attempt per heartbeat is plenty; every attempt is also logged by the shell.
      expect(releases, 'release attempts within one lease').to.be.at.most(P.leaseMs / P.heartbeatMs + 1);
    });
  });
});
