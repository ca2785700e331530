/**
 * What operators ask through the witness (design §9.6), as the sidecar core carries it out: a
 * switchover (`hand_over` on a renewal of this run) and maintenance (`maintenance` on every answer).
 * Driven on the core directly; the simulator draws both as episodes, and test/e2e drives them
 * with real processes.
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import type { WitnessAnswer } from '../../src/core/sidecar/types';
import { peerState, settings } from '../support/sidecar-test-settings';

const EPOCH = 5n;
const P = settings('p');

function answer(
  verdict: WitnessAnswer['verdict'],
  holder: string,
  epoch: bigint,
  extra: Partial<WitnessAnswer> = {},
): WitnessAnswer {
  return { verdict, holder, epoch, leaseMs: 0, retryAfterMs: 0, handOver: false, maintenance: false, ...extra };
}

const rules = (core: SidecarCore, now: number): string[] => core.decide(now).map((a) => a.rule);

/** The primary, granted at 1,100 and running from 1,110, with its secondary up and stopped. */
function runningPrimary(): SidecarCore {
  const core = new SidecarCore(P, 0);
  core.onWitnessHeartbeatAnswer(1100, 0n, answer('acknowledged', '', 0n), 1100);
  core.onPeerHeartbeat(peerState('s', 'stopped', 0n), 1100);
  expect(rules(core, 1100)).to.deep.equal(['acquire-preferred-primary']);
  core.onAcquireAnswer(1100, answer('granted', 'p', EPOCH, { leaseMs: 1000 }), 1101);
  expect(rules(core, 1101)).to.deep.equal(['start-on-grant']);
  core.onWorkload('running', 1110);
  return core;
}

/** The running primary is told to hand over with a renewal, stops and releases at `releasedAt`. */
function handedOver(releasedAt: number): SidecarCore {
  const core = runningPrimary();
  core.onWitnessHeartbeatAnswer(1200, EPOCH, answer('renewed', 'p', EPOCH, { leaseMs: 1000, handOver: true }), 1201);
  expect(rules(core, 1201)).to.deep.equal(['stop-to-hand-over-on-request']);
  core.onWorkload('stopped', 1300);
  expect(rules(core, 1300)).to.deep.equal(['release-after-stop']);
  expect(core.peerState(1301), 'stopping until the release is answered').to.include({
    workload: 'stopping',
    handingOver: false,
  });
  core.onReleaseAnswer(EPOCH, answer('released', '', EPOCH), releasedAt);
  return core;
}

