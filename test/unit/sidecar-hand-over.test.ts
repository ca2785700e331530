/**
 * The planned hand-over (SIGTERM of the sidecar, design §9.5): the leaving node stops, releases
 * and then says it hands the group over; its peer takes over at once instead of waiting for the
 * preferred primary or for the leaving node to fall silent. Driven on the core directly; the
 * simulator draws it as the `sidecar-sigterm` fault, and test/e2e drives it with real processes.
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import type { PeerState, WitnessAnswer } from '../../src/core/sidecar/types';
import { peerState, settings } from '../support/sidecar-test-settings';

const EPOCH = 5n;

function answer(verdict: WitnessAnswer['verdict'], holder: string, epoch: bigint, leaseMs = 0): WitnessAnswer {
  return { verdict, holder, epoch, leaseMs, retryAfterMs: 0, handOver: false, maintenance: false };
}

const rules = (core: SidecarCore, now: number): string[] => core.decide(now).map((a) => a.rule);

/** The primary, granted at 1,100 and running from 1,110, with its secondary up and stopped. */
function runningPrimary(): SidecarCore {
  const core = new SidecarCore(settings('p'), 0);
  core.onWitnessHeartbeatAnswer(1100, 0n, answer('acknowledged', '', 0n), 1100);
  core.onPeerHeartbeat(peerState('s', 'stopped', 0n), 1100);
  expect(rules(core, 1100)).to.deep.equal(['acquire-preferred-primary']);
  core.onAcquireAnswer(1100, answer('granted', 'p', EPOCH, 1000), 1101);
  expect(rules(core, 1101)).to.deep.equal(['start-on-grant']);
  core.onWorkload('running', 1110);
  return core;
}

/** The secondary, past its quiet period, hearing a primary that ran under EPOCH. */
function standbySecondary(): SidecarCore {
  const core = new SidecarCore(settings('s'), 0);
  core.onWitnessHeartbeatAnswer(1100, 0n, answer('acknowledged', 'p', EPOCH), 1100);
  return core;
}

