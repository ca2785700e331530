/**
 * Operators' requests at the witness core (design §9.6): the MAINTENANCE and SWITCHOVER rules of
 * operator-rules.ts, the intent they set, what the nodes' answers then carry, and that the intent
 * is durable (a witness restarted from the record keeps it).
 */
import { expect } from 'chai';
import type { Arbiter } from '../../src/core/witness/arbiter';
import { MAINTENANCE_RULES, SWITCHOVER_RULES } from '../../src/core/witness/operator-rules';
import type { Decision, DurableGroup } from '../../src/core/witness/types';
import { InstantWriteArbiter } from '../support/instant-write-arbiter';
import { CONFIG, GRACE, T0, GEN0, G, P, S, hb, acq, withHolder, refusal } from '../support/operator-arbiter';

const maintenance = (a: Arbiter, node: string, on: boolean, now: number, force = false): Decision =>
  a.operate({ kind: 'maintenance', group: G, node, on, force }, now);
const switchover = (a: Arbiter, now: number): Decision => a.operate({ kind: 'switchover', group: G }, now);

describe('Arbiter: operator requests (maintenance, switchover)', () => {
  it('the rule lists, in order', () => {
    expect(MAINTENANCE_RULES.map((r) => r.name)).to.deep.equal([
      'refuse-maintenance-of-unknown-node',
      'refuse-maintenance-of-removed-node',
      'end-maintenance',
      'refuse-maintenance-of-active-node',
      'begin-maintenance',
    ]);
    expect(SWITCHOVER_RULES.map((r) => r.name)).to.deep.equal([
      'refuse-switchover-nobody-active',
      'refuse-switchover-peer-unhealthy',
      'refuse-switchover-to-maintenance',
      'refuse-switchover-to-stale-peer',
      'force-switchover-to-stale-peer',
      'ask-switchover',
    ]);
  });

  describe('maintenance', () => {
    it('of a standby: durable, its Acquire refused with reason maintenance, its answers say so', () => {
      const { a, t, e } = withHolder();
      const d = maintenance(a, S, true, t + 10);
      expect(d.rule).to.equal('begin-maintenance');
      expect(d.event).to.equal('intent');
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e, maintenance: [S] });
      expect(hb(a, S, t + 20).answer.maintenance).to.equal(true);
      const renewal = hb(a, P, t + 20, e).answer;
      expect(renewal).to.include({ maintenance: false, handOver: false, verdict: 'renewed' });
      // Long after the primary's lease ran out, the secondary is still refused.
      const refused = acq(a, S, t + 10 * GRACE, e);
      expect(refused.rule).to.equal('refuse-node-in-maintenance');
      expect(refused.answer).to.include({ verdict: 'refused', reason: 'maintenance', maintenance: true });
      expect(a.view(G, t + 30).nodes.find((n) => n.node === S)?.maintenance).to.equal(true);
    });

    it('asked twice writes once; off ends it and the node is granted again', () => {
      const { a, t, e } = withHolder();
      maintenance(a, S, true, t + 10);
      expect(maintenance(a, S, true, t + 11).persist, 'no change, no write').to.equal(undefined);
      const off = maintenance(a, S, false, t + 12);
      expect(off.rule).to.equal('end-maintenance');
      expect(off.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e });
      expect(acq(a, S, t + 10 * GRACE, e).answer.verdict).to.equal('granted');
    });

    it('of the active node with a healthy peer: its renewals ask it to hand over', () => {
      const { a, t, e } = withHolder();
      expect(maintenance(a, P, true, t + 10).rule).to.equal('begin-maintenance');
      expect(hb(a, P, t + 20, e).answer).to.include({ verdict: 'renewed', handOver: true, maintenance: true });
    });

    it('of the active node whose peer is not heard within the default lease: refused naming force, unless forced', () => {
      const { a, t, e } = withHolder();
      const later = t + CONFIG.defaultLeaseMs;
      hb(a, P, later, e);
      const refused = refusal(() => maintenance(a, P, true, later));
      expect(refused).to.include({ kind: 'failed-precondition', field: 'force' });
      expect(refused.message).to.match(/refuse-maintenance-of-active-node/);
      expect(a.view(G, later).nodes.find((n) => n.node === P)?.maintenance, 'nothing changed').to.equal(false);
      expect(maintenance(a, P, true, later, true).rule).to.equal('begin-maintenance');
    });

    it('of the active node whose peer is in maintenance too: refused naming force, unless forced', () => {
      const { a, t, e } = withHolder();
      maintenance(a, S, true, t + 10);
      hb(a, S, t + 20);
      hb(a, P, t + 20, e);
      const refused = refusal(() => maintenance(a, P, true, t + 30));
      expect(refused).to.include({ kind: 'failed-precondition', field: 'force' });
      expect(maintenance(a, P, true, t + 30, true).rule).to.equal('begin-maintenance');
    });

    it('of a node the witness has not heard: refused naming node', () => {
      const { a, t } = withHolder();
      expect(refusal(() => maintenance(a, 'x', true, t))).to.include({ kind: 'not-found', field: 'node' });
    });

    it('survives a restart of the witness: the record brings it back, and the group is never forgotten', () => {
      const first = withHolder();
      const record = maintenance(first.a, S, true, first.t + 10).persist?.record as DurableGroup;
      const later = first.t + 100_000;
      const a = new InstantWriteArbiter(CONFIG, { now: later, generation: GEN0 + 1n, records: [record] });
      expect(a.view(G, later).nodes, 'not heard yet').to.deep.equal([]);
      hb(a, S, later + GRACE);
      expect(acq(a, S, later + GRACE, record.epoch).rule).to.equal('refuse-node-in-maintenance');
      expect(a.mayForget(G, later + 100 * GRACE, 1)).to.equal(false);
      expect(maintenance(a, S, false, later + GRACE + 1).rule).to.equal('end-maintenance');
    });
  });

  describe('switchover', () => {
    it("asks the holder's renewals of its epoch to hand over, until a new epoch is granted", () => {
      const { a, t, e } = withHolder();
      const d = switchover(a, t + 10);
      expect(d.rule).to.equal('ask-switchover');
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e, switchoverEpoch: e });
      expect(a.view(G, t + 10).switchoverEpoch).to.equal(e);
      expect(hb(a, P, t + 20, e).answer).to.include({ verdict: 'renewed', handOver: true, maintenance: false });
      expect(hb(a, S, t + 20).answer.handOver, 'only the holder is asked').to.equal(false);
      expect(a.release({ group: G, node: P, epoch: e, knownEpoch: e }, t + 30).answer.verdict).to.equal('released');
      const granted = acq(a, S, t + 40, e);
      expect(granted.answer.verdict).to.equal('granted');
      expect(granted.persist?.record).to.deep.equal({ group: G, holder: S, epoch: granted.answer.epoch });
      expect(hb(a, S, t + 50, granted.answer.epoch).answer.handOver).to.equal(false);
    });

    it('is refused with nobody active, with the peer not heard within the default lease, and with the peer in maintenance', () => {
      const idle = new InstantWriteArbiter(CONFIG, { now: T0, generation: GEN0, records: [] });
      hb(idle, P, T0 + GRACE);
      expect(refusal(() => switchover(idle, T0 + GRACE)).message).to.match(/refuse-switchover-nobody-active/);

      const { a, t, e } = withHolder();
      const later = t + CONFIG.defaultLeaseMs;
      hb(a, P, later, e);
      expect(refusal(() => switchover(a, later))).to.include({ kind: 'failed-precondition', field: 'group' });
      hb(a, S, later);
      maintenance(a, S, true, later);
      expect(refusal(() => switchover(a, later)).message).to.match(/refuse-switchover-to-maintenance/);
      expect(a.view(G, later).switchoverEpoch, 'nothing changed').to.equal(0n);
    });
  });

  describe('fail-back policy (design §9.4)', () => {
    const failback = (a: Arbiter, policy: 'auto' | 'manual' | 'node', now: number): Decision =>
      a.operate({ kind: 'failback', group: G, policy }, now);

    it("is durable, carried in every node's answers, and 'node' returns to the sidecars' own", () => {
      const { a, t, e } = withHolder();
      const d = failback(a, 'manual', t + 10);
      expect(d.rule).to.equal('set-failback-policy');
      expect(d.event).to.equal('intent');
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e, failback: 'manual' });
      expect(hb(a, P, t + 20, e).answer.failback).to.equal('manual');
      expect(hb(a, S, t + 20).answer.failback).to.equal('manual');
      expect(a.view(G, t + 20).failback).to.equal('manual');
      const same = failback(a, 'manual', t + 30);
      expect(same.persist, 'the same policy again writes nothing').to.equal(undefined);
      const back = failback(a, 'node', t + 40);
      expect(back.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e });
      expect('failback' in hb(a, S, t + 50).answer, 'no policy of its own: the field is absent').to.equal(false);
      expect(a.view(G, t + 50).failback).to.equal(undefined);
    });

    it('survives a restart of the witness and decides nothing else: grants follow the same rules', () => {
      const { a, t, e } = withHolder();
      const record = failback(a, 'auto', t + 10).persist!.record;
      const later = t + 100_000;
      const restarted = new InstantWriteArbiter(CONFIG, { now: later, generation: GEN0 + 1n, records: [record] });
      expect(restarted.view(G, later).failback).to.equal('auto');
      hb(restarted, S, later + GRACE);
      // The holder's lease from before the restart ran out with the grace: the peer may be granted.
      const granted = acq(restarted, S, later + GRACE, e);
      expect(granted.answer.verdict).to.equal('granted');
      expect(granted.answer.failback).to.equal('auto');
    });
  });
});
