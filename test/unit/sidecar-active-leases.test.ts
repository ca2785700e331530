/**
 * The active node and its two leases (design §2.1, §4.1): it runs while either the witness lease or
 * the peer lease holds, and stops exactly when the later one, counted from its send time, runs out
 * less the stop budget (design §8.1, §8.2).
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { stopBudget } from '../../src/core/sidecar/timing';
import { steadyState } from '../support/sidecar-harness';
import { Manual } from '../support/manual-core';
import { holderEnd, kinds, settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');
  const S = settings('s');
  const BUDGET = stopBudget(P); // 200 + 100 + 10

  describe('the active node and its two leases', () => {
    it('keeps running on peer leases alone when it loses the witness', () => {
      const h = steadyState();
      h.cutLink('p', 'w');
      h.runUntil(h.now + 8000);
      expect(h.entries('p', 'stop')).to.deep.equal([]);
      const v = h.core('p').view(h.now);
      expect(v.workload).to.equal('running');
      expect(v.witnessLeaseMs).to.equal(0);
      expect(v.peerLeaseMs).to.be.above(0);
      expect(h.entries('s', 'start')).to.deep.equal([]);
    });

    it('keeps running on the witness lease alone when it loses the peer; the witness refuses the secondary', () => {
      const h = steadyState();
      h.cutLink('p', 's');
      h.runUntil(h.now + 8000);
      expect(h.entries('p', 'stop')).to.deep.equal([]);
      const v = h.core('p').view(h.now);
      expect(v.workload).to.equal('running');
      expect(v.peerLeaseMs).to.equal(0);
      expect(v.witnessLeaseMs).to.be.above(0);
      const refused = h.acquireAnswers.filter((a) => a.node === 's');
      expect(refused.length).to.be.at.least(1);
      expect(refused.every((a) => a.answer?.verdict === 'refused')).to.equal(true);
      expect(h.entries('s', 'start')).to.deep.equal([]);
    });

    for (const later of ['witness', 'peer', 'both equal'] as const) {
      it(`decides stop exactly at max(witnessLeaseUntil, peerLeaseUntil) - stopBudget, counted from the send time (${later} lease last)`, () => {
        const m = new Manual(P);
        const p = new SidecarCore(P, 0);
        const s = new SidecarCore(S, 0);
        const epoch = m.runAt(p, 'p', 2000);
        // A renewal sent at 2100 answered 40 ms later, a peer heartbeat sent at 2200 answered 70 ms later.
        const w = later === 'witness' ? 2300 : 2100;
        const q = later === 'peer' ? 2300 : later === 'both equal' ? 2100 : 2200;
        const renewal = m.heartbeat(p, 'p', w, w + 40);
        expect(renewal).to.include({ verdict: 'renewed', epoch });
        const reply = s.onPeerHeartbeat(p.peerState(q), q + 30);
        expect(reply).to.include({ leaseMs: S.peerLeaseMs, leaseForEpoch: epoch });
        p.onPeerReply(q, reply, q + 70);
        const deadline = Math.max(holderEnd(w, P.leaseMs, P), holderEnd(q, P.peerLeaseMs, P)) - BUDGET;
        expect(deadline).to.be.closeTo(Math.max(w, q) + 990 - 310, 1e-9);
        expect(p.stopDeadline()).to.equal(deadline);
        expect(p.view(deadline - 100).msUntilStop).to.equal(100);
        for (const t of [w + 100, deadline - 1, deadline - 0.001]) expect(p.decide(t), `at ${t}`).to.deep.equal([]);
        expect(kinds(p.decide(deadline))).to.deep.equal(['stop']);
        expect(p.view(deadline).workload).to.equal('stopping');
      });
    }

    it('in the harness, an isolated active node stops at the exact instant its later lease runs out less the stop budget, with network delay', () => {
      const h = steadyState();
      for (const [a, b] of [
        ['p', 's'],
        ['s', 'p'],
        ['p', 'w'],
        ['w', 'p'],
      ] as const)
        h.setDelay(a, b, 15);
      h.runUntil(h.now + 1000);
      h.cutLink('p', 'w');
      h.runUntil(h.now + 330); // the peer lease is now the later one
      h.isolate('p');
      const isolatedAt = h.now;
      h.runUntilTrue(() => h.entries('p', 'stop').length > 0, isolatedAt + 3000);
      const last = (what: 'witness' | 'peer'): number =>
        Math.max(
          ...h.leasesHeard
            .filter((l) => l.node === 'p' && l.what === what)
            .map((l) => holderEnd(l.sentAt, l.leaseMs, P)),
        );
      const expected = Math.max(last('witness'), last('peer')) - BUDGET;
      expect(last('peer')).to.be.above(last('witness'));
      expect(h.entries('p', 'stop')[0]?.t).to.equal(expected);
      // Counting from receipt (15 ms later) would have given a later stop.
      h.runUntil(h.now + 5000);
      expect(h.entries('s', 'start')).to.have.length(1);
    });
  });
});
