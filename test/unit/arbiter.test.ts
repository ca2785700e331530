/**
 * The witness's arbitration core, one `describe` per rule of the tables in rules.ts
 * (design §6), then membership, lease capping, restarts and wipes (S2), and paging.
 *
 * Times are milliseconds on the witness's monotonic clock. The numbers are chosen so the lease
 * arithmetic is exact in floating point: with rho = 0.01 and eps = 10 ms, a 1,000 ms lease is held
 * by the witness for 1,020 ms after receipt and the start-up grace (5,000 ms max lease) is 5,060 ms.
 */
import { expect } from 'chai';
import { generationFromWallClock, MAX_EPOCH } from '../../src/core/epoch';
import type { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import { InstantWriteArbiter } from '../support/instant-write-arbiter';
import { ArbitrationError } from '../../src/core/witness/errors';
import { ACQUIRE_RULES, HEARTBEAT_RULES, RELEASE_RULES } from '../../src/core/witness/rules';
import type { Decision, DurableGroup, GroupView, NodeRole } from '../../src/core/witness/types';

const RHO = 0.01;
const MARGIN = 10;
const DEFAULT_LEASE = 1000;
const MAX_LEASE = 5000;
const CONFIG: ArbiterConfig = {
  bounds: { rho: RHO, marginMs: MARGIN },
  defaultLeaseMs: DEFAULT_LEASE,
  maxLeaseMs: MAX_LEASE,
};
/** Witness-side hold of a lease, counted from receipt: lease*(1+rho) + eps. */
const held = (leaseMs: number): number => leaseMs * (1 + RHO) + MARGIN;
/** maxLease*(1+rho) + eps = 5,060 ms. */
const GRACE = held(MAX_LEASE);
const DEFAULT_HOLD = held(DEFAULT_LEASE); // 1,020 ms

/** Monotonic time at which the first witness is constructed. */
const T0 = 1_000_000;
const WALL0 = 1_700_000_000_000;
const GEN0 = generationFromWallClock(WALL0);
/** Every epoch of a store of generation g is above g * 2^23 (written out, not taken from epoch.ts). */
const floorOf = (generation: bigint): bigint => generation * 2n ** 23n;
const FLOOR0 = floorOf(GEN0);

const G = 'g';
const P = 'p'; // the primary
const S = 's'; // the secondary

function arbiter(now = T0, records: readonly DurableGroup[] = [], generation = GEN0, config = CONFIG): Arbiter {
  return new InstantWriteArbiter(config, { now, generation, records });
}

interface HeartbeatOpts {
  held?: bigint;
  known?: bigint;
  lease?: number;
  role?: NodeRole;
  group?: string;
}
const roleOf = (node: string): NodeRole => (node === P ? 'primary' : 'secondary');

function hb(a: Arbiter, node: string, now: number, o: HeartbeatOpts = {}): Decision {
  const held = o.held ?? 0n;
  return a.heartbeat(
    {
      group: o.group ?? G,
      node,
      role: o.role ?? roleOf(node),
      heldEpoch: held,
      knownEpoch: o.known ?? held,
      leaseMs: o.lease ?? 0,
    },
    now,
  );
}

function acq(
  a: Arbiter,
  node: string,
  now: number,
  o: { known?: bigint; lease?: number; group?: string } = {},
): Decision {
  return a.acquire({ group: o.group ?? G, node, knownEpoch: o.known ?? 0n, leaseMs: o.lease ?? 0 }, now);
}

function rel(
  a: Arbiter,
  node: string,
  epoch: bigint,
  now: number,
  o: { known?: bigint; group?: string } = {},
): Decision {
  return a.release({ group: o.group ?? G, node, epoch, knownEpoch: o.known ?? epoch }, now);
}

/** A witness past its start-up grace with both nodes registered; `t` is the current time. */
function started(): { a: Arbiter; t: number } {
  const a = arbiter();
  hb(a, P, T0);
  hb(a, S, T0);
  const t = T0 + GRACE;
  hb(a, P, t);
  hb(a, S, t);
  return { a, t };
}

/** As `started`, and the primary has just been granted the group (default lease) at `t`. */
function withHolder(): { a: Arbiter; t: number; e: bigint } {
  const { a, t } = started();
  const d = acq(a, P, t);
  expect(d.answer.verdict).to.equal('granted');
  return { a, t, e: d.answer.epoch };
}

/** A holder P of epoch `e`, then its store wiped: `b` is the new store's witness, 5 ms into its run. */
function wipedAfterHolder(): { b: Arbiter; now: number; e: bigint } {
  const { t, e } = withHolder();
  // A new store (later wall clock, no records) starts later.
  const restartAt = t + 200;
  return { b: arbiter(restartAt, [], generationFromWallClock(WALL0 + 1000)), now: restartAt + 5, e };
}

/** Expects `fn` to throw an ArbitrationError of this kind and field, and returns it. */
function expectArbitrationError(fn: () => unknown, kind: string, field: string): ArbitrationError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'an ArbitrationError').to.be.instanceOf(ArbitrationError);
  const error = thrown as ArbitrationError;
  expect({ kind: error.kind, field: error.field }).to.deep.equal({ kind, field });
  return error;
}

const snapshot = (a: Arbiter, now: number): GroupView => a.view(G, now);

/**
 * Any request refreshes its sender's last-seen time (it was heard); a node that holds nothing
 * sends a plain heartbeat at `now` first, so that "nothing changed" can compare whole views.
 */
function heardAt(a: Arbiter, node: string, now: number): void {
  expect(hb(a, node, now).rule).to.equal('acknowledge-standby');
}

