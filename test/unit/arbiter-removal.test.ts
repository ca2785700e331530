/**
 * Removing a node and breaking a group at the witness core (design §9.7): the REMOVAL and BREAK
 * rules of operator-rules.ts, what the removed node's answers then carry, that it keeps its place
 * in the group, and that the intent is durable (a witness restarted from the record keeps it).
 */
import { expect } from 'chai';
import type { Arbiter } from '../../src/core/witness/arbiter';
import { BREAK_RULES, REMOVAL_RULES } from '../../src/core/witness/operator-rules';
import type { Decision } from '../../src/core/witness/types';
import { InstantWriteArbiter } from '../support/instant-write-arbiter';
import { acq, CONFIG, G, GEN0, GRACE, hb, P, refusal, S, T0, withHolder } from '../support/operator-arbiter';

const rel = (a: Arbiter, node: string, epoch: bigint, now: number): Decision =>
  a.release({ group: G, node, epoch, knownEpoch: epoch }, now);
const remove = (a: Arbiter, node: string, now: number, force = false): Decision =>
  a.operate({ kind: 'remove', group: G, node, readmit: false, force }, now);
const readmit = (a: Arbiter, node: string, now: number): Decision =>
  a.operate({ kind: 'remove', group: G, node, readmit: true, force: false }, now);
const breakGroup = (a: Arbiter, now: number, force = false): Decision =>
  a.operate({ kind: 'break', group: G, force }, now);

