/**
 * The witness heartbeat of each role (design §4.6), as the production runtime paces it in the
 * sidecar harness: the running node at the lease's rate, the standby at a third of the timeout,
 * and a heartbeat that went unanswered followed a --heartbeat later.
 */
import { expect } from 'chai';
import { witnessHeartbeatMs } from '../../src/core/sidecar/timing';
import { steadyState, type Harness } from '../support/sidecar-harness';
import { settings, type NodeId } from '../support/sidecar-test-settings';

/** The gaps between the node's witness heartbeats sent in [from, to). */
function renewGaps(h: Harness, n: NodeId, from: number, to: number): number[] {
  const sent = h
    .entries(n, 'renew')
    .map((e) => e.t)
    .filter((t) => t >= from && t < to);
  return sent.slice(1).map((t, i) => Math.round(t - (sent[i] as number)));
}

describe('the witness heartbeat of each role (design §4.6)', () => {
  const running = witnessHeartbeatMs(settings('p'), settings('p').leaseMs);
  const standing = witnessHeartbeatMs(settings('s'), undefined);
  const heartbeat = settings('p').heartbeatMs;

  it('the test settings tell the three rates apart', () => {
    expect(new Set([running, standing, heartbeat]).size).to.equal(3);
  });

  it('the running primary renews at its lease rate and the standby at a third of the timeout, each on its own rhythm', () => {
    const h = steadyState();
    const from = h.now + 1000;
    h.runUntil(from + 5000);
    const p = renewGaps(h, 'p', from, h.now);
    const s = renewGaps(h, 's', from, h.now);
    expect(p.length).to.be.at.least(20);
    expect(new Set(p), 'every gap of the running node').to.deep.equal(new Set([running]));
    expect(new Set(s), 'every gap of the standby').to.deep.equal(new Set([standing]));
    expect(h.running('p')).to.equal(true);
  });

  it('a heartbeat the witness refused is followed a --heartbeat later, and the slow rhythm comes back with an answer', () => {
    const h = steadyState();
    let refusing = true;
    h.fate = (from, to, kind) => (refusing && from === 's' && to === 'w' && kind === 'renew' ? 'reset' : undefined);
    const from = h.now + standing + 10;
    h.runUntil(from + 1000);
    const refused = renewGaps(h, 's', from, h.now);
    expect(refused.length).to.be.at.least(8);
    // A refusal comes back 1 ms after the send: the next heartbeat is due a --heartbeat after that send.
    expect(new Set(refused)).to.deep.equal(new Set([heartbeat]));
    refusing = false;
    const healed = h.now + standing + heartbeat;
    h.runUntil(healed + 2000);
    expect(new Set(renewGaps(h, 's', healed, h.now))).to.deep.equal(new Set([standing]));
  });

  it('a late answer to a heartbeat sent before the refusals does not bring the slow rhythm back', () => {
    const h = steadyState();
    // Answered between two refused heartbeats, within the deadline.
    const lateMs = standing + 2 * heartbeat + heartbeat / 2;
    let sent = 0;
    let refusing = true;
    h.fate = (from, to, kind, leg) => {
      if (from !== 's' || to !== 'w' || kind !== 'renew' || leg !== 'request' || !refusing) return undefined;
      sent += 1;
      return sent === 1 ? lateMs : 'reset';
    };
    const from = h.now;
    h.runUntil(from + 1500);
    expect(lateMs).to.be.below(settings('s').timeoutMs);
    expect(sent, 'one late, then refused').to.be.at.least(8);
    const gaps = renewGaps(h, 's', from, h.now);
    // The first refusal comes a slow heartbeat after the late one; every gap after it is --heartbeat.
    expect(gaps.slice(1).length).to.be.at.least(6);
    expect(new Set(gaps.slice(1)), 'still refused: still every --heartbeat').to.deep.equal(new Set([heartbeat]));
    refusing = false;
    const healed = h.now + heartbeat;
    h.runUntil(healed + 2000);
    expect(new Set(renewGaps(h, 's', healed, h.now))).to.deep.equal(new Set([standing]));
  });
});