describe('Arbiter', () => {
  describe('rule tables', () => {
    it('every table ends with a catch-all rule, and every rule has a describe below', () => {
      const contexts = [
        {
          node: P,
          callerEpoch: 0n,
          callerKnownEpoch: 0n,
          callerRanUnder: 0n,
          holder: '',
          epoch: 0n,
          holderLeaseLive: false,
          inStartupGrace: false,
          callerInMaintenance: false,
          callerRemoved: false,
          callerStale: false,
          freshnessWaived: false,
        },
        {
          node: P,
          callerEpoch: 5n,
          callerKnownEpoch: 5n,
          callerRanUnder: 7n,
          holder: S,
          epoch: 9n,
          holderLeaseLive: true,
          inStartupGrace: true,
          callerInMaintenance: true,
          callerRemoved: true,
          callerStale: true,
          freshnessWaived: true,
        },
        {
          node: S,
          callerEpoch: 9n,
          callerKnownEpoch: 9n,
          callerRanUnder: 9n,
          holder: S,
          epoch: 9n,
          holderLeaseLive: false,
          inStartupGrace: false,
          callerInMaintenance: false,
          callerRemoved: false,
          callerStale: false,
          freshnessWaived: false,
        },
      ];
      for (const table of [HEARTBEAT_RULES, ACQUIRE_RULES, RELEASE_RULES]) {
        const last = table[table.length - 1];
        expect(last, 'a last rule').to.not.equal(undefined);
        for (const c of contexts) expect(last?.when(c), `${last?.name} is a catch-all`).to.equal(true);
      }
      // If a rule is added to rules.ts, this list (and a describe for it) must be added here.
      expect(HEARTBEAT_RULES.map((r) => r.name)).to.deep.equal([
        'refuse-epoch-the-caller-knows-superseded',
        'renew-holder',
        'adopt-higher-epoch',
        'refuse-released-epoch',
        'refuse-superseded-epoch',
        'acknowledge-removed-node',
        'acknowledge-standby',
      ]);
      expect(ACQUIRE_RULES.map((r) => r.name)).to.deep.equal([
        'refuse-removed-node',
        'refuse-node-in-maintenance',
        'refuse-during-startup-grace',
        'refuse-while-holder-lease-live',
        'refuse-late-acquire-by-holder',
        'refuse-acquire-older-than-callers-run',
        'grant-stale-standby-on-forced-switchover',
        'refuse-stale-standby',
        'grant-new-epoch',
      ]);
      expect(RELEASE_RULES.map((r) => r.name)).to.deep.equal([
        'release-holder',
        'refuse-release-of-old-epoch',
        'refuse-release-by-non-holder',
      ]);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Heartbeat (Renew, KeepAlive)
  // ----------------------------------------------------------------------------------------------

  describe('heartbeat rule renew-holder', () => {
    it('extends the holder’s lease from receipt, under the same epoch, with nothing to persist', () => {
      const { a, t, e } = withHolder();
      const now = t + 500;
      const d = hb(a, P, now, { held: e });
      expect(d.rule).to.equal('renew-holder');
      expect(d.answer).to.include({
        group: G,
        verdict: 'renewed',
        reason: undefined,
        holder: P,
        epoch: e,
        leaseMs: DEFAULT_LEASE,
        holderLeaseRemainingMs: DEFAULT_HOLD,
        retryAfterMs: 0,
      });
      expect(d.answer.message).to.match(/^renew-holder: /);
      expect(d.persist).to.equal(undefined);
      expect(d.event).to.equal(undefined);
      expect(snapshot(a, now)).to.include({ holder: P, epoch: e, holderLeaseRemainingMs: DEFAULT_HOLD });
    });

    it('moves the takeover deadline: the peer is refused until receipt + lease*(1+rho) + eps of the renewal', () => {
      const { a, t, e } = withHolder();
      const renewedAt = t + 900;
      hb(a, P, renewedAt, { held: e });
      // The grant's own hold (t + 1,020) has passed, the renewal's has not.
      expect(acq(a, S, t + DEFAULT_HOLD).answer).to.include({ verdict: 'refused', reason: 'held-by-other' });
      expect(acq(a, S, renewedAt + DEFAULT_HOLD - 1).answer).to.include({ verdict: 'refused', retryAfterMs: 1 });
      expect(acq(a, S, renewedAt + DEFAULT_HOLD).answer.verdict).to.equal('granted');
    });

    it('renews a holder whose lease ran out at the witness while nobody took over', () => {
      const { a, t, e } = withHolder();
      const now = t + 10 * DEFAULT_HOLD;
      expect(snapshot(a, now).holderLeaseRemainingMs).to.equal(0);
      const d = hb(a, P, now, { held: e });
      expect(d.rule).to.equal('renew-holder');
      expect(d.answer).to.include({ verdict: 'renewed', holder: P, epoch: e, holderLeaseRemainingMs: DEFAULT_HOLD });
    });

    it('reports `registered` when the holder’s first heartbeat after a restart renews it', () => {
      const { e } = withHolder();
      const restartAt = T0 + 100_000;
      const b = arbiter(restartAt, [{ group: G, holder: P, epoch: e }]);
      const d = hb(b, P, restartAt + 1, { held: e });
      expect(d.rule).to.equal('renew-holder');
      expect(d.event).to.equal('registered');
      expect(d.persist).to.equal(undefined);
    });

    it('never shortens a hold it already answered for (a renewal with a shorter lease)', () => {
      // CORE BUG (see report): Arbiter.heartbeat sets holdUntil = receipt + lease*(1+rho)+eps
      // instead of max(holdUntil, that). The grant below told P "5,000 ms from your send": P may
      // run until t + 4,950. A later renewal asking for 100 ms (or an answer to it overtaking the
      // grant's, under reordering) must not let the witness hand the group to S before P's
      // earlier answer has run out at the witness (t + 5,060); today S is granted at t + 121.
      const { a, t } = started();
      const grant = acq(a, P, t, { lease: MAX_LEASE });
      expect(grant.answer.leaseMs).to.equal(MAX_LEASE);
      const e = grant.answer.epoch;
      const renewedAt = t + 10;
      const d = hb(a, P, renewedAt, { held: e, lease: 100 });
      expect(d.answer).to.include({ verdict: 'renewed', leaseMs: 100 });
      // P's grant answer still lets it run until t + 5,000*(1-rho); the witness must hold longer.
      const holderMayRunUntil = t + MAX_LEASE * (1 - RHO);
      expect(acq(a, S, renewedAt + held(100)).answer.verdict, 'takeover while P may still run').to.equal('refused');
      expect(acq(a, S, holderMayRunUntil).answer.verdict, 'takeover while P may still run').to.equal('refused');
      expect(acq(a, S, t + GRACE).answer.verdict).to.equal('granted');
    });
  });

  describe('heartbeat rule refuse-epoch-the-caller-knows-superseded', () => {
    it('refuses a holder that knows a newer epoch, even where the witness lost the record of it', () => {
      // P held e; the store is wiped. S was granted e + 1 by the witness before the wipe, and P
      // (frozen meanwhile) heard it from S: a new store must not re-adopt P's run under e.
      const { b, now, e } = wipedAfterHolder();
      const d = hb(b, P, now, { held: e, known: e + 1n });
      expect(d.rule).to.equal('refuse-epoch-the-caller-knows-superseded');
      expect(d.answer).to.include({ verdict: 'refused', reason: 'stale-epoch', holder: '' });
      expect(d.persist, 'nothing is written').to.equal(undefined);
      expect(snapshot(b, now)).to.include({ holder: '', epoch: 0n });
      // The run that knows no newer epoch is adopted, as before.
      expect(hb(b, P, now + 1, { held: e + 1n }).rule).to.equal('adopt-higher-epoch');
    });

    it('refuses a recorded holder too, and a node holding nothing is only acknowledged', () => {
      const { a, t, e } = withHolder();
      expect(hb(a, P, t + 10, { held: e }).rule).to.equal('renew-holder');
      const d = hb(a, P, t + 20, { held: e, known: e + 5n });
      expect(d.rule).to.equal('refuse-epoch-the-caller-knows-superseded');
      expect(d.answer).to.include({ verdict: 'refused', holder: P, epoch: e });
      expect(hb(a, S, t + 30, { known: e + 5n }).rule).to.equal('acknowledge-standby');
    });
  });

  describe('heartbeat rule adopt-higher-epoch', () => {
    it('re-adopts a holder after a wipe: renewed, persisted, `adopted`, and it starts nothing', () => {
      const { b, now, e } = wipedAfterHolder();
      const d = hb(b, P, now, { held: e });
      expect(d.rule).to.equal('adopt-higher-epoch');
      expect(d.answer).to.include({
        verdict: 'renewed',
        reason: undefined,
        holder: P,
        epoch: e,
        leaseMs: DEFAULT_LEASE,
        holderLeaseRemainingMs: DEFAULT_HOLD,
        retryAfterMs: 0,
      });
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: e });
      expect(d.event).to.equal('adopted');
      expect(snapshot(b, now)).to.include({ holder: P, epoch: e, inStartupGrace: true });
      // The adopted holder then renews normally under that epoch.
      expect(hb(b, P, now + 100, { held: e }).rule).to.equal('renew-holder');
    });

    it('protects the adopted holder: the peer is refused while the adopted lease is live, after the grace', () => {
      const { t, e } = withHolder();
      const restartAt = t + 200;
      const b = arbiter(restartAt, [], generationFromWallClock(WALL0 + 1000));
      hb(b, S, restartAt);
      const adoptedAt = restartAt + GRACE - 100;
      hb(b, P, adoptedAt, { held: e });
      const d = acq(b, S, restartAt + GRACE);
      expect(d.rule).to.equal('refuse-while-holder-lease-live');
      expect(d.answer).to.include({ holder: P, epoch: e });
      const after = acq(b, S, adoptedAt + DEFAULT_HOLD);
      expect(after.answer.verdict).to.equal('granted');
      expect(after.answer.epoch > e).to.equal(true);
    });

    it('the highest epoch heard wins: a node under a higher epoch than the recorded one is adopted', () => {
      // Cold start on peer leases while the witness was away (design §10.2).
      const { a, t, e } = withHolder();
      const now = t + 10 * DEFAULT_HOLD;
      const d = hb(a, S, now, { held: e + 1n });
      expect(d.rule).to.equal('adopt-higher-epoch');
      expect(d.answer).to.include({ verdict: 'renewed', holder: S, epoch: e + 1n });
      expect(d.persist?.record).to.deep.equal({ group: G, holder: S, epoch: e + 1n });
      expect(d.event).to.equal('adopted');
      // The old holder is now superseded.
      expect(hb(a, P, now + 1, { held: e }).rule).to.equal('refuse-superseded-epoch');
    });
  });

  describe('heartbeat rule refuse-released-epoch', () => {
    it('refuses a node still reporting the epoch it released; nothing is persisted', () => {
      const { a, t, e } = withHolder();
      rel(a, P, e, t + 100);
      const now = t + 200;
      heardAt(a, P, now);
      const before = snapshot(a, now);
      const d = hb(a, P, now, { held: e });
      expect(d.rule).to.equal('refuse-released-epoch');
      expect(d.answer).to.include({
        verdict: 'refused',
        reason: 'not-holder',
        holder: '',
        epoch: e,
        leaseMs: 0,
        holderLeaseRemainingMs: 0,
        retryAfterMs: 0,
      });
      expect(d.persist).to.equal(undefined);
      expect(d.event).to.equal('refused');
      expect(snapshot(a, now)).to.deep.equal(before);
    });
  });

  describe('heartbeat rule refuse-superseded-epoch', () => {
    it('refuses a renewal under an old epoch, with the current holder and epoch in the answer', () => {
      const { a, t, e } = withHolder();
      const takeoverAt = t + DEFAULT_HOLD;
      const e2 = acq(a, S, takeoverAt).answer.epoch;
      expect(e2 > e).to.equal(true);
      const now = takeoverAt + 10;
      heardAt(a, P, now);
      const before = snapshot(a, now);
      const d = hb(a, P, now, { held: e });
      expect(d.rule).to.equal('refuse-superseded-epoch');
      expect(d.answer).to.include({
        verdict: 'refused',
        reason: 'stale-epoch',
        holder: S,
        epoch: e2,
        leaseMs: 0,
        holderLeaseRemainingMs: DEFAULT_HOLD - 10,
        retryAfterMs: 0,
      });
      expect(d.persist).to.equal(undefined);
      expect(d.event).to.equal('refused');
      expect(snapshot(a, now)).to.deep.equal(before);
    });

    it('refuses a non-holder claiming the current epoch', () => {
      const { a, t, e } = withHolder();
      const d = hb(a, S, t + 1, { held: e });
      expect(d.rule).to.equal('refuse-superseded-epoch');
      expect(d.answer).to.include({ verdict: 'refused', reason: 'stale-epoch', holder: P, epoch: e });
      expect(snapshot(a, t + 1).holder).to.equal(P);
    });
  });

  describe('heartbeat rule acknowledge-standby', () => {
    it('acknowledges a node that holds nothing; `registered` only on its first heartbeat', () => {
      const a = arbiter();
      const first = hb(a, S, T0);
      expect(first.rule).to.equal('acknowledge-standby');
      expect(first.answer).to.include({
        group: G,
        verdict: 'acknowledged',
        reason: undefined,
        holder: '',
        epoch: 0n,
        leaseMs: 0,
        holderLeaseRemainingMs: 0,
        retryAfterMs: 0,
      });
      expect(first.persist).to.equal(undefined);
      expect(first.event).to.equal('registered');
      const second = hb(a, S, T0 + 100);
      expect(second.rule).to.equal('acknowledge-standby');
      expect(second.event).to.equal(undefined);
    });

    it('tells a standby who holds the group and under which epoch, without extending the holder', () => {
      const { a, t, e } = withHolder();
      const d = hb(a, S, t + 20);
      expect(d.rule).to.equal('acknowledge-standby');
      expect(d.answer).to.include({
        verdict: 'acknowledged',
        holder: P,
        epoch: e,
        holderLeaseRemainingMs: DEFAULT_HOLD - 20,
      });
      expect(d.persist).to.equal(undefined);
      expect(d.event).to.equal(undefined);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Acquire
  // ----------------------------------------------------------------------------------------------

  describe('acquire rule refuse-during-startup-grace', () => {
    it('grants nothing for maxLease*(1+rho)+eps after start, even with no holder; grants right after', () => {
      const a = arbiter();
      hb(a, P, T0);
      hb(a, S, T0);
      expect(a.inStartupGrace(T0)).to.equal(true);
      for (const [now, retry] of [
        [T0, GRACE],
        [T0 + 1000, GRACE - 1000],
        [T0 + GRACE - 1, 1],
      ] as const) {
        heardAt(a, S, now);
        const before = snapshot(a, now);
        const d = acq(a, S, now);
        expect(d.rule, `at +${now - T0}`).to.equal('refuse-during-startup-grace');
        expect(d.answer).to.include({
          verdict: 'refused',
          reason: 'startup-grace',
          holder: '',
          epoch: 0n,
          leaseMs: 0,
          holderLeaseRemainingMs: 0,
          retryAfterMs: retry,
        });
        expect(d.persist).to.equal(undefined);
        expect(d.event).to.equal('refused');
        expect(snapshot(a, now)).to.deep.equal(before);
      }
      expect(a.inStartupGrace(T0 + GRACE)).to.equal(false);
      const d = acq(a, S, T0 + GRACE);
      expect(d.rule).to.equal('grant-new-epoch');
      expect(d.answer).to.include({ verdict: 'granted', holder: S, epoch: FLOOR0 + 1n });
    });

    it('refuses the recorded holder itself during the grace (a restarted witness only renews)', () => {
      const restartAt = T0;
      const a = arbiter(restartAt, [{ group: G, holder: P, epoch: FLOOR0 + 7n }]);
      const d = acq(a, P, restartAt + 1);
      expect(d.rule).to.equal('refuse-during-startup-grace');
      expect(d.answer).to.include({ holder: P, epoch: FLOOR0 + 7n, retryAfterMs: GRACE - 1 });
    });
  });

  describe('acquire rule refuse-while-holder-lease-live', () => {
    it('refuses a takeover while the holder’s lease is valid, and 1 ms before it runs out; grants just after', () => {
      const { a, t, e } = withHolder();
      const runsOut = t + DEFAULT_LEASE * (1 + RHO) + MARGIN;
      for (const now of [t, t + 1, t + 500, runsOut - 1]) {
        heardAt(a, S, now);
        const before = snapshot(a, now);
        const d = acq(a, S, now, { known: e });
        expect(d.rule, `at +${now - t}`).to.equal('refuse-while-holder-lease-live');
        expect(d.answer).to.include({
          verdict: 'refused',
          reason: 'held-by-other',
          holder: P,
          epoch: e,
          leaseMs: 0,
          holderLeaseRemainingMs: runsOut - now,
          retryAfterMs: runsOut - now,
        });
        expect(d.persist).to.equal(undefined);
        expect(d.event).to.equal('refused');
        expect(snapshot(a, now)).to.deep.equal(before);
      }
      const d = acq(a, S, runsOut, { known: e });
      expect(d.rule).to.equal('grant-new-epoch');
      expect(d.answer).to.include({ verdict: 'granted', holder: S, epoch: e + 1n });
    });

    it('uses the holder’s requested (capped) lease: a max lease is held for maxLease*(1+rho)+eps', () => {
      const { a, t } = started();
      const e = acq(a, P, t, { lease: 999_999 }).answer.epoch;
      expect(acq(a, S, t + GRACE - 1).answer).to.include({ reason: 'held-by-other', retryAfterMs: 1 });
      expect(acq(a, S, t + GRACE).answer).to.include({ verdict: 'granted', epoch: e + 1n });
    });

    it('does not stop the holder itself from acquiring again (a new activation gets a new epoch)', () => {
      const { a, t, e } = withHolder();
      const d = acq(a, P, t + 5, { known: e });
      expect(d.rule).to.equal('grant-new-epoch');
      expect(d.answer).to.include({ verdict: 'granted', holder: P, epoch: e + 1n });
    });
  });

  describe('acquire rule refuse-late-acquire-by-holder', () => {
    it('refuses, and changes nothing, when the holder asks without knowing its current epoch', () => {
      const { a, t, e } = withHolder();
      hb(a, P, t + 5, { held: e, known: e }); // lastSeen moves with any request: level it first
      const before = snapshot(a, t + 5);
      const d = acq(a, P, t + 5, { known: e - 1n });
      expect(d.rule).to.equal('refuse-late-acquire-by-holder');
      expect(d.answer).to.include({ verdict: 'refused', reason: 'stale-epoch', holder: P, epoch: e });
      expect(d.persist).to.equal(undefined);
      expect(snapshot(a, t + 5)).to.deep.equal(before);
    });

    it("refuses also once the holder's lease has run out (the run may go on on a peer lease), and tells the epoch", () => {
      const { a, t, e } = withHolder();
      const late = acq(a, P, t + DEFAULT_HOLD + 1, { known: e - 1n });
      expect(late.rule).to.equal('refuse-late-acquire-by-holder');
      expect(late.answer).to.include({
        verdict: 'refused',
        reason: 'stale-epoch',
        epoch: e,
        retryAfterMs: 0,
        handOver: false,
        maintenance: false,
      });
      expect(late.persist).to.equal(undefined);
    });

    it('grants the holder that asks again knowing its epoch (a sidecar that missed the answer, or restarted)', () => {
      const { a, t, e } = withHolder();
      const d = acq(a, P, t + DEFAULT_HOLD + 1, { known: e });
      expect(d.rule).to.equal('grant-new-epoch');
      expect(d.answer.epoch > e).to.equal(true);
    });
  });

  describe('acquire rule refuse-acquire-older-than-callers-run', () => {
    /** p ran under e, then s took over under a later epoch, whose lease has now run out. */
    function pRanThenSHeld(): { a: Arbiter; t: number; e: bigint; later: bigint } {
      const { a, t, e } = withHolder();
      hb(a, P, t + 5, { held: e, known: e });
      const sAt = t + 5 + DEFAULT_HOLD + 1;
      const grant = acq(a, S, sAt, { known: e });
      expect(grant.answer).to.include({ verdict: 'granted', holder: S });
      return { a, t: sAt + DEFAULT_HOLD + 1, e, later: grant.answer.epoch };
    }

    it('refuses, and changes nothing, an Acquire that predates the run its caller reported', () => {
      const { a, t, e, later } = pRanThenSHeld();
      hb(a, P, t, { known: later });
      const before = snapshot(a, t);
      const d = acq(a, P, t, { known: e - 1n });
      expect(d.rule).to.equal('refuse-acquire-older-than-callers-run');
      expect(d.answer).to.include({ verdict: 'refused', reason: 'stale-epoch', holder: S, epoch: later });
      expect(d.persist).to.equal(undefined);
      expect(snapshot(a, t)).to.deep.equal(before);
    });

    it('grants the same caller asking knowing the epoch it ran under', () => {
      const { a, t, e, later } = pRanThenSHeld();
      const d = acq(a, P, t, { known: e });
      expect(d.rule).to.equal('grant-new-epoch');
      expect(d.answer.epoch > later).to.equal(true);
    });
  });

  describe('acquire rule grant-new-epoch', () => {
    it('hands out floor + 1 first, persists it and reports `granted`', () => {
      const { a, t } = started();
      const d = acq(a, P, t, { known: 0n });
      expect(d.rule).to.equal('grant-new-epoch');
      expect(d.answer).to.include({
        group: G,
        verdict: 'granted',
        reason: undefined,
        holder: P,
        epoch: FLOOR0 + 1n,
        leaseMs: DEFAULT_LEASE,
        holderLeaseRemainingMs: DEFAULT_HOLD,
        retryAfterMs: 0,
      });
      expect(d.persist?.record).to.deep.equal({ group: G, holder: P, epoch: FLOOR0 + 1n });
      expect(d.event).to.equal('granted');
      expect(snapshot(a, t)).to.include({ holder: P, epoch: FLOOR0 + 1n });
      const nodes = snapshot(a, t).nodes;
      expect(nodes.find((n) => n.node === P)?.holds).to.equal(true);
      expect(nodes.find((n) => n.node === S)?.holds).to.equal(false);
    });

    it('goes one above the highest of floor, stored, reported by the caller, and heard from anyone', () => {
      const { a, t, e } = withHolder();
      // Reported by the caller.
      const e2 = acq(a, S, t + DEFAULT_HOLD, { known: e + 100n }).answer.epoch;
      expect(e2).to.equal(e + 101n);
      // Heard from the other node in a heartbeat; the grantee itself reports a stale epoch.
      hb(a, P, t + DEFAULT_HOLD + 1, { known: e + 500n });
      const e3 = acq(a, P, t + 2 * DEFAULT_HOLD + 1, { known: e }).answer.epoch;
      expect(e3).to.equal(e + 501n);
    });

    it('grants at once after a release, without waiting out the released lease', () => {
      const { a, t, e } = withHolder();
      rel(a, P, e, t + 1);
      const d = acq(a, S, t + 2);
      expect(d.rule).to.equal('grant-new-epoch');
      expect(d.answer).to.include({ verdict: 'granted', holder: S, epoch: e + 1n });
      expect(d.persist?.record).to.deep.equal({ group: G, holder: S, epoch: e + 1n });
    });

    it('never hands out an epoch above MAX_EPOCH (the int64 a fencing resource stores)', () => {
      // CORE BUG (see report): the request validator accepts epochs up to MAX_EPOCH, and the grant
      // is max(...) + 1 with no bound, so a caller reporting MAX_EPOCH is granted 2^63.
      const { a, t } = started();
      let d: Decision | undefined;
      try {
        d = acq(a, P, t, { known: MAX_EPOCH });
      } catch (error) {
        expect(error).to.be.instanceOf(ArbitrationError);
        return;
      }
      if (d.answer.verdict === 'granted') {
        expect(d.answer.epoch <= MAX_EPOCH, `granted ${d.answer.epoch} > MAX_EPOCH`).to.equal(true);
      }
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Release
  // ----------------------------------------------------------------------------------------------

  describe('release rule release-holder', () => {
    it('clears the holder; persists holder "" under the same epoch; reports `released`', () => {
      const { a, t, e } = withHolder();
      const d = rel(a, P, e, t + 100);
      expect(d.rule).to.equal('release-holder');
      expect(d.answer).to.include({
        group: G,
        verdict: 'released',
        reason: undefined,
        holder: '',
        epoch: e,
        leaseMs: 0,
        holderLeaseRemainingMs: 0,
        retryAfterMs: 0,
      });
      expect(d.persist?.record).to.deep.equal({ group: G, holder: '', epoch: e });
      expect(d.event).to.equal('released');
      const v = snapshot(a, t + 100);
      expect(v).to.include({ holder: '', epoch: e, holderLeaseRemainingMs: 0 });
      expect(v.nodes.every((n) => !n.holds)).to.equal(true);
    });

    it('lets the recorded holder release after a restart without a heartbeat first', () => {
      const e = FLOOR0 + 3n;
      const a = arbiter(T0, [{ group: G, holder: P, epoch: e }]);
      const d = rel(a, P, e, T0 + 10);
      expect(d.rule).to.equal('release-holder');
      expect(d.persist?.record).to.deep.equal({ group: G, holder: '', epoch: e });
    });
  });

  describe('release rule refuse-release-of-old-epoch', () => {
    it('changes nothing when the epoch being released was superseded', () => {
      const { a, t, e } = withHolder();
      const now = t + DEFAULT_HOLD;
      const e2 = acq(a, S, now).answer.epoch;
      heardAt(a, P, now);
      const before = snapshot(a, now);
      const d = rel(a, P, e, now);
      expect(d.rule).to.equal('refuse-release-of-old-epoch');
      expect(d.answer).to.include({
        verdict: 'refused',
        reason: 'stale-epoch',
        holder: S,
        epoch: e2,
        leaseMs: 0,
        holderLeaseRemainingMs: DEFAULT_HOLD,
        retryAfterMs: 0,
      });
      expect(d.persist).to.equal(undefined);
      expect(d.event).to.equal('refused');
      expect(snapshot(a, now)).to.deep.equal(before);
    });

    it('changes nothing when the holder releases an older epoch of its own', () => {
      const { a, t, e } = withHolder();
      const e2 = acq(a, P, t, { known: e }).answer.epoch; // P activates again: e2 = e + 1
      const before = snapshot(a, t);
      const d = rel(a, P, e, t);
      expect(d.rule).to.equal('refuse-release-of-old-epoch');
      expect(d.answer).to.include({ verdict: 'refused', reason: 'stale-epoch', holder: P, epoch: e2 });
      expect(d.persist).to.equal(undefined);
      expect(snapshot(a, t)).to.deep.equal(before);
    });
  });

  describe('release rule refuse-release-by-non-holder', () => {
    it('changes nothing when a node that does not hold the group releases the current epoch', () => {
      const { a, t, e } = withHolder();
      const before = snapshot(a, t);
      const d = rel(a, S, e, t);
      expect(d.rule).to.equal('refuse-release-by-non-holder');
      expect(d.answer).to.include({
        verdict: 'refused',
        reason: 'not-holder',
        holder: P,
        epoch: e,
        leaseMs: 0,
        holderLeaseRemainingMs: DEFAULT_HOLD,
        retryAfterMs: 0,
      });
      expect(d.persist).to.equal(undefined);
      expect(d.event).to.equal('refused');
      expect(snapshot(a, t)).to.deep.equal(before);
    });

    it('changes nothing when the holder releases an epoch above the current one', () => {
      const { a, t, e } = withHolder();
      const before = snapshot(a, t);
      const d = rel(a, P, e + 1n, t, { known: e });
      expect(d.rule).to.equal('refuse-release-by-non-holder');
      expect(d.persist).to.equal(undefined);
      expect(snapshot(a, t)).to.deep.equal(before);
    });

    it('changes nothing when a group nobody holds is released again', () => {
      const { a, t, e } = withHolder();
      rel(a, P, e, t);
      const before = snapshot(a, t);
      const d = rel(a, P, e, t);
      expect(d.rule).to.equal('refuse-release-by-non-holder');
      expect(d.answer).to.include({ verdict: 'refused', reason: 'not-holder', holder: '', epoch: e });
      expect(d.persist).to.equal(undefined);
      expect(snapshot(a, t)).to.deep.equal(before);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Membership
  // ----------------------------------------------------------------------------------------------

  describe('membership', () => {
    it('a third node cannot join: failed-precondition on `node`, and nothing changes', () => {
      const { a, t, e } = withHolder();
      const before = snapshot(a, t);
      const error = expectArbitrationError(
        () => hb(a, 'third', t, { role: 'secondary' }),
        'failed-precondition',
        'node',
      );
      expect(error.message).to.contain('third');
      expectArbitrationError(() => hb(a, 'third', t, { role: 'primary', held: e + 5n }), 'failed-precondition', 'node');
      expect(snapshot(a, t)).to.deep.equal(before);
      expectArbitrationError(() => acq(a, 'third', t), 'not-found', 'node');
    });

    it('a group beyond --max-groups is refused resource-exhausted on `group`; known groups go on, restored ones count', () => {
      const a = arbiter(T0, [], GEN0, { ...CONFIG, maxGroups: 2 });
      hb(a, P, T0, { group: 'g1' });
      hb(a, P, T0, { group: 'g2' });
      const error = expectArbitrationError(() => hb(a, P, T0, { group: 'g3' }), 'resource-exhausted', 'group');
      expect(error.message).to.contain('at most 2 groups (--max-groups)');
      expectArbitrationError(() => hb(a, S, T0, { group: 'g3', held: 7n }), 'resource-exhausted', 'group');
      expect(() => a.view('g3', T0)).to.throw(/unknown group/);
      // The groups it serves are unaffected: a second member joins, heartbeats are answered.
      expect(hb(a, S, T0 + 1, { group: 'g1' }).answer.verdict).to.equal('acknowledged');
      const restored = arbiter(T0, [{ group: 'r1', holder: '', epoch: floorOf(GEN0 - 1n) + 1n }], GEN0, {
        ...CONFIG,
        maxGroups: 1,
      });
      expectArbitrationError(() => hb(restored, P, T0, { group: 'new' }), 'resource-exhausted', 'group');
      expect(hb(restored, P, T0, { group: 'r1' }).answer.verdict).to.equal('acknowledged');
    });

    it('two primaries cannot share a group: failed-precondition on `role`, and nothing changes', () => {
      const a = arbiter();
      hb(a, P, T0);
      const before = snapshot(a, T0);
      expectArbitrationError(() => hb(a, 'other', T0, { role: 'primary' }), 'failed-precondition', 'role');
      // A rejected heartbeat does not even adopt a higher epoch.
      expectArbitrationError(() => hb(a, 'other', T0, { role: 'primary', held: 99n }), 'failed-precondition', 'role');
      expect(snapshot(a, T0)).to.deep.equal(before);
      // Neither did it register the node.
      expectArbitrationError(() => acq(a, 'other', T0 + GRACE), 'not-found', 'node');
    });

    it('a registered node cannot switch to the role its peer has', () => {
      const { a, t } = started();
      const before = snapshot(a, t);
      expectArbitrationError(() => hb(a, S, t, { role: 'primary' }), 'failed-precondition', 'role');
      expect(snapshot(a, t)).to.deep.equal(before);
    });

    it('acquire and release on an unknown group: not-found on `group`; the group is not created', () => {
      const { a, t } = started();
      expectArbitrationError(() => acq(a, P, t, { group: 'nope' }), 'not-found', 'group');
      expectArbitrationError(() => rel(a, P, 1n, t, { group: 'nope' }), 'not-found', 'group');
      expectArbitrationError(() => a.view('nope', t), 'not-found', 'group');
      expect(a.list(t, '', 100).groups.map((g) => g.group)).to.deep.equal([G]);
    });

    it('acquire and release from a node that never sent a heartbeat: not-found on `node`, nothing changes', () => {
      const a = arbiter();
      hb(a, P, T0);
      const t = T0 + GRACE;
      const before = snapshot(a, t);
      expectArbitrationError(() => acq(a, S, t), 'not-found', 'node');
      expectArbitrationError(() => rel(a, S, 0n, t), 'not-found', 'node');
      expect(snapshot(a, t)).to.deep.equal(before);
    });

    it('after a restart only the recorded holder may acquire or release before its first heartbeat', () => {
      const e = FLOOR0 + 3n;
      const a = arbiter(T0, [{ group: G, holder: P, epoch: e }]);
      const t = T0 + GRACE;
      expectArbitrationError(() => acq(a, S, t), 'not-found', 'node');
      expect(acq(a, P, t, { known: e }).answer).to.include({ verdict: 'granted', epoch: e + 1n });
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Lease lengths
  // ----------------------------------------------------------------------------------------------

  describe('lease capping', () => {
    it('acquire: above maxLeaseMs gets maxLeaseMs, 0 gets defaultLeaseMs, in between is kept', () => {
      // A fresh witness per case: the same holder re-acquiring never shortens its hold, which
      // would hide the capped lease behind the longer one granted before.
      for (const [asked, got] of [
        [MAX_LEASE + 1, MAX_LEASE],
        [600_000, MAX_LEASE],
        [0, DEFAULT_LEASE],
        [MAX_LEASE, MAX_LEASE],
        [250, 250],
      ] as const) {
        const { a, t: now } = started();
        const d = acq(a, P, now, { lease: asked });
        // Remaining time is reported in whole milliseconds, rounded up.
        expect(d.answer, `asked ${asked}`).to.include({
          verdict: 'granted',
          leaseMs: got,
          holderLeaseRemainingMs: Math.ceil(held(got)),
        });
      }
    });

    it('heartbeat renewals: capped the same way; acknowledgements and refusals carry no lease', () => {
      const { a, t, e } = withHolder();
      expect(hb(a, P, t + 1, { held: e, lease: 60_000 }).answer).to.include({
        leaseMs: MAX_LEASE,
        holderLeaseRemainingMs: held(MAX_LEASE),
      });
      expect(hb(a, P, t + 2, { held: e, lease: 0 }).answer).to.include({ leaseMs: DEFAULT_LEASE });
      expect(hb(a, P, t + 3, { held: e, lease: 300 }).answer).to.include({ leaseMs: 300 });
      expect(hb(a, S, t + 4, { lease: 300 }).answer).to.include({ verdict: 'acknowledged', leaseMs: 0 });
      expect(hb(a, S, t + 5, { held: e - 1n, lease: 300 }).answer).to.include({ verdict: 'refused', leaseMs: 0 });
    });

    it('adoption: capped the same way', () => {
      const b = arbiter(T0, [], generationFromWallClock(WALL0 + 1000));
      expect(hb(b, P, T0, { held: 42n, lease: 10 * MAX_LEASE }).answer).to.include({
        verdict: 'renewed',
        leaseMs: MAX_LEASE,
      });
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Restarts: start-up grace with records, wipes and generations (design §9.3, §3.2)
  // ----------------------------------------------------------------------------------------------

  describe('restart with records', () => {
    const E = FLOOR0 + 41n;
    const restartAt = T0 + 50_000;
    const records = (): DurableGroup[] => [{ group: G, holder: P, epoch: E }];

    it('treats the recorded holder’s lease as live until the grace ends, then lets the peer take over', () => {
      const a = arbiter(restartAt, records());
      expect(snapshot(a, restartAt)).to.include({
        holder: P,
        epoch: E,
        holderLeaseRemainingMs: GRACE,
        inStartupGrace: true,
      });
      hb(a, S, restartAt);
      const d = acq(a, S, restartAt + GRACE - 1);
      expect(d.rule).to.equal('refuse-during-startup-grace');
      expect(d.answer).to.include({ holder: P, epoch: E, holderLeaseRemainingMs: 1, retryAfterMs: 1 });
      expect(snapshot(a, restartAt + GRACE - 1)).to.include({ holder: P, holderLeaseRemainingMs: 1 });
      const granted = acq(a, S, restartAt + GRACE);
      expect(granted.answer).to.include({ verdict: 'granted', holder: S, epoch: E + 1n });
      expect(granted.persist?.record).to.deep.equal({ group: G, holder: S, epoch: E + 1n });
    });

    it('renews the recorded holder during the grace', () => {
      const a = arbiter(restartAt, records());
      const d = hb(a, P, restartAt + 100, { held: E, lease: MAX_LEASE });
      expect(d.rule).to.equal('renew-holder');
      expect(d.answer).to.include({ verdict: 'renewed', holder: P, epoch: E, leaseMs: MAX_LEASE });
      expect(d.persist).to.equal(undefined);
      expect(d.event).to.equal('registered');
      // The renewal's hold reaches past the grace: the peer waits it out.
      hb(a, S, restartAt + 100);
      expect(acq(a, S, restartAt + GRACE).rule).to.equal('refuse-while-holder-lease-live');
      expect(acq(a, S, restartAt + 100 + GRACE).answer.verdict).to.equal('granted');
    });

    it('a renewal during the grace keeps the recorded holder’s lease live until the grace ends', () => {
      // CORE BUG (see report): the renewal replaces holdUntil (= graceUntil, set from the records)
      // by receipt + lease*(1+rho)+eps, which for the default lease is well before the grace ends.
      const a = arbiter(restartAt, records());
      const now = restartAt + 100;
      const d = hb(a, P, now, { held: E });
      expect(d.rule).to.equal('renew-holder');
      expect(d.answer).to.include({ verdict: 'renewed', holder: P, epoch: E, leaseMs: DEFAULT_LEASE });
      const graceLeft = restartAt + GRACE - now;
      expect(d.answer.holderLeaseRemainingMs, 'answer: remaining').to.be.at.least(graceLeft);
      const later = now + DEFAULT_HOLD + 1;
      expect(snapshot(a, later).holderLeaseRemainingMs, 'view: remaining').to.be.at.least(restartAt + GRACE - later);
    });

    it('grants above the recorded epoch even when the caller reports an older one', () => {
      const a = arbiter(restartAt, [{ group: G, holder: '', epoch: E }]);
      hb(a, S, restartAt);
      expect(acq(a, S, restartAt + GRACE, { known: FLOOR0 + 1n }).answer.epoch).to.equal(E + 1n);
    });
  });

  describe('wiped store (new generation, no records)', () => {
    it('never hands out an epoch at or below one handed out before the wipe', () => {
      const { a, t } = started();
      const before: bigint[] = [];
      let now = t;
      for (let i = 0; i < 3; i++) {
        before.push(acq(a, P, now).answer.epoch);
        now += 1;
      }
      const highest = before[before.length - 1] as bigint;
      const wipedAt = now + 10;
      const newGen = generationFromWallClock(WALL0 + 1000);
      for (const known of [0n, before[0] as bigint, highest - 1n, highest]) {
        const b = arbiter(wipedAt, [], newGen);
        hb(b, S, wipedAt, { known });
        const d = acq(b, S, wipedAt + GRACE, { known });
        expect(d.answer.verdict).to.equal('granted');
        expect(d.answer.epoch > highest, `known ${known}: ${d.answer.epoch} <= ${highest}`).to.equal(true);
        expect(d.answer.epoch).to.equal(floorOf(newGen) + 1n);
      }
    });

    it('still goes above a higher epoch that a caller reports', () => {
      const newGen = generationFromWallClock(WALL0 + 1000);
      const b = arbiter(T0, [], newGen);
      hb(b, S, T0);
      const reported = floorOf(newGen) + 1000n;
      expect(acq(b, S, T0 + GRACE, { known: reported }).answer.epoch).to.equal(reported + 1n);
    });

    it('re-adopts the running holder and refuses the peer during the grace (no grant, no new epoch)', () => {
      const { t, e } = withHolder();
      const b = arbiter(t + 1, [], generationFromWallClock(WALL0 + 1000));
      hb(b, S, t + 1);
      expect(acq(b, S, t + 2).answer).to.include({ reason: 'startup-grace', holder: '', epoch: 0n });
      expect(hb(b, P, t + 3, { held: e }).rule).to.equal('adopt-higher-epoch');
      expect(acq(b, S, t + 4).answer).to.include({ reason: 'startup-grace', holder: P, epoch: e });
    });

    it('a wipe within the same generation unit never repeats an epoch (or the config is refused)', () => {
      // CORE BUG (see report, low severity): epoch.ts relies on a start-up grace of at least 10 ms
      // (one generation unit) but assertConfig accepts any positive maxLeaseMs. With a 1 ms lease,
      // a store wiped and recreated 5 ms later has the same generation and repeats the epoch.
      const tiny: ArbiterConfig = { bounds: { rho: 0, marginMs: 0 }, defaultLeaseMs: 1, maxLeaseMs: 1 };
      let a: Arbiter;
      try {
        a = arbiter(0, [], generationFromWallClock(WALL0), tiny);
      } catch (error) {
        expect(error).to.be.instanceOf(RangeError);
        return;
      }
      hb(a, P, 0);
      const first = acq(a, P, 2).answer;
      expect(first.verdict).to.equal('granted');
      // The store is wiped; its replacement is created 5 ms of wall clock after the first one.
      const b = arbiter(5, [], generationFromWallClock(WALL0 + 5), tiny);
      hb(b, S, 5);
      const second = acq(b, S, 7).answer;
      expect(second.verdict).to.equal('granted');
      expect(second.epoch > first.epoch, `epoch ${second.epoch} repeated`).to.equal(true);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Views and paging
  // ----------------------------------------------------------------------------------------------

  describe('list()', () => {
    function withGroups(names: readonly string[]): Arbiter {
      const a = arbiter();
      for (const name of names) hb(a, P, T0, { group: name });
      return a;
    }
    const names = (page: { groups: GroupView[] }): string[] => page.groups.map((g) => g.group);

    it('pages through groups in name order; `after` and `more` work; `total` counts them all', () => {
      const a = withGroups(['delta', 'alpha', 'charlie', 'bravo', 'echo']);
      const p1 = a.list(T0, '', 2);
      expect(names(p1)).to.deep.equal(['alpha', 'bravo']);
      expect(p1).to.include({ total: 5, more: true });
      const p2 = a.list(T0, 'bravo', 2);
      expect(names(p2)).to.deep.equal(['charlie', 'delta']);
      expect(p2).to.include({ total: 5, more: true });
      const p3 = a.list(T0, 'delta', 2);
      expect(names(p3)).to.deep.equal(['echo']);
      expect(p3).to.include({ total: 5, more: false });
      const p4 = a.list(T0, 'echo', 2);
      expect(names(p4)).to.deep.equal([]);
      expect(p4).to.include({ total: 5, more: false });
    });

    it('`more` is false when the page ends exactly at the last group', () => {
      const a = withGroups(['a', 'b', 'c', 'd']);
      expect(a.list(T0, '', 4)).to.include({ more: false, total: 4 });
      expect(a.list(T0, 'b', 2)).to.include({ more: false });
      expect(a.list(T0, '', 3)).to.include({ more: true });
    });

    it('`after` need not name an existing group', () => {
      const a = withGroups(['a', 'c', 'e']);
      expect(names(a.list(T0, 'b', 10))).to.deep.equal(['c', 'e']);
      expect(names(a.list(T0, '0', 10))).to.deep.equal(['a', 'c', 'e']);
      expect(a.list(T0, 'z', 10)).to.deep.include({ groups: [], total: 3, more: false });
    });

    it('sorts by code unit, and lists groups known only from records', () => {
      const a = arbiter(T0, [{ group: 'Zulu', holder: P, epoch: 5n }]);
      hb(a, P, T0, { group: 'alpha' });
      hb(a, P, T0, { group: 'Bravo' });
      const page = a.list(T0, '', 10);
      expect(names(page)).to.deep.equal(['Bravo', 'Zulu', 'alpha']);
      expect(page.groups[1]).to.include({ holder: P, epoch: 5n, holderLeaseRemainingMs: GRACE });
    });

    it('an empty witness lists nothing', () => {
      expect(arbiter().list(T0, '', 10)).to.deep.include({ groups: [], total: 0, more: false });
    });
  });

  describe('view()', () => {
    it('reports nodes, roles, last seen and who holds', () => {
      const { a, t, e } = withHolder();
      const v = snapshot(a, t + 250);
      expect(v).to.include({
        group: G,
        holder: P,
        epoch: e,
        holderLeaseRemainingMs: DEFAULT_HOLD - 250,
        inStartupGrace: false,
      });
      expect(v.nodes).to.deep.equal([
        { node: P, role: 'primary', lastSeenMsAgo: 250, holds: true, maintenance: false, removed: false },
        { node: S, role: 'secondary', lastSeenMsAgo: 250, holds: false, maintenance: false, removed: false },
      ]);
    });
  });
});