describe('sidecar core: operator requests (switchover, maintenance)', () => {
  describe('switchover', () => {
    it('the run asked to hand over stops, releases, then says it hands over and leaves the group to its peer', () => {
      const core = handedOver(1310);
      expect(core.peerState(1310)).to.include({ workload: 'stopped', handingOver: true, eligible: true });
      // Both up and stopped: without the switchover the preferred primary would take the group again.
      core.onPeerHeartbeat(peerState('s', 'stopped', 0n), 1320);
      expect(core.decide(1320)).to.deep.equal([]);
      expect(core.nextWakeAt(1320)).to.be.at.most(1310 + P.timeoutMs);
    });

    it("goes on when the witness tells of the peer's grant before the peer says it runs", () => {
      // Seen end to end: the witness's answer named the peer's new epoch while the last the node
      // heard from its peer was still "stopped"; the preferred primary must not ask for the group.
      const core = handedOver(1310);
      core.onPeerHeartbeat(peerState('s', 'stopped', 0n, { acquiring: true }), 1320);
      core.onWitnessHeartbeatAnswer(1330, 0n, answer('acknowledged', 's', EPOCH + 1n), 1331);
      expect(core.peerState(1331).handingOver).to.equal(true);
      expect(core.decide(1331)).to.deep.equal([]);
      core.onPeerHeartbeat(peerState('s', 'running', EPOCH + 1n), 1400);
      expect(core.decide(1400)).to.deep.equal([]);
      expect(core.view(1400).lastRule).to.not.equal('acquire-preferred-primary');
    });

    it('ends once the peer says it runs under a newer epoch; and a peer that hands the group straight back is answered', () => {
      const core = handedOver(1310);
      core.onPeerHeartbeat(peerState('s', 'running', EPOCH + 1n), 1400);
      expect(core.peerState(1400).handingOver).to.equal(false);
      // Found by the simulator: the peer that took over is SIGTERMed within the timeout and hands
      // the group back; the node that handed it over must take it, not wait out its own hand-over.
      const again = handedOver(1310);
      again.onPeerHeartbeat(peerState('s', 'stopped', EPOCH + 1n, { handingOver: true }), 1500);
      expect(rules(again, 1500)).to.deep.equal(['acquire-peer-hands-over']);
    });

    it('ends after one timeout if the peer did not take over: the preferred primary asks again', () => {
      const core = handedOver(1310);
      const later = 1310 + P.timeoutMs;
      core.onWitnessHeartbeatAnswer(later, 0n, answer('acknowledged', '', EPOCH), later);
      core.onPeerHeartbeat(peerState('s', 'stopped', 0n), later);
      expect(core.peerState(later).handingOver).to.equal(false);
      expect(rules(core, later)).to.deep.equal(['acquire-preferred-primary']);
    });

    it('a hand-over asked of an earlier epoch does not stop this run', () => {
      const core = runningPrimary();
      core.onWitnessHeartbeatAnswer(
        1200,
        EPOCH - 1n,
        answer('renewed', 'p', EPOCH - 1n, { leaseMs: 1000, handOver: true }),
        1201,
      );
      expect(rules(core, 1201)).to.deep.equal([]);
      expect(core.view(1201).workload).to.equal('running');
    });

    it('a workload that exits by itself once the hand-over is asked is not restarted', () => {
      const core = runningPrimary();
      core.onWitnessHeartbeatAnswer(
        1200,
        EPOCH,
        answer('renewed', 'p', EPOCH, { leaseMs: 1000, handOver: true }),
        1201,
      );
      core.onWorkload('stopped', 1202, true);
      expect(rules(core, 1202)).to.deep.equal(['release-after-stop']);
    });
  });

  describe('maintenance', () => {
    it('a running node in maintenance stops, releases and hands over; it asks for nothing until maintenance ends', () => {
      const core = runningPrimary();
      core.onWitnessHeartbeatAnswer(
        1200,
        EPOCH,
        answer('renewed', 'p', EPOCH, { leaseMs: 1000, handOver: true, maintenance: true }),
        1201,
      );
      expect(rules(core, 1201)).to.deep.equal(['stop-to-hand-over-on-request']);
      core.onWorkload('stopped', 1300);
      expect(rules(core, 1300)).to.deep.equal(['release-after-stop']);
      core.onReleaseAnswer(EPOCH, answer('released', '', EPOCH, { maintenance: true }), 1310);
      expect(core.peerState(1310)).to.include({ handingOver: true, eligible: false, maintenance: true });
      // Long after any hand-over, with the peer gone and the witness up, a standby would ask.
      const later = 1310 + 10 * P.timeoutMs;
      core.onWitnessHeartbeatAnswer(later, 0n, answer('acknowledged', '', EPOCH, { maintenance: true }), later);
      expect(core.decide(later)).to.deep.equal([]);
      expect(core.peerState(later)).to.include({ handingOver: true, handbackRequested: false });
      // Maintenance ends: the peer is gone, the witness up: it asks (the standby table).
      core.onWitnessHeartbeatAnswer(later + 1, 0n, answer('acknowledged', '', EPOCH), later + 1);
      expect(core.peerState(later + 1)).to.include({ handingOver: false, eligible: true, maintenance: false });
      expect(rules(core, later + 1)).to.deep.equal(['acquire-peer-gone']);
    });

    it('a workload that exits by itself in maintenance is released, not restarted', () => {
      const core = runningPrimary();
      core.onWitnessHeartbeatAnswer(1200, EPOCH, answer('renewed', 'p', EPOCH, { leaseMs: 1000 }), 1201);
      core.onWorkload('stopped', 1202, true);
      core.onWitnessHeartbeatAnswer(1203, EPOCH, answer('acknowledged', 'p', EPOCH, { maintenance: true }), 1204);
      expect(rules(core, 1204)).to.deep.equal(['release-after-stop']);
    });

    it('the secondary takes over at once from a primary in maintenance', () => {
      const core = new SidecarCore(settings('s'), 0);
      core.onWitnessHeartbeatAnswer(1100, 0n, answer('acknowledged', 'p', EPOCH), 1100);
      core.onPeerHeartbeat(
        peerState('p', 'stopped', EPOCH, { handingOver: true, eligible: false, maintenance: true }),
        1500,
      );
      expect(rules(core, 1500)).to.deep.equal(['acquire-peer-hands-over']);
    });
  });
});
