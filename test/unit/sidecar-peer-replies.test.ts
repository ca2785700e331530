/**
 * Peer lease replies: only a lease for this run's epoch, asked for during this run, keeps the
 * active node running (design §8.1, rule 2).
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { stopBudget } from '../../src/core/sidecar/timing';
import { Manual } from '../support/manual-core';
import { holderEnd, kinds, settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');
  const S = settings('s');
  const BUDGET = stopBudget(P); // 200 + 100 + 10

  describe('peer lease replies', () => {
    it('ignores a reply to a heartbeat sent before the current run started, whatever epoch its lease names', () => {
      const m = new Manual(P);
      const p = new SidecarCore(P, 0);
      const s = new SidecarCore(S, 0);
      const epoch = m.runAt(p, 'p', 2000);
      const witnessOnly = p.stopDeadline();
      expect(witnessOnly).to.equal(holderEnd(2000, P.leaseMs, P) - BUDGET);
      // A lease for this very epoch, answering a heartbeat sent before the run started at 2000.
      p.onPeerReply(1990, { state: s.peerState(1995), leaseMs: S.peerLeaseMs, leaseForEpoch: epoch }, 2010);
      expect(p.view(2010).peerLeaseMs).to.equal(0);
      expect(p.stopDeadline()).to.equal(witnessOnly);
      // Run 1 asks at 2100; the reply (a real lease for run 1) is held back.
      const stale = s.onPeerHeartbeat(p.peerState(2100), 2100);
      expect(stale).to.include({ leaseMs: S.peerLeaseMs, leaseForEpoch: epoch });
      // The workload exits by itself; the restart asks the witness for a new epoch (run 2).
      p.onWorkload('stopped', 2150, true);
      expect(p.decide(2150)).to.deep.equal([]);
      expect(kinds(p.decide(2200))).to.deep.equal(['acquire']);
      const regrant = m.acquire(p, 'p', 2200);
      expect(regrant.verdict).to.equal('granted');
      expect(regrant.epoch > epoch).to.equal(true);
      p.onAcquireAnswer(2200, regrant, 2200);
      expect(p.decide(2200)).to.deep.equal([
        {
          kind: 'start',
          rule: 'start-on-grant',
          epoch: regrant.epoch,
          why: `granted epoch ${regrant.epoch} by the witness`,
        },
      ]);
      p.onWorkload('running', 2210);
      const run2 = p.stopDeadline();
      // Run 1's lease arrives: another epoch, and asked for before run 2 started.
      p.onPeerReply(2100, stale, 2250);
      expect(p.view(2250).peerLeaseMs).to.equal(0);
      // The same, even relabelled with run 2's epoch (the heartbeat predates run 2).
      p.onPeerReply(2100, { ...stale, leaseForEpoch: regrant.epoch }, 2250);
      expect(p.view(2250).peerLeaseMs).to.equal(0);
      expect(p.stopDeadline()).to.equal(run2);
      // A heartbeat of run 2 carries run 2's epoch, and the peer's lease names it (a lease that
      // names another is refused by the wire layer: peer-wire.test.ts).
      const fresh = s.onPeerHeartbeat(p.peerState(2260), 2260);
      expect(fresh).to.include({ leaseForEpoch: regrant.epoch });
      // The genuine reply counts, from its send time.
      p.onPeerReply(2260, fresh, 2280);
      expect(p.stopDeadline()).to.equal(holderEnd(2260, P.peerLeaseMs, P) - BUDGET);
    });

    it('ignores a lease while the node is stopping or stopped', () => {
      const m = new Manual(P);
      const p = new SidecarCore(P, 0);
      const s = new SidecarCore(S, 0);
      const epoch = m.runAt(p, 'p', 2000);
      const reply = s.onPeerHeartbeat(p.peerState(2100), 2100);
      p.onWitnessHeartbeatAnswer(
        2050,
        epoch,
        {
          verdict: 'refused',
          holder: 's',
          epoch: epoch + 1n,
          leaseMs: 0,
          retryAfterMs: 0,
          handOver: false,
          maintenance: false,
        },
        2100,
      );
      expect(kinds(p.decide(2100))).to.deep.equal(['stop']);
      p.onPeerReply(2100, reply, 2110);
      expect(p.view(2110).peerLeaseMs).to.equal(0);
      p.onWorkload('stopped', 2200);
      p.onPeerReply(2100, reply, 2210);
      expect(p.view(2210).peerLeaseMs).to.equal(0);
    });
  });
});
