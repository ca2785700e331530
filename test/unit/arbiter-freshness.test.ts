/**
 * Standby freshness at the witness core (design §21): the freshness gate of the Acquire rules
 * (--max-sync-age), its override by a forced switchover, breaking the sync relationship only, the
 * target of a "sync now", and the sync watch's alert events.
 */
import { expect } from 'chai';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import { SyncWatch, type SyncWatchEvent } from '../../src/core/witness/sync-watch';
import type { Decision, SyncReport } from '../../src/core/witness/types';
import { InstantWriteArbiter } from '../support/instant-write-arbiter';
import { CONFIG, G, GEN0, GRACE, P, refusal, S, T0 } from '../support/operator-arbiter';

const MAX_AGE_MS = 10_000;
const GATED: ArbiterConfig = { ...CONFIG, maxSyncAgeMs: MAX_AGE_MS };
/** Past the holder's lease at the witness: 1000 * 1.01 + 10. */
const LEASE_GONE_MS = 1100;

const synced = (ageMs: number, ok = true): SyncReport => ({
  synced: true,
  ageMs,
  lastRun: { requestId: 0n, ok, exitCode: ok ? 0 : 1, durationMs: 5, outputTail: '', error: '' },
});
const NEVER: SyncReport = { synced: false, ageMs: 0, lastRun: undefined };

function heartbeat(a: Arbiter, node: string, now: number, sync?: SyncReport, held = 0n): Decision {
  const role = node === P ? 'primary' : 'secondary';
  return a.heartbeat({ group: G, node, role, heldEpoch: held, knownEpoch: held, leaseMs: 0, sync }, now);
}
const acquire = (a: Arbiter, node: string, now: number, known = 0n, sync?: SyncReport): Decision =>
  a.acquire({ group: G, node, knownEpoch: known, leaseMs: 0, sync }, now);

/** P holds epoch e from t; S reported `sync` at t. */
function pair(config: ArbiterConfig, sync?: SyncReport): { a: Arbiter; t: number; e: bigint } {
  const a = new InstantWriteArbiter(config, { now: T0, generation: GEN0, records: [] });
  const t = T0 + GRACE;
  heartbeat(a, P, t);
  heartbeat(a, S, t, sync);
  const granted = acquire(a, P, t);
  expect(granted.answer.verdict).to.equal('granted');
  return { a, t, e: granted.answer.epoch };
}

