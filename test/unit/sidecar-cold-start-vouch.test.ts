/**
 * The secondary's side of a cold start with the witness down (design §10.2), in the core alone: it
 * vouches for the primary's proposed epoch with a peer lease only once that epoch is on its disk,
 * only after its own quiet period (a restarted sidecar's previous run may still be stopping), only
 * while it does not hear the witness either, and for a proposal above all it knows, also one lower
 * than a proposal it heard before (a primary whose record fell behind).
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { grantorEnd, peerState, settings } from '../support/sidecar-test-settings';

describe('sidecar core: vouching for a cold start', () => {
  const S = settings('s');
  const quietEnd = grantorEnd(0, S.peerLeaseMs, S);
  const proposal = (epoch: bigint) =>
    peerState('p', 'stopped', 5n, { durableEpochs: true, coldStartEpoch: epoch, knownEpoch: 5n });

  function secondary(): SidecarCore {
    return new SidecarCore(S, 0, { knownEpoch: 5n });
  }

  it('records the proposal first, and vouches once it is on disk, after the quiet period', () => {
    const s = secondary();
    const t = quietEnd + 10;
    expect(s.onPeerHeartbeat(proposal(6n), t).leaseMs, 'not before it is recorded').to.equal(0);
    expect(s.epochToRecord(), 'the proposal is to be recorded').to.equal(6n);
    s.onEpochRecorded(6n);
    const reply = s.onPeerHeartbeat(proposal(6n), t + 1);
    expect([reply.leaseMs, reply.leaseForEpoch]).to.deep.equal([S.peerLeaseMs, 6n]);
    expect(s.witnessHeartbeat().knownEpoch, 'the witness is told the vouched epoch').to.equal(6n);
  });

  it('never within its quiet period: its previous process may still be stopping a run', () => {
    const s = secondary();
    s.onPeerHeartbeat(proposal(6n), 10);
    s.onEpochRecorded(6n);
    expect(s.onPeerHeartbeat(proposal(6n), quietEnd - 1).leaseMs).to.equal(0);
    expect(s.onPeerHeartbeat(proposal(6n), quietEnd).leaseMs).to.equal(S.peerLeaseMs);
  });

  it('never while it hears the witness itself, nor for a proposal not above all it knows', () => {
    const s = secondary();
    const t = quietEnd + 10;
    s.onPeerHeartbeat(proposal(6n), t);
    s.onEpochRecorded(6n);
    const ack = {
      verdict: 'acknowledged',
      holder: '',
      epoch: 5n,
      leaseMs: 0,
      retryAfterMs: 0,
      handOver: false,
      maintenance: false,
    } as const;
    s.onWitnessHeartbeatAnswer(t, 0n, ack, t);
    expect(s.onPeerHeartbeat(proposal(6n), t + 1).leaseMs, 'the witness is heard').to.equal(0);
    const later = t + 1 + S.timeoutMs;
    expect(s.onPeerHeartbeat(proposal(6n), later).leaseMs, 'the witness silent for a timeout').to.equal(S.peerLeaseMs);
    expect(s.onPeerHeartbeat(proposal(5n), later + 1).leaseMs, 'an epoch it knows').to.equal(0);
  });

  it('vouches for a lower re-proposal it has on disk: the primary’s record fell behind', () => {
    const s = secondary();
    const t = quietEnd + 10;
    s.onPeerHeartbeat(proposal(8n), t);
    s.onEpochRecorded(8n);
    expect(s.onPeerHeartbeat(proposal(7n), t + 1).leaseForEpoch).to.equal(7n);
  });

  it('a node that runs does not take a proposal as known: the witness would refuse its own run (§6.2)', () => {
    // A running secondary, granted epoch 9, hears a stale primary propose 10 (its view of the
    // secondary was an old "stopped"): a renewal of 9 reporting 10 would be refused.
    const s = secondary();
    const granted = {
      verdict: 'granted',
      holder: 's',
      epoch: 9n,
      leaseMs: 1000,
      retryAfterMs: 0,
      handOver: false,
      maintenance: false,
    } as const;
    s.onAcquireAnswer(quietEnd, granted, quietEnd + 1);
    expect(s.decide(quietEnd + 1).map((a) => a.rule)).to.deep.equal(['start-on-grant']);
    s.onWorkload('running', quietEnd + 5);
    s.onPeerHeartbeat(proposal(10n), quietEnd + 10);
    expect(s.epochToRecord(), 'its own epoch is to be recorded, not the proposal').to.equal(9n);
    expect(s.witnessHeartbeat()).to.include({ heldEpoch: 9n, knownEpoch: 9n });
  });
});
