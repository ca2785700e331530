/**
 * The standby and the peer leases it grants (design §4.3, §8.1): what it promises, when, and how
 * long a promise keeps it from acquiring.
 */
import { expect } from 'chai';
import { InvariantViolation } from '../../src/core/assert';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { Manual } from '../support/manual-core';
import { GROUP, grantorEnd, kinds, peerState, settings, toCore } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const S = settings('s');

  describe('the standby and the peer leases it grants', () => {
    it('grants a lease only to a peer that runs or starts under an epoch', () => {
      const s = new SidecarCore(S, 0);
      const granted = s.onPeerHeartbeat(peerState('p', 'running', 7n), 100);
      expect(granted).to.include({ leaseMs: S.peerLeaseMs, leaseForEpoch: 7n });
      expect(s.onPeerHeartbeat(peerState('p', 'starting', 8n), 200)).to.include({
        leaseMs: S.peerLeaseMs,
        leaseForEpoch: 8n,
      });
      for (const refused of [peerState('p', 'stopped', 8n), peerState('p', 'stopping', 8n)]) {
        expect(s.onPeerHeartbeat(refused, 300), `${refused.workload} ${refused.epoch}`).to.include({
          leaseMs: 0,
          leaseForEpoch: 0n,
        });
      }
      // A run under no epoch is an impossible input (the wire refuses it: peer-wire requireEpochOfRun).
      for (const phase of ['running', 'starting'] as const) {
        expect(() => s.onPeerHeartbeat(peerState('p', phase, 0n), 400), phase).to.throw(
          InvariantViolation,
          `peer p says it ${phase} under no epoch`,
        );
      }
    });

    it('grants nothing while its acquire is in flight, between a grant and its start, or while it runs', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      // Acquiring (the primary silent, the quiet period over).
      m.heartbeat(s, 's', 1100);
      expect(kinds(s.decide(1100))).to.deep.equal(['acquire']);
      expect(s.peerState(1150).acquiring).to.equal(true);
      expect(s.onPeerHeartbeat(peerState('p', 'running', 3n), 1150).leaseMs).to.equal(0);
      // Granted, before decide() has started it.
      const answer = m.acquire(s, 's', 1100);
      s.onAcquireAnswer(1100, answer, 1160);
      expect(s.onPeerHeartbeat(peerState('p', 'running', 3n), 1160).leaseMs).to.equal(0);
      expect(kinds(s.decide(1160))).to.deep.equal(['start']);
      // Starting, running.
      expect(s.onPeerHeartbeat(peerState('p', 'running', 3n), 1170).leaseMs).to.equal(0);
      s.onWorkload('running', 1180);
      expect(s.onPeerHeartbeat(peerState('p', 'running', 3n), 1190).leaseMs).to.equal(0);
      // The workload exited by itself: stopped but holding (back-off before the restart).
      s.onWorkload('stopped', 1200, true);
      expect(s.view(1200)).to.include({ workload: 'stopped', holding: true });
      expect(s.onPeerHeartbeat(peerState('p', 'running', 3n), 1210).leaseMs).to.equal(0);
    });

    it('grants nothing while stopping, nor while stopped but still holding (release in flight); grants again once released', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      const epoch = m.runAt(s, 's', 1100);
      const reply = s.onPeerHeartbeat(peerState('p', 'stopped', 0n, { handbackRequested: true }), 1300);
      expect(reply.leaseMs).to.equal(0);
      expect(kinds(s.decide(1300))).to.deep.equal(['stop']);
      expect(s.onPeerHeartbeat(peerState('p', 'running', 3n), 1310).leaseMs).to.equal(0);
      s.onWorkload('stopped', 1400);
      expect(kinds(s.decide(1400))).to.deep.equal(['release']);
      expect(s.onPeerHeartbeat(peerState('p', 'running', 3n), 1410).leaseMs).to.equal(0);
      const released = toCore(m.arbiter.release({ group: GROUP, node: 's', epoch, knownEpoch: epoch }, 1410).answer);
      s.onReleaseAnswer(epoch, released, 1420);
      expect(s.view(1420).holding).to.equal(false);
      expect(s.onPeerHeartbeat(peerState('p', 'running', epoch + 1n), 1430).leaseMs).to.equal(S.peerLeaseMs);
    });

    for (const timeoutMs of [300, 1500]) {
      it(`does not acquire before its promise (receipt + Lp(1+rho)+eps) has run out and the peer has been silent for the timeout (${timeoutMs} ms)`, () => {
        const s0 = settings('s', { timeoutMs });
        const m = new Manual(s0);
        const s = new SidecarCore(s0, 0);
        const grantedAt = 2000;
        m.heartbeat(s, 's', grantedAt);
        expect(s.onPeerHeartbeat(peerState('p', 'running', 5n), grantedAt).leaseMs).to.equal(s0.peerLeaseMs);
        const free = Math.max(grantorEnd(grantedAt, s0.peerLeaseMs, s0), grantedAt + timeoutMs);
        expect(free).to.equal(timeoutMs === 300 ? 3020 : 3500);
        for (let t = grantedAt; t < free; t += 100) {
          m.heartbeat(s, 's', t);
          expect(s.decide(t), `at ${t}`).to.deep.equal([]);
        }
        m.heartbeat(s, 's', free - 1);
        expect(s.decide(free - 0.001)).to.deep.equal([]);
        expect(kinds(s.decide(free))).to.deep.equal(['acquire']);
      });
    }

    it('a peer reporting stopped under the promised epoch (or a later one) frees it; an older epoch does not', () => {
      const s0 = settings('s', { timeoutMs: 300 });
      for (const [stoppedEpoch, free] of [
        [5n, 2050 + 300],
        [6n, 2050 + 300],
        [4n, 3020],
      ] as const) {
        const m = new Manual(s0);
        const s = new SidecarCore(s0, 0);
        m.heartbeat(s, 's', 2000);
        expect(s.onPeerHeartbeat(peerState('p', 'running', 5n), 2000).leaseMs).to.equal(s0.peerLeaseMs);
        s.onPeerHeartbeat(peerState('p', 'stopped', stoppedEpoch), 2050);
        for (let t = 2100; t < free; t += 50) {
          m.heartbeat(s, 's', t);
          expect(s.decide(t), `stopped ${stoppedEpoch}, at ${t}`).to.deep.equal([]);
        }
        m.heartbeat(s, 's', free);
        expect(kinds(s.decide(free)), `stopped ${stoppedEpoch}`).to.deep.equal(['acquire']);
      }
    });

    it('a freshly started standby asks nothing for one peer lease (it forgot its promises)', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 500);
      const quietEnd = grantorEnd(500, S.peerLeaseMs, S);
      for (let t = 500; t < quietEnd; t += 100) {
        m.heartbeat(s, 's', t);
        expect(s.decide(t)).to.deep.equal([]);
      }
      m.heartbeat(s, 's', quietEnd - 1);
      expect(s.decide(quietEnd - 0.001)).to.deep.equal([]);
      expect(kinds(s.decide(quietEnd))).to.deep.equal(['acquire']);
    });
  });
});
