/**
 * Regressions: defects found while writing the sidecar tests against earlier versions of the core
 * (a restart after a deliberate stop, a delayed "stopped" from an earlier run cancelling the
 * standby's promises, a late renewal reviving a run that was given up, ...).
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { Harness, steadyState } from '../support/sidecar-harness';
import { Manual } from '../support/manual-core';
import { GROUP, kinds, peerState, settings, toCore } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const S = settings('s');

  describe('regressions', () => {
    it('a delayed "stopped" from an earlier run under the same epoch must not cancel the promises made during the current run', () => {
      // timeout (300) < peer lease (1000): the promise (design §4.3) is what keeps the standby waiting.
      const short = { timeoutMs: 300 };
      const h = new Harness({ p: short, s: short, arbiterStartAt: -10_000 });
      h.runUntilTrue(() => h.entries('p', 'running').length > 0, 5000);
      // The primary's workload exits; the heartbeats saying "stopped" are held back in the network...
      h.fate = (from, _to, kind, leg) =>
        from === 'p' && kind === 'peer' && leg === 'request' && h.core('p').view(h.now).workload === 'stopped'
          ? 'hold'
          : undefined;
      // The runtime restarts the workload the moment its back-off ends (design §9.1), not at the next
      // heartbeat (those go out at multiples of heartbeatMs, from its start at 0): the exit comes
      // just before one, so that it goes out saying "stopped".
      const { heartbeatMs, restartBackoffMs } = h.settings.p;
      const beforeHeartbeat = Math.min(20, restartBackoffMs / 2);
      let exitAt = Math.ceil(h.now / heartbeatMs) * heartbeatMs - beforeHeartbeat;
      if (exitAt <= h.now) exitAt += heartbeatMs;
      h.runUntil(exitAt);
      expect(h.exit('p')).to.equal(true);
      h.runUntilTrue(() => h.entries('p', 'start').length === 2, h.now + 500); // restarted
      h.fate = undefined;
      // ...while the new run goes on; then the primary loses the witness and runs on peer leases.
      h.runUntil(h.now + 500);
      h.cutLink('p', 'w');
      h.runUntil(h.now + 1200);
      expect(h.core('p').view(h.now).witnessLeaseMs).to.equal(0);
      expect(h.running('p')).to.equal(true);
      // The stale "stopped" arrives, then the primary is cut off from the secondary too.
      expect(h.releaseHeld()).to.be.at.least(1);
      h.cutLink('p', 's');
      // The primary keeps running until its last peer lease runs out (less the stop budget)...
      expect(h.core('p').stopDeadline()).to.be.above(h.now + 500);
      // ...so the secondary must not start before then (the harness fails such a start: S1).
      h.runUntil(h.now + 4000);
      expect(h.entries('s', 'start').length).to.equal(1);
    });

    it('after a restart, a stop the node decides itself (hand-back) is followed by a release, not by another restart', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      m.runAt(s, 's', 1100);
      // One exit, one restart (under a new epoch).
      s.onWorkload('stopped', 1200, true);
      expect(kinds(s.decide(1250))).to.deep.equal(['acquire']);
      const regrant = m.acquire(s, 's', 1250);
      s.onAcquireAnswer(1250, regrant, 1250);
      expect(kinds(s.decide(1250))).to.deep.equal(['start']);
      s.onWorkload('running', 1260);
      // The preferred primary asks for the group back: stop, then release.
      s.onPeerHeartbeat(peerState('p', 'stopped', 0n, { handbackRequested: true }), 1300);
      expect(kinds(s.decide(1300))).to.deep.equal(['stop']);
      s.onWorkload('stopped', 1400);
      expect(s.decide(1400), 'restarted the workload it was just asked to hand back').to.deep.equal([
        {
          kind: 'release',
          rule: 'release-after-stop',
          epoch: regrant.epoch,
          why: 'the workload has stopped: hand the group back',
        },
      ]);
    });

    it('a renewal answered after the workload stopped extends nothing, and a node that released never starts without a new grant', () => {
      const s0 = settings('p', { maxRestarts: 0 });
      const m = new Manual(s0);
      const p = new SidecarCore(s0, 0);
      const epoch = m.runAt(p, 'p', 2000);
      // A renewal is sent at 2100; its answer is slow (660 ms, well within the call's deadline).
      const hb = p.witnessHeartbeat();
      const renewal = toCore(
        m.arbiter.heartbeat(
          {
            group: GROUP,
            node: 'p',
            role: 'primary',
            heldEpoch: hb.heldEpoch,
            knownEpoch: hb.knownEpoch,
            leaseMs: hb.leaseMs,
          },
          2100,
        ).answer,
      );
      expect(renewal.verdict).to.equal('renewed');
      // The workload exits; no restarts allowed: the node gives the group up.
      p.onWorkload('stopped', 2150, true);
      const before = p.stopDeadline();
      expect(p.decide(2150)).to.deep.equal([
        {
          kind: 'release',
          rule: 'release-after-giving-up',
          epoch,
          why: 'the workload has stopped: hand the group back',
        },
      ]);
      expect(m.arbiter.release({ group: GROUP, node: 'p', epoch, knownEpoch: epoch }, 2150).answer.verdict).to.equal(
        'released',
      );
      // The answer is lost: it asks again a heartbeat later (not at once).
      p.onReleaseAnswer(epoch, undefined, 2200);
      expect(p.decide(2200)).to.deep.equal([]);
      expect(p.decide(2299)).to.deep.equal([]);
      expect(kinds(p.decide(2300))).to.deep.equal(['release']);
      const again = toCore(m.arbiter.release({ group: GROUP, node: 'p', epoch, knownEpoch: epoch }, 2300).answer);
      // The slow renewal answer arrives after the release went through.
      p.onWitnessHeartbeatAnswer(2100, hb.heldEpoch, renewal, 2760);
      expect(p.stopDeadline()).to.equal(before);
      for (const t of [2760, 2800, 3000]) expect(p.decide(t), `at ${t}`).to.deep.equal([]);
      p.onReleaseAnswer(epoch, again, 3010);
      expect(p.view(3010).holding).to.equal(false);
      for (const t of [3010, 4000, 2150 + s0.failureCooldownMs - 1]) expect(p.decide(t), `at ${t}`).to.deep.equal([]);
    });

    it('in the harness: a late renewal answer after a give-up does not revive the run; the secondary takes over (S1 checked)', () => {
      const both = { maxRestarts: 0, timeoutMs: 300 };
      const h = new Harness({ p: both, s: both, arbiterStartAt: -10_000 });
      h.runUntilTrue(() => h.entries('p', 'running').length > 0, 5000);
      h.runUntil(3000);
      // The witness's answer to the renewal the primary sends at 3000 is slow (660 ms).
      h.fate = (from, to, kind, leg, now) =>
        from === 'w' && to === 'p' && kind === 'renew' && leg === 'answer' && now === 3000 ? 660 : undefined;
      h.runUntil(3050);
      h.fate = undefined;
      expect(h.exit('p')).to.equal(true);
      expect(h.entries('p', 'release').map((e) => e.t)).to.deep.equal([3050]);
      h.runUntil(3560);
      h.cutLink('p', 's');
      h.runUntil(6000);
      expect(h.entries('p', 'start')).to.have.length(1);
      expect(h.entries('s', 'start')).to.have.length(1);
    });

    it('in the harness: a secondary whose workload once exited and restarted still hands the group back', () => {
      const h = steadyState();
      h.runUntil(4030);
      h.crash('p');
      h.runUntilTrue(() => h.entries('s', 'running').length > 0, 10_000);
      h.runUntil(h.now + 510);
      expect(h.exit('s')).to.equal(true);
      h.runUntilTrue(() => h.entries('s', 'start').length === 2, h.now + 500);
      h.runUntil(8000);
      h.startSidecar('p');
      // (An earlier core restarted the workload right after the hand-back stop, under the same
      // epoch, and never released: the harness fails that start as an S2 violation.)
      h.runUntil(h.now + 8000);
      expect(h.running('p')).to.equal(true);
      expect(h.running('s')).to.equal(false);
    });
  });
});