describe('Arbiter: removing a node and breaking a group (design §9.7)', () => {
  it('the rule lists, in order', () => {
    expect(REMOVAL_RULES.map((r) => r.name)).to.deep.equal([
      'refuse-removal-of-unknown-node',
      'readmit-node',
      'refuse-removal-of-active-node',
      'remove-node',
    ]);
    expect(BREAK_RULES.map((r) => r.name)).to.deep.equal([
      'refuse-break-of-partly-known-group',
      'refuse-sync-break-during-takeover',
      'break-sync-relationship',
      'refuse-break-while-active',
      'break-group',
    ]);
  });

  describe('remove a node', () => {
    it('a standby: durable, granted nothing (reason removed), its heartbeats say it must not run', () => {
      const { a, t, e } = withHolder();
      const d = remove(a, S, t + 10);
      expect(d.rule).to.equal('remove-node');
      expect(d.event).to.equal('intent');
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e, removed: [S] });
      const heard = hb(a, S, t + 20);
      expect(heard.rule).to.equal('acknowledge-removed-node');
      expect(heard.answer).to.include({ verdict: 'acknowledged', maintenance: true, handOver: false });
      expect(hb(a, P, t + 20, e).answer, 'the holder runs on').to.include({ verdict: 'renewed', maintenance: false });
      const refused = acq(a, S, t + 10 * GRACE, e);
      expect(refused.rule).to.equal('refuse-removed-node');
      expect(refused.answer).to.include({ verdict: 'refused', reason: 'removed', maintenance: true });
      const view = a.view(G, t + 30);
      expect(view.removed).to.deep.equal([S]);
      expect(view.nodes.find((n) => n.node === S)).to.include({ removed: true, maintenance: false });
    });

    it('supersedes maintenance: a node in maintenance that is removed is no longer listed in maintenance', () => {
      const { a, t, e } = withHolder();
      a.operate({ kind: 'maintenance', group: G, node: S, on: true, force: false }, t + 5);
      expect(remove(a, S, t + 10).persist?.record).to.deep.equal({ group: G, holder: P, epoch: e, removed: [S] });
    });

    it('the active node: refused naming force; nothing changes', () => {
      const { a, t, e } = withHolder();
      const refused = refusal(() => remove(a, P, t + 10));
      expect(refused).to.include({ kind: 'failed-precondition', field: 'force' });
      expect(refused.message).to.match(/refuse-removal-of-active-node/);
      expect(a.view(G, t + 10).removed).to.deep.equal([]);
      expect(hb(a, P, t + 20, e).answer).to.include({ handOver: false, maintenance: false });
    });

    it('the active node, forced: its renewals ask it to hand over; after its release the peer is granted at once', () => {
      const { a, t, e } = withHolder();
      expect(remove(a, P, t + 10, true).rule).to.equal('remove-node');
      expect(hb(a, P, t + 20, e).answer).to.include({ verdict: 'renewed', handOver: true, maintenance: true });
      // While its lease runs the peer is refused, as always: removal decides no grant.
      expect(acq(a, S, t + 30, e).rule).to.equal('refuse-while-holder-lease-live');
      expect(rel(a, P, e, t + 40).answer.verdict).to.equal('released');
      const granted = acq(a, S, t + 50, e);
      expect(granted.answer.verdict).to.equal('granted');
      expect(granted.answer.epoch > e).to.equal(true);
      expect(acq(a, P, t + 10 * GRACE, granted.answer.epoch).answer.reason, 'never again').to.equal('removed');
    });

    it('keeps its place: no third node joins, also after a restart of the witness where it is not heard', () => {
      const { a, t, e } = withHolder();
      remove(a, S, t + 10);
      const third = () => hb(a, 'x', t + 20);
      expect(refusal(third)).to.include({ kind: 'failed-precondition', field: 'node' });
      const restarted = new InstantWriteArbiter(CONFIG, {
        now: t + 100,
        generation: GEN0,
        records: [{ group: G, holder: P, epoch: e, removed: [S] }],
      });
      expect(restarted.view(G, t + 100).removed).to.deep.equal([S]);
      hb(restarted, P, t + 110, e);
      expect(refusal(() => hb(restarted, 'x', t + 120))).to.include({ kind: 'failed-precondition', field: 'node' });
      const late = t + 100 + 10 * GRACE;
      expect(hb(restarted, S, late).rule, 'it comes back removed').to.equal('acknowledge-removed-node');
      expect(acq(restarted, S, late, e).answer.reason).to.equal('removed');
    });

    it('readmission undoes it (durable); readmitting a member not removed writes nothing', () => {
      const { a, t, e } = withHolder();
      remove(a, S, t + 10);
      const back = readmit(a, S, t + 20);
      expect(back.rule).to.equal('readmit-node');
      expect(back.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e });
      expect(readmit(a, S, t + 30).persist).to.equal(undefined);
      expect(hb(a, S, t + 40).answer.maintenance).to.equal(false);
      expect(acq(a, S, t + 10 * GRACE, e).answer.verdict).to.equal('granted');
    });

    it('of a node the witness does not know: refused naming node, for removal and readmission', () => {
      const { a, t } = withHolder();
      expect(refusal(() => remove(a, 'x', t))).to.include({ kind: 'not-found', field: 'node' });
      expect(refusal(() => readmit(a, 'x', t))).to.include({ kind: 'not-found', field: 'node' });
    });

    it('does not keep the group from being forgotten once everybody has been silent', () => {
      const { a, t, e } = withHolder();
      remove(a, S, t + 10);
      rel(a, P, e, t + 20);
      expect(a.forgettable(t + 20 + 3600_000, 3600_000, 10)).to.deep.equal([G]);
    });
  });

  describe('with maintenance and switchover', () => {
    it('a removed node cannot be put in maintenance (readmit it first); taking it out is harmless', () => {
      const { a, t } = withHolder();
      remove(a, S, t + 10);
      const refused = refusal(() =>
        a.operate({ kind: 'maintenance', group: G, node: S, on: true, force: false }, t + 20),
      );
      expect(refused).to.include({ kind: 'failed-precondition', field: 'node' });
      expect(refused.message).to.match(/refuse-maintenance-of-removed-node/);
      const off = a.operate({ kind: 'maintenance', group: G, node: S, on: false, force: false }, t + 30);
      expect(off.persist, 'nothing to change').to.equal(undefined);
      readmit(a, S, t + 40);
      expect(a.view(G, t + 50).nodes.find((n) => n.node === S)).to.include({ maintenance: false, removed: false });
    });

    it('with the peer removed, the active node is not switched over, nor put in maintenance unless forced: nobody could take over', () => {
      const { a, t, e } = withHolder();
      remove(a, S, t + 10);
      hb(a, S, t + 20);
      hb(a, P, t + 20, e);
      const switched = refusal(() => a.operate({ kind: 'switchover', group: G }, t + 30));
      expect(switched).to.include({ kind: 'failed-precondition', field: 'group' });
      expect(switched.message).to.match(/refuse-switchover-to-maintenance/);
      const paused = refusal(() =>
        a.operate({ kind: 'maintenance', group: G, node: P, on: true, force: false }, t + 30),
      );
      expect(paused).to.include({ kind: 'failed-precondition', field: 'force' });
      expect(paused.message).to.match(/refuse-maintenance-of-active-node/);
      expect(hb(a, P, t + 40, e).answer, 'nothing changed').to.include({ handOver: false, maintenance: false });
    });
  });

  describe('break the group', () => {
    it('refused while the witness knows fewer than two members (after a restart, before both report in)', () => {
      const restarted = new InstantWriteArbiter(CONFIG, {
        now: T0,
        generation: GEN0,
        records: [{ group: G, holder: '', epoch: 5n }],
      });
      const none = refusal(() => breakGroup(restarted, T0 + 10, true));
      expect(none).to.include({ kind: 'failed-precondition', field: 'group' });
      expect(none.message).to.match(/refuse-break-of-partly-known-group/);
      hb(restarted, P, T0 + 20);
      expect(refusal(() => breakGroup(restarted, T0 + 30, true)).message).to.match(
        /refuse-break-of-partly-known-group/,
      );
      hb(restarted, S, T0 + 40);
      expect(breakGroup(restarted, T0 + 50).persist?.record).to.deep.equal({
        group: G,
        holder: '',
        epoch: 5n,
        removed: [P, S],
      });
    });

    it('refused while a node is active (naming force); nothing changes', () => {
      const { a, t } = withHolder();
      const refused = refusal(() => breakGroup(a, t + 10));
      expect(refused).to.include({ kind: 'failed-precondition', field: 'force' });
      expect(refused.message).to.match(/refuse-break-while-active/);
      expect(a.view(G, t + 10).removed).to.deep.equal([]);
    });

    it('forced: every member removed; the holder hands over, and after its release nobody is granted', () => {
      const { a, t, e } = withHolder();
      const d = breakGroup(a, t + 10, true);
      expect(d.rule).to.equal('break-group');
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e, removed: [P, S] });
      expect(hb(a, P, t + 20, e).answer).to.include({ verdict: 'renewed', handOver: true, maintenance: true });
      expect(hb(a, S, t + 20).answer).to.include({ verdict: 'acknowledged', maintenance: true });
      rel(a, P, e, t + 30);
      for (const node of [P, S]) expect(acq(a, node, t + 10 * GRACE, e).answer.reason, node).to.equal('removed');
    });

    it('with nobody active: no force needed; readmitting one node lets it be granted again', () => {
      const { a, t, e } = withHolder();
      rel(a, P, e, t + 10);
      expect(breakGroup(a, t + 20).rule).to.equal('break-group');
      readmit(a, S, t + 30);
      expect(acq(a, S, t + 40, e).answer.verdict).to.equal('granted');
      expect(acq(a, P, t + 50, e).answer.reason).to.equal('removed');
    });
  });
});
