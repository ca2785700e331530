/**
 * L3's reading of the messages (src/sim/prompt-stops.ts): which answers and peer states end a run.
 * The check reads the message, not the core, so it must name exactly what design §3.5 names.
 */
import { expect } from 'chai';
import type { PeerState, WitnessAnswer } from '../../src/core/sidecar/types';
import { peerEndsRun, witnessEndsRun } from '../../src/sim/prompt-stops';
import { peerState, settings } from '../support/sidecar-test-settings';

const answer = (verdict: WitnessAnswer['verdict'], holder: string, epoch: bigint): WitnessAnswer => ({
  verdict,
  holder,
  epoch,
  leaseMs: 1000,
  retryAfterMs: 0,
  handOver: false,
  maintenance: false,
});

describe('simulator: the stops that are asked for (L3)', () => {
  const P = settings('p');
  const S = settings('s', { failback: 'auto' });

  it('a heartbeat answer under the running epoch ends the run unless it names this node and that epoch', () => {
    expect(witnessEndsRun(P, 7n, 7n, answer('renewed', 'p', 7n))).to.equal(undefined);
    expect(witnessEndsRun(P, 7n, 7n, answer('refused', 's', 8n))).to.match(/holder 's' and epoch 8/);
    expect(witnessEndsRun(P, 7n, 7n, answer('refused', '', 7n))).to.match(/holder ''/);
    // A witness that merely acknowledges a superseded epoch is still telling the node it is over.
    expect(witnessEndsRun(P, 7n, 7n, answer('acknowledged', 'p', 8n))).to.match(/acknowledged/);
  });

  it('an answer to a heartbeat under another epoch, or under none, ends nothing', () => {
    expect(witnessEndsRun(P, 8n, 7n, answer('refused', 'p', 8n))).to.equal(undefined);
    expect(witnessEndsRun(P, 8n, 0n, answer('acknowledged', 's', 9n))).to.equal(undefined);
    expect(witnessEndsRun({ ...P, mode: 'simple' }, 7n, 7n, answer('refused', 's', 8n))).to.equal(undefined);
  });

  it('the stopped preferred primary asking for the group back ends the run of a secondary with auto fail-back', () => {
    const asks: PeerState = { ...peerState('p', 'stopped', 3n), handbackRequested: true };
    expect(peerEndsRun(S, asks, undefined)).to.match(/asks for the group back/);
    expect(peerEndsRun({ ...S, failback: 'manual' }, asks, undefined)).to.equal(undefined);
    expect(peerEndsRun(S, { ...asks, workload: 'running' }, undefined)).to.equal(undefined);
    expect(peerEndsRun(S, { ...asks, handbackRequested: false }, undefined)).to.equal(undefined);
    expect(peerEndsRun(P, { ...asks, node: 's', role: 'secondary' }, undefined)).to.equal(undefined);
  });

  it("the group's policy at the witness wins over the secondary's own --failback", () => {
    const asks: PeerState = { ...peerState('p', 'stopped', 3n), handbackRequested: true };
    expect(peerEndsRun(S, asks, 'manual')).to.equal(undefined);
    expect(peerEndsRun({ ...S, failback: 'manual' }, asks, 'auto')).to.match(/asks for the group back/);
  });

  it('a peer that says it runs a newer epoch ends nothing (design §2.1: only a broken message says so)', () => {
    expect(peerEndsRun(P, peerState('s', 'running', 99n), undefined)).to.equal(undefined);
  });
});