describe('Arbiter: standby freshness (design §21)', () => {
  describe('the freshness gate (--max-sync-age)', () => {
    it('without the option, a standby that reports no sync takes over as before', () => {
      const { a, t } = pair(CONFIG);
      const d = acquire(a, S, t + LEASE_GONE_MS);
      expect(d.answer.verdict).to.equal('granted');
      expect(d.rule).to.equal('grant-new-epoch');
    });

    it('refuses a standby that reports no sync, or none that succeeded, with reason stale-standby', () => {
      for (const sync of [undefined, NEVER]) {
        const { a, t, e } = pair(GATED, sync);
        const d = acquire(a, S, t + LEASE_GONE_MS);
        expect(d.answer.verdict).to.equal('refused');
        expect(d.answer.reason).to.equal('stale-standby');
        expect(d.rule).to.equal('refuse-stale-standby');
        expect(d.event).to.equal('refused');
        expect(d.answer.message).to.match(/--max-sync-age/);
        expect(d.persist).to.equal(undefined);
        expect(d.answer.epoch, 'no epoch is handed out').to.equal(e);
      }
    });

    it('grants a fresh standby, and refuses it once the reported age, grown since it was heard, passes the limit', () => {
      const fresh = pair(GATED, synced(5_000));
      expect(acquire(fresh.a, S, fresh.t + LEASE_GONE_MS).answer.verdict).to.equal('granted');
      const aged = pair(GATED, synced(5_000));
      // 5,000 ms old when heard, 5,001 ms later: 10,001 ms at the witness.
      const d = acquire(aged.a, S, aged.t + 5_001);
      expect(d.answer.reason).to.equal('stale-standby');
    });

    it('judges an Acquire by the report it carries, not by the last heartbeat (which may be late or out of order)', () => {
      const stale = pair(GATED, NEVER);
      const granted = acquire(stale.a, S, stale.t + LEASE_GONE_MS, 0n, synced(100));
      expect(granted.answer.verdict, 'heartbeat said never synced, the Acquire says 100 ms').to.equal('granted');
      const fresh = pair(GATED, synced(100));
      const refused = acquire(fresh.a, S, fresh.t + LEASE_GONE_MS, 0n, synced(MAX_AGE_MS + 1));
      expect(refused.answer.reason, 'heartbeat said 100 ms, the Acquire says too old').to.equal('stale-standby');
      // The carried report is the one heard from then on, as a heartbeat's would be.
      const later = acquire(fresh.a, S, fresh.t + LEASE_GONE_MS + 1);
      expect(later.answer.reason).to.equal('stale-standby');
    });

    it('a standby whose own report is stale is refused, and granted after a report within the limit', () => {
      const { a, t } = pair(GATED, synced(MAX_AGE_MS + 1));
      expect(acquire(a, S, t + LEASE_GONE_MS).answer.reason).to.equal('stale-standby');
      heartbeat(a, S, t + LEASE_GONE_MS + 1, synced(100));
      expect(acquire(a, S, t + LEASE_GONE_MS + 2).answer.verdict).to.equal('granted');
    });

    it('gates takeovers only: the first grant of a group no node has run yet is not gated', () => {
      const a = new InstantWriteArbiter(GATED, { now: T0, generation: GEN0, records: [] });
      const t = T0 + GRACE;
      heartbeat(a, S, t, NEVER);
      expect(acquire(a, S, t).answer.verdict).to.equal('granted');
    });

    it('only refuses: the gate comes after the safety rules (a live holder is refused as before)', () => {
      const { a, t } = pair(GATED);
      const d = acquire(a, S, t + 10);
      expect(d.rule).to.equal('refuse-while-holder-lease-live');
    });

    it('does not gate the node that ran the group last (its copy is the source)', () => {
      const { a, t, e } = pair(GATED);
      heartbeat(a, P, t + 100, undefined, e);
      const d = acquire(a, P, t + 100 + LEASE_GONE_MS, e);
      expect(d.answer.verdict).to.equal('granted');
    });
  });

  describe('switchover to a stale peer', () => {
    it('is refused (field force) unless forced; forced, the peer is granted past the gate, once', () => {
      const { a, t, e } = pair(GATED);
      const refused = refusal(() => a.operate({ kind: 'switchover', group: G }, t + 10));
      expect(refused.kind).to.equal('failed-precondition');
      expect(refused.field).to.equal('force');
      expect(refused.message).to.match(/refuse-switchover-to-stale-peer/);
      const forced = a.operate({ kind: 'switchover', group: G, force: true }, t + 20);
      expect(forced.rule).to.equal('force-switchover-to-stale-peer');
      expect(forced.event).to.equal('intent');
      expect(forced.answer.message).to.match(/forced/);
      heartbeat(a, S, t + 25);
      expect(heartbeat(a, P, t + 30, undefined, e).answer.handOver).to.equal(true);
      expect(a.release({ group: G, node: P, epoch: e, knownEpoch: e }, t + 40).answer.verdict).to.equal('released');
      const granted = acquire(a, S, t + 50, e);
      expect(granted.answer.verdict).to.equal('granted');
      expect(granted.rule).to.equal('grant-stale-standby-on-forced-switchover');
      // The waiver ended with that grant: P, now the stale standby, is gated again.
      const next = granted.answer.epoch;
      heartbeat(a, S, t + 60, undefined, next);
      expect(a.release({ group: G, node: S, epoch: next, knownEpoch: next }, t + 70).answer.verdict).to.equal(
        'released',
      );
      heartbeat(a, P, t + 80, NEVER);
      expect(acquire(a, P, t + 90, next).answer.reason).to.equal('stale-standby');
    });

    it('a forced switchover whose write failed waives nothing, even once a plain switchover is recorded', () => {
      const { a, t, e } = pair(GATED);
      // The forced request's write fails: the operator got an error, and nothing changed.
      const forced = Arbiter.prototype.operate.call(a, { kind: 'switchover', group: G, force: true }, t + 10);
      expect(forced.persist, 'the switchover waits for its write').to.not.equal(undefined);
      a.abort(G);
      // The standby syncs, a plain switchover is recorded, then the standby goes stale again.
      heartbeat(a, S, t + 20, synced(1));
      expect(a.operate({ kind: 'switchover', group: G }, t + 30).rule).to.equal('ask-switchover');
      heartbeat(a, S, t + 40, NEVER);
      expect(heartbeat(a, P, t + 50, undefined, e).answer.handOver).to.equal(true);
      expect(a.release({ group: G, node: P, epoch: e, knownEpoch: e }, t + 60).answer.verdict).to.equal('released');
      const d = acquire(a, S, t + 70, e);
      expect([d.answer.verdict, d.rule]).to.deep.equal(['refused', 'refuse-stale-standby']);
    });

    it('to a fresh peer needs no force', () => {
      const { a, t } = pair(GATED, synced(1));
      expect(a.operate({ kind: 'switchover', group: G }, t + 10).rule).to.equal('ask-switchover');
    });
  });

  describe('breaking the sync relationship (BreakGroup sync_only)', () => {
    it('removes the standby only: the holder renews without a hand-over, the standby is refused', () => {
      const { a, t, e } = pair(CONFIG, synced(1));
      const d = a.operate({ kind: 'break', group: G, force: false, syncOnly: true }, t + 10);
      expect(d.rule).to.equal('break-sync-relationship');
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e, removed: [S] });
      const renewed = heartbeat(a, P, t + 20, undefined, e);
      expect(renewed.answer.verdict).to.equal('renewed');
      expect(renewed.answer.handOver).to.equal(false);
      expect(heartbeat(a, S, t + 20, synced(1)).answer.maintenance, 'the standby is told to stand still').to.equal(
        true,
      );
      expect(acquire(a, S, t + 20 + LEASE_GONE_MS).answer.reason).to.equal('removed');
    });

    it('is refused while a takeover may be under way: nobody active, or a switchover asked', () => {
      const idle = pair(CONFIG, synced(1));
      const nobody = refusal(() =>
        idle.a.operate({ kind: 'break', group: G, force: false, syncOnly: true }, idle.t + LEASE_GONE_MS),
      );
      expect(nobody.message).to.match(/refuse-sync-break-during-takeover/);
      const switching = pair(CONFIG, synced(1));
      switching.a.operate({ kind: 'switchover', group: G }, switching.t + 10);
      const asked = refusal(() =>
        switching.a.operate({ kind: 'break', group: G, force: false, syncOnly: true }, switching.t + 20),
      );
      expect(asked.kind).to.equal('failed-precondition');
      expect(asked.message).to.match(/refuse-sync-break-during-takeover/);
    });
  });

  describe('sync now: whom it is for', () => {
    it('the standby, when it reports its sync and is heard', () => {
      const { a, t } = pair(CONFIG, synced(1));
      expect(a.syncNowTarget(G, t + 10)).to.equal(S);
    });

    it('refused, naming the rule, while nobody is active, the standby is silent or runs no --sync-cmd', () => {
      const cases: Array<[string, (a: Arbiter, t: number, e: bigint) => number]> = [
        ['refuse-sync-now-nobody-active', (_a, t) => t + LEASE_GONE_MS],
        [
          'refuse-sync-now-standby-unhealthy',
          (a, t, e) => {
            // The holder renews; the standby, last heard at t, is silent past the default lease.
            heartbeat(a, P, t + 900, undefined, e);
            return t + 1_001;
          },
        ],
      ];
      for (const [rule, at] of cases) {
        const { a, t, e } = pair(CONFIG, synced(1));
        expect(refusal(() => a.syncNowTarget(G, at(a, t, e))).message).to.include(rule);
      }
      const resting = pair(CONFIG, synced(1));
      resting.a.operate({ kind: 'maintenance', group: G, node: S, on: true, force: false }, resting.t + 5);
      heartbeat(resting.a, S, resting.t + 8, synced(1));
      expect(refusal(() => resting.a.syncNowTarget(G, resting.t + 10)).message).to.include(
        'refuse-sync-now-standby-in-maintenance',
      );
      const quiet = pair(CONFIG);
      const none = refusal(() => quiet.a.syncNowTarget(G, quiet.t + 10));
      expect(none.kind).to.equal('failed-precondition');
      expect(none.message).to.include('refuse-sync-now-without-sync-cmd');
    });
  });

  describe('the sync watch (--sync-alert-after)', () => {
    const sweep = (watch: SyncWatch, a: Arbiter, now: number): SyncWatchEvent[] =>
      watch.sweep(now, (visit) => a.forEachStandbySync(now, visit));

    it('announces a standby not synced for the alert age once, and its recovery once', () => {
      const { a, t, e } = pair(CONFIG, synced(0, false));
      const watch = new SyncWatch(3_000);
      expect(sweep(watch, a, t + 2_999)).to.deep.equal([]);
      const stale = sweep(watch, a, t + 3_000);
      expect(stale.map((x) => [x.kind, x.rule, x.node, x.holder, x.epoch])).to.deep.equal([
        ['sync-stale', 'standby-sync-stale', S, P, e],
      ]);
      expect(stale[0]?.message).to.match(/has not synced successfully for 3\.0 s; its last run failed \(exit 1\)/);
      expect(sweep(watch, a, t + 4_000), 'said once').to.deep.equal([]);
      heartbeat(a, S, t + 4_100, synced(50));
      const recovered = sweep(watch, a, t + 4_200);
      expect(recovered.map((x) => [x.kind, x.rule])).to.deep.equal([['sync-recovered', 'standby-sync-recovered']]);
      expect(sweep(watch, a, t + 4_300)).to.deep.equal([]);
    });

    it('counts a standby that never synced from when it was first swept, and ignores the holder', () => {
      const { a, t } = pair(CONFIG, NEVER);
      heartbeat(a, P, t, NEVER, 0n);
      const watch = new SyncWatch(1_000);
      expect(sweep(watch, a, t + 10)).to.deep.equal([]);
      const events = sweep(watch, a, t + 1_010);
      expect(events.map((x) => [x.kind, x.node])).to.deep.equal([['sync-stale', S]]);
    });
  });
});
