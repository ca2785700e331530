/**
 * Answers from the witness: refusals, late grants, lost and failed acquires, and what the core does
 * with each (design §6.2, §8.4).
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { stopBudget } from '../../src/core/sidecar/timing';
import type { WitnessAnswer } from '../../src/core/sidecar/types';
import { acquireDeadlineMs } from '../../src/sidecar/acquire-timing';
import { Harness, steadyState, type LogEntry } from '../support/sidecar-harness';
import { Manual } from '../support/manual-core';
import { GROUP, grantorEnd, holderEnd, kinds, peerState, toCore, settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const P = settings('p');
  const S = settings('s');
  const BUDGET = stopBudget(P); // 200 + 100 + 10
  const grantorEndOf = (at: number, leaseMs: number): number => grantorEnd(at, leaseMs, P);

  describe('answers from the witness', () => {
    function supersededWhileOnPeerLeases(): { h: Harness; epoch: bigint; newer: bigint } {
      const h = steadyState();
      const epoch = h.core('p').view(h.now).epoch;
      h.cutLink('p', 'w');
      // The primary runs on the secondary's peer leases; the witness's hold on it runs out.
      h.runUntil(h.now + 1500);
      expect(h.witnessView().holderLeaseRemainingMs).to.equal(0);
      // Someone else obtains a newer epoch (here: in the secondary's name, straight at the witness).
      const grant = h.witness.acquire('s', 0n, 1000);
      expect(grant?.verdict).to.equal('granted');
      const newer = (grant as WitnessAnswer).epoch;
      expect(newer > epoch).to.equal(true);
      expect(h.core('p').view(h.now).peerLeaseMs).to.be.above(300);
      h.healLink('p', 'w');
      h.runUntilTrue(() => h.entries('p', 'stop').length > 0, h.now + 200);
      return { h, epoch, newer };
    }

    it('a renewal refused as stale stops the active node at once, though its peer lease still holds', () => {
      const { h } = supersededWhileOnPeerLeases();
      const stop = h.entries('p', 'stop')[0] as LogEntry;
      // The instant the answer to a renewal came back (no network delay here).
      expect(h.entries('p', 'renew').map((e) => e.t)).to.include(stop.t);
      const peerLeaseEnd = Math.max(
        ...h.leasesHeard
          .filter((l) => l.node === 'p' && l.what === 'peer')
          .map((l) => holderEnd(l.sentAt, l.leaseMs, P)),
      );
      expect(stop.t).to.be.below(peerLeaseEnd - BUDGET - 500);
      expect(h.core('p').view(h.now)).to.include({ workload: 'stopping', holding: false });
      // It does not release an epoch that is no longer its own, and starts nothing while the other holds it.
      h.runUntil(h.now + 500);
      expect(h.entries('p', 'release')).to.deep.equal([]);
      expect(h.running('p')).to.equal(false);
    });

    it('the stop after a refusal says why (not "lost both the peer and the witness")', () => {
      const { h, epoch, newer } = supersededWhileOnPeerLeases();
      const stop = h.entries('p', 'stop')[0] as LogEntry;
      expect(stop.detail).to.contain(`witness refused epoch ${epoch}`);
      expect(stop.detail).to.contain(`${newer}`);
    });

    it('the refusal stops it in the very decide() that follows the answer', () => {
      const m = new Manual(P);
      const p = new SidecarCore(P, 0);
      const s = new SidecarCore(S, 0);
      const epoch = m.runAt(p, 'p', 2000);
      p.onPeerReply(2100, s.onPeerHeartbeat(p.peerState(2100), 2100), 2100);
      const refused: WitnessAnswer = {
        verdict: 'refused',
        holder: 's',
        epoch: epoch + 1n,
        leaseMs: 0,
        retryAfterMs: 0,
        handOver: false,
        maintenance: false,
      };
      p.onWitnessHeartbeatAnswer(2200, epoch, refused, 2210);
      expect(kinds(p.decide(2210))).to.deep.equal(['stop']);
      expect(p.view(2210).knownEpoch).to.equal(epoch + 1n);
      // A refusal of an epoch it no longer holds changes nothing.
      const q = new SidecarCore(P, 0);
      const e2 = new Manual(P).runAt(q, 'p', 2000);
      q.onWitnessHeartbeatAnswer(1900, e2 - 1n, refused, 2210);
      expect(q.decide(2210)).to.deep.equal([]);
    });

    it('a grant arriving after its whole lease has run out is released, not dropped', () => {
      const m = new Manual(P);
      const p = new SidecarCore(P, 0);
      m.heartbeat(p, 'p', 1100);
      expect(kinds(p.decide(1100))).to.deep.equal(['acquire']);
      const answer = m.acquire(p, 'p', 1100);
      const muchLater = holderEnd(1100, answer.leaseMs, P) + 500;
      p.onAcquireAnswer(1100, answer, muchLater);
      expect(p.decide(muchLater)).to.deep.equal([
        {
          kind: 'release',
          rule: 'release-late-grant',
          epoch: answer.epoch,
          why: `grant of epoch ${answer.epoch} arrived too late to use`,
        },
        // The hold had lapsed with that lease: the same decide goes on as a standby (the peer was
        // never heard, the witness just was), since no wake-up is left for it to come later.
        {
          kind: 'acquire',
          rule: 'acquire-peer-gone',
          why: 'the peer is gone: run only once the witness confirms its lease has run out',
        },
      ]);
      expect(p.decide(muchLater), 'nothing more is due at once').to.deep.equal([]);
    });

    it('a grant for an older acquire, answered after a newer one started a run, changes nothing (a transport without deadlines)', () => {
      const m = new Manual(P);
      const p = new SidecarCore(P, 0);
      m.heartbeat(p, 'p', 1100);
      expect(kinds(p.decide(1100))).to.deep.equal(['acquire']);
      const older = m.acquire(p, 'p', 1100);
      expect(older.verdict).to.equal('granted');
      // Its answer is held back: once that grant's hold has run out at the witness, a new acquire.
      const later = grantorEndOf(1100, older.leaseMs) + 1;
      m.heartbeat(p, 'p', later);
      expect(kinds(p.decide(later))).to.deep.equal(['acquire']);
      const newer = m.acquire(p, 'p', later);
      expect(newer.verdict).to.equal('granted');
      p.onAcquireAnswer(later, newer, later);
      expect(kinds(p.decide(later))).to.deep.equal(['start']);
      p.onWorkload('running', later + 10);
      const before = { view: p.view(later + 20), deadline: p.stopDeadline() };
      p.onAcquireAnswer(1100, older, later + 20);
      expect(p.view(later + 20)).to.deep.equal(before.view);
      expect(p.stopDeadline()).to.equal(before.deadline);
      expect(p.decide(later + 20)).to.deep.equal([]);
      expect(p.witnessHeartbeat().heldEpoch).to.equal(newer.epoch);
    });

    it('a renewal of the epoch before, answered before its Release and landing during a cold run, gives that run no witness lease (a transport without deadlines)', () => {
      // A witness lease four peer leases long, a short timeout, no restarts and no cool-down: the
      // primary gives its run up, releases it, and with the witness silent starts cold (§10.2).
      const C = settings('p', { leaseMs: 4000, timeoutMs: 300, maxRestarts: 0, failureCooldownMs: 0 });
      const m = new Manual(C);
      const p = new SidecarCore(C, 0, { knownEpoch: 0n });
      const epoch = m.runAt(p, 'p', 2000);
      // The renewal sent at 2100 is answered at once; its answer is held back past its deadline.
      const hb = p.witnessHeartbeat();
      const request = { group: GROUP, node: 'p', role: 'primary', leaseMs: hb.leaseMs } as const;
      const renewal = toCore(
        m.arbiter.heartbeat({ ...request, heldEpoch: hb.heldEpoch, knownEpoch: hb.knownEpoch }, 2100).answer,
      );
      expect([renewal.verdict, renewal.epoch, renewal.leaseMs]).to.deep.equal(['renewed', epoch, 4000]);
      p.onWorkload('stopped', 2150, true);
      expect(kinds(p.decide(2150))).to.deep.equal(['release']);
      const released = m.arbiter.release({ group: GROUP, node: 'p', epoch, knownEpoch: epoch }, 2150).answer;
      p.onReleaseAnswer(epoch, toCore(released), 2160);
      // The witness falls silent; the secondary, stopped and silent to it too, vouches for a cold start.
      const secondary = peerState('s', 'stopped', 0n, { durableEpochs: true, knownEpoch: epoch });
      const t = 2160 + C.timeoutMs;
      p.onPeerHeartbeat(secondary, t);
      expect(p.decide(t)).to.deep.equal([]);
      const proposed = p.peerState(t).coldStartEpoch;
      expect(proposed > epoch, 'a cold start above the released epoch is proposed').to.equal(true);
      p.onEpochRecorded(proposed);
      p.onPeerReply(t, { state: secondary, leaseMs: C.peerLeaseMs, leaseForEpoch: proposed }, t + 1);
      expect(p.decide(t + 1).map((a) => a.rule)).to.deep.equal(['start-cold-on-peer-lease']);
      p.onWorkload('running', t + 2);
      const deadline = p.stopDeadline();
      expect(deadline).to.equal(holderEnd(t, C.peerLeaseMs, C) - stopBudget(C));
      p.onWitnessHeartbeatAnswer(2100, hb.heldEpoch, renewal, t + 3);
      expect(p.stopDeadline(), 'the cold run still ends with its peer lease').to.equal(deadline);
      // What counting it would risk: the witness dropped that hold at the Release, so once the
      // secondary's promise has ended it grants the secondary, well before that renewal would end.
      const promiseEnd = grantorEnd(t, C.peerLeaseMs, C);
      expect(promiseEnd).to.be.below(holderEnd(2100, renewal.leaseMs, C) - stopBudget(C));
      const asker = { group: GROUP, node: 's', knownEpoch: proposed, leaseMs: C.leaseMs } as const;
      m.arbiter.heartbeat({ ...asker, role: 'secondary', heldEpoch: 0n }, promiseEnd);
      const taken = m.arbiter.acquire(asker, promiseEnd);
      expect(taken.answer.verdict).to.equal('granted');
    });

    it("the answer to an earlier epoch's Release, landing during the next run, leaves that run held", () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      const first = m.runAt(s, 's', 1100);
      // The preferred primary asks for the group back: stop, then release epoch `first`.
      s.onPeerHeartbeat(peerState('p', 'stopped', 0n, { handbackRequested: true }), 1300);
      expect(kinds(s.decide(1300))).to.deep.equal(['stop']);
      s.onWorkload('stopped', 1400);
      expect(s.decide(1400).map((a) => [a.kind, a.rule, a.kind === 'release' ? a.epoch : 0n])).to.deep.equal([
        ['release', 'release-after-stop', first],
      ]);
      const released = toCore(
        m.arbiter.release({ group: GROUP, node: 's', epoch: first, knownEpoch: first }, 1410).answer,
      );
      // Its answer is slow. The lease runs out meanwhile, the primary falls silent: a new run.
      const later = Math.max(holderEnd(1100, S.leaseMs, S), 1300 + S.timeoutMs) + 1;
      expect(s.view(later).holding).to.equal(true);
      m.heartbeat(s, 's', later);
      expect(kinds(s.decide(later))).to.deep.equal(['acquire']);
      const grant = m.acquire(s, 's', later);
      s.onAcquireAnswer(later, grant, later);
      expect(kinds(s.decide(later))).to.deep.equal(['start']);
      s.onWorkload('running', later + 10);
      s.onReleaseAnswer(first, released, later + 20);
      expect(s.view(later + 20)).to.include({ holding: true, epoch: grant.epoch, workload: 'running' });
      expect(s.decide(later + 20)).to.deep.equal([]);
    });

    it("a 'running' report that crosses a stop does not undo the stop", () => {
      const m = new Manual(P);
      const p = new SidecarCore(P, 0);
      m.heartbeat(p, 'p', 1100);
      p.decide(1100);
      p.onAcquireAnswer(1100, m.acquire(p, 'p', 1100), 1100);
      expect(kinds(p.decide(1100))).to.deep.equal(['start']);
      const deadline = p.stopDeadline();
      expect(kinds(p.decide(deadline))).to.deep.equal(['stop']);
      p.onWorkload('running', deadline + 1);
      expect(p.view(deadline + 1).workload).to.equal('stopping');
      expect(p.witnessHeartbeat().heldEpoch).to.equal(0n);
    });

    for (const early of [0.001, 0]) {
      it(`a grant arriving ${early === 0 ? 'exactly when' : 'just before'} its lease from sentAt, less the stop budget, runs out ${early === 0 ? 'is not used to start, and the node releases it' : 'is still used'}`, () => {
        const m = new Manual(P);
        const p = new SidecarCore(P, 0);
        m.heartbeat(p, 'p', 1100);
        expect(kinds(p.decide(1100))).to.deep.equal(['acquire']);
        const answer = m.acquire(p, 'p', 1100);
        expect(answer.verdict).to.equal('granted');
        const late = holderEnd(1100, answer.leaseMs, P) - BUDGET - early;
        p.onAcquireAnswer(1100, answer, late);
        const actions = p.decide(late);
        if (early > 0) {
          expect(actions).to.deep.equal([
            {
              kind: 'start',
              rule: 'start-on-grant',
              epoch: answer.epoch,
              why: `granted epoch ${answer.epoch} by the witness`,
            },
          ]);
          return;
        }
        expect(actions).to.deep.equal([
          {
            kind: 'release',
            rule: 'release-late-grant',
            epoch: answer.epoch,
            why: `grant of epoch ${answer.epoch} arrived too late to use`,
          },
        ]);
        expect(p.view(late)).to.include({ workload: 'stopped', epoch: answer.epoch });
        const released = m.arbiter.release(
          { group: GROUP, node: 'p', epoch: answer.epoch, knownEpoch: answer.epoch },
          late,
        ).answer;
        expect(released.verdict).to.equal('released');
        p.onReleaseAnswer(answer.epoch, toCore(released), late + 1);
        expect(p.view(late + 1).holding).to.equal(false);
        // It grants peer leases again and may ask again later; it never starts under the late grant.
        expect(p.onPeerHeartbeat(peerState('s', 'running', answer.epoch + 1n), late + 2).leaseMs).to.equal(
          P.peerLeaseMs,
        );
      });
    }

    it('in the harness, a grant delayed past its usable lease is not used; the node releases and the witness frees the group', () => {
      // The Acquire's deadline is the usable lease (design §8.4): an answer any later never reaches
      // the core. So the latest grant that still arrives, the one answered at the deadline itself,
      // is the one that comes too late to use.
      const delayMs = acquireDeadlineMs(P);
      expect(delayMs).to.equal(holderEnd(0, P.leaseMs, P) - BUDGET);
      let delayed = 0;
      const h = new Harness({
        arbiterStartAt: -10_000,
        startAt: { p: 0 },
        fate: (from, _to, kind, leg) => {
          if (from === 'w' && kind === 'acquire' && leg === 'answer' && delayed++ === 0) return delayMs;
          return undefined;
        },
      });
      h.runUntil(1800);
      const acquire = h.entries('p', 'acquire')[0] as LogEntry;
      const answer = h.acquireAnswers[0];
      expect(answer?.t).to.equal(acquire.t + delayMs);
      expect(answer?.answer?.verdict).to.equal('granted');
      const release = h.entries('p', 'release')[0];
      expect(release?.t).to.equal(answer?.t);
      expect(release?.epoch).to.equal(answer?.answer?.epoch);
      expect(h.log.filter((e) => e.kind === 'start' && e.epoch === release?.epoch)).to.deep.equal([]);
      // It then acquires again and runs under a newer epoch.
      h.runUntil(4000);
      const starts = h.entries('p', 'start');
      expect(starts).to.have.length(1);
      expect((starts[0]?.epoch as bigint) > (release?.epoch as bigint)).to.equal(true);
    });

    it('an acquire whose answer was lost keeps the node acquiring (no peer lease) until sentAt + L(1-rho)', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      m.heartbeat(s, 's', 1100);
      expect(kinds(s.decide(1100))).to.deep.equal(['acquire']);
      s.onAcquireAnswer(1100, undefined, 1100 + S.timeoutMs); // failed at the call's deadline
      const end = holderEnd(1100, S.leaseMs, S);
      for (const t of [1100, 1500, 2000, 2089, end - 0.001]) {
        expect(s.peerState(t).acquiring, `at ${t}`).to.equal(true);
        expect(s.onPeerHeartbeat(peerState('p', 'running', 4n), t).leaseMs, `at ${t}`).to.equal(0);
        m.heartbeat(s, 's', t);
        expect(s.decide(t), `at ${t}`).to.deep.equal([]);
      }
      expect(s.peerState(end).acquiring).to.equal(false);
      expect(s.onPeerHeartbeat(peerState('p', 'running', 4n), end).leaseMs).to.equal(S.peerLeaseMs);
      // ... and having promised, it does not ask again right away.
      expect(s.decide(end)).to.deep.equal([]);
    });

    it('an acquire the witness refused before deciding (undecided) ends the flight: asked again one heartbeat later', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      m.heartbeat(s, 's', 1100);
      expect(kinds(s.decide(1100))).to.deep.equal(['acquire']);
      s.onAcquireAnswer(1100, undefined, 1105, 'undecided'); // e.g. NOT_FOUND from a new leader
      expect(s.peerState(1105).acquiring).to.equal(false);
      expect(s.nextWakeAt(1105)).to.equal(1105 + S.heartbeatMs);
      m.heartbeat(s, 's', 1105 + S.heartbeatMs - 1);
      expect(s.decide(1105 + S.heartbeatMs - 1)).to.deep.equal([]);
      m.heartbeat(s, 's', 1105 + S.heartbeatMs);
      expect(kinds(s.decide(1105 + S.heartbeatMs))).to.deep.equal(['acquire']);
    });

    it('an undecided failure of an older acquire leaves the newer one in flight', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      m.heartbeat(s, 's', 1100);
      expect(kinds(s.decide(1100))).to.deep.equal(['acquire']);
      s.onAcquireAnswer(1000, undefined, 1105, 'undecided');
      expect(s.peerState(1105).acquiring).to.equal(true);
    });

    it('an acquire that failed but was granted at the witness: the grant arriving within its lease is still used', () => {
      const m = new Manual(S);
      const s = new SidecarCore(S, 0);
      m.heartbeat(s, 's', 1100);
      expect(kinds(s.decide(1100))).to.deep.equal(['acquire']);
      const answer = m.acquire(s, 's', 1100);
      s.onAcquireAnswer(1100, undefined, 1150);
      expect(s.peerState(1200).acquiring).to.equal(true);
      s.onAcquireAnswer(1100, answer, 1300);
      expect(kinds(s.decide(1300))).to.deep.equal(['start']);
    });
  });
});