describe('sidecar core: the planned hand-over', () => {
  it('the leaving node stops, releases, then says it hands over, and asks for nothing more', () => {
    const core = runningPrimary();
    core.leave();
    expect(core.peerState(1200).handingOver).to.equal(false);
    expect(rules(core, 1200)).to.deep.equal(['stop-to-hand-over']);
    expect(core.peerState(1201).handingOver, 'still stopping').to.equal(false);
    core.onWorkload('stopped', 1300);
    expect(rules(core, 1300)).to.deep.equal(['release-after-stop']);
    // Until the release is answered it says "stopping": a primary hearing "stopped" would ask the
    // witness while the group is still held.
    expect(core.peerState(1301)).to.include({ workload: 'stopping', handingOver: false });
    core.onReleaseAnswer(EPOCH, answer('released', '', EPOCH), 1310);
    expect(core.peerState(1310)).to.include({ workload: 'stopped', handingOver: true, handbackRequested: false });
    expect(core.decide(1310)).to.deep.equal([]);
    expect(core.view(1310).lastRule).to.equal('release-after-stop');
    // With the peer silent and the witness up, a standby would ask: the leaving node does not.
    core.onWitnessHeartbeatAnswer(5000, 0n, answer('acknowledged', '', EPOCH), 5000);
    expect(core.decide(5000)).to.deep.equal([]);
  });

  it('the secondary takes over at once from a primary that hands over', () => {
    const core = standbySecondary();
    core.onPeerHeartbeat(peerState('p', 'running', EPOCH), 1150);
    expect(core.decide(1150)).to.deep.equal([]);
    // Both up and stopped: without the hand-over the secondary leaves the group to the primary.
    core.onPeerHeartbeat(peerState('p', 'stopped', EPOCH), 1400);
    expect(core.decide(1400)).to.deep.equal([]);
    expect(core.view(1400).lastRule).to.equal('');
    core.onPeerHeartbeat(peerState('p', 'stopped', EPOCH, { handingOver: true }), 1500);
    expect(rules(core, 1500)).to.deep.equal(['acquire-peer-hands-over']);
  });

  it('an older "stopping" that arrives after the hand-over is dropped: refused as stale, the secondary asks again', () => {
    const core = standbySecondary();
    const said = (n: bigint, incarnation = 7n): Partial<PeerState> => ({ incarnation, statement: n });
    core.onPeerHeartbeat(peerState('p', 'stopped', EPOCH, { handingOver: true, ...said(12n) }), 1500);
    expect(rules(core, 1500)).to.deep.equal(['acquire-peer-hands-over']);
    core.onAcquireAnswer(1500, answer('refused', '', EPOCH), 1510);
    // The reply to a heartbeat the secondary sent while the primary was stopping comes last.
    const late = peerState('p', 'stopping', EPOCH, said(11n));
    core.onPeerReply(1400, { state: late, leaseMs: 0, leaseForEpoch: 0n }, 1520);
    expect(core.decide(1520)).to.deep.equal([]); // the refusal's wait
    expect(rules(core, 1610)).to.deep.equal(['acquire-peer-hands-over']);
  });

  it('a state of a later process of the peer is taken, and so is any state of an older sidecar', () => {
    const core = standbySecondary();
    core.onPeerHeartbeat(
      peerState('p', 'stopped', EPOCH, { handingOver: true, incarnation: 7n, statement: 40n }),
      1500,
    );
    // Restarted: a new process numbers from 1 again.
    core.onPeerHeartbeat(peerState('p', 'stopping', EPOCH, { incarnation: 8n, statement: 1n }), 1510);
    expect(core.decide(1510)).to.deep.equal([]); // waits for the stop it now says is going on
    const unordered = standbySecondary();
    unordered.onPeerHeartbeat(peerState('p', 'stopped', EPOCH, { handingOver: true }), 1500);
    unordered.onPeerHeartbeat(peerState('p', 'stopping', EPOCH), 1510);
    expect(unordered.decide(1510)).to.deep.equal([]);
  });

  it('the secondary does not take over from a primary that says it hands over while not stopped', () => {
    const core = standbySecondary();
    core.onPeerHeartbeat(peerState('p', 'stopping', EPOCH, { handingOver: true }), 1500);
    expect(core.decide(1500)).to.deep.equal([]);
  });

  it('a grant that reaches a leaving node is handed back, not started', () => {
    const core = new SidecarCore(settings('p'), 0);
    core.onWitnessHeartbeatAnswer(1100, 0n, answer('acknowledged', '', 0n), 1100);
    core.onPeerHeartbeat(peerState('s', 'stopped', 0n), 1100);
    expect(rules(core, 1100)).to.deep.equal(['acquire-preferred-primary']);
    core.leave();
    core.onAcquireAnswer(1100, answer('granted', 'p', EPOCH, 1000), 1101);
    expect(rules(core, 1101)).to.deep.equal(['release-grant-when-leaving']);
    core.onReleaseAnswer(EPOCH, answer('released', '', EPOCH), 1110);
    expect(core.peerState(1110).handingOver).to.equal(true);
    expect(core.view(1110).workload).to.equal('stopped');
  });

  it("a release of an earlier run, still unanswered, does not hold back this run's release", () => {
    // Found by the simulator's hand-over bound: the release of one run was cut off, its call still
    // within its (long) deadline when the next run stopped; one flag for every release kept the
    // node waiting for the old answer until the new run's lease ran out.
    const core = runningPrimary();
    const stopAt = core.stopDeadline();
    expect(rules(core, stopAt)).to.deep.equal(['stop-lost-peer-and-witness']);
    core.onWorkload('stopped', stopAt + 10);
    expect(rules(core, stopAt + 10)).to.deep.equal(['release-after-stop']); // never answered
    const later = 2200; // the lease of EPOCH has run out: the holding with it
    core.onWitnessHeartbeatAnswer(later, 0n, answer('acknowledged', 'p', EPOCH), later);
    core.onPeerHeartbeat(peerState('s', 'stopped', 0n), later);
    expect(rules(core, later)).to.deep.equal(['acquire-preferred-primary']);
    core.onAcquireAnswer(later, answer('granted', 'p', EPOCH + 1n, 1000), later + 1);
    expect(rules(core, later + 1)).to.deep.equal(['start-on-grant']);
    core.onWorkload('running', later + 10);
    core.leave();
    expect(rules(core, later + 20)).to.deep.equal(['stop-to-hand-over']);
    core.onWorkload('stopped', later + 30);
    expect(rules(core, later + 30)).to.deep.equal(['release-after-stop']);
    expect(rules(core, later + 31), 'its own release in flight: wait').to.deep.equal([]);
  });

  it('a workload that exits by itself during the hand-over is not restarted', () => {
    const core = runningPrimary();
    core.leave();
    expect(rules(core, 1200)).to.deep.equal(['stop-to-hand-over']);
    core.onWorkload('stopped', 1210, true);
    expect(rules(core, 1210)).to.deep.equal(['release-after-stop']);
  });
});
