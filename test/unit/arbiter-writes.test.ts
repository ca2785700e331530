/**
 * The Arbiter's side of durable writes and of the store-wide high-water mark (issue 8, items 2, 3,
 * 5, 7, 8): a decision takes effect only when its write is committed, reported epochs are bounded
 * by the store's generation, the grace follows the longest lease ever recorded, and a forgotten
 * group never gets an old epoch back. The shell's `commit` / `abort` are called by hand here.
 */
import { expect } from 'chai';
import {
  ADOPTION_GENERATION_SLACK,
  epochFloor,
  FUTURE_GENERATION_SLACK,
  generationForOpen,
  generationFromWallClock,
  GENERATION_UNIT_MS,
} from '../../src/core/epoch';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import { ArbitrationError } from '../../src/core/witness/errors';
import type { Decision } from '../../src/core/witness/types';

const CONFIG: ArbiterConfig = { bounds: { rho: 0.01, marginMs: 10 }, defaultLeaseMs: 1000, maxLeaseMs: 1000 };
const GRACE = 1000 * 1.01 + 10;
const GEN = generationFromWallClock(1_700_000_000_000);
const G = 'g';

function witness(generation = GEN, longestEarlierLeaseMs = 0): Arbiter {
  return new Arbiter(CONFIG, { now: 0, generation, longestEarlierLeaseMs, records: [] });
}

const hb = (a: Arbiter, node: string, now: number, held = 0n, group = G): Decision =>
  a.heartbeat(
    {
      group,
      node,
      role: node === 'p' ? 'primary' : 'secondary',
      heldEpoch: held,
      knownEpoch: held,
      leaseMs: 0,
    },
    now,
  );
const acquire = (a: Arbiter, node: string, now: number, group = G): Decision =>
  a.acquire({ group, node, knownEpoch: 0n, leaseMs: 0 }, now);

/** p holds the group under a committed grant, made just after the grace. */
function pHolds(): { a: Arbiter; epoch: bigint; t: number } {
  const a = witness();
  hb(a, 'p', 1);
  hb(a, 's', 1);
  const t = GRACE + 1;
  const grant = acquire(a, 'p', t);
  a.commit(G);
  return { a, epoch: grant.answer.epoch, t };
}

describe('Arbiter: durable decisions take effect only once written', () => {
  it('a grant whose write failed leaves the holder, its epoch and its renewals as they were', () => {
    const { a, epoch, t } = pHolds();
    // p's lease runs out at the witness; s asks and is granted, but the disk is full.
    const later = t + 2000;
    const grant = acquire(a, 's', later);
    expect(grant.answer.verdict).to.equal('granted');
    expect(grant.persist?.record).to.deep.equal({ group: G, holder: 's', epoch: epoch + 1n });
    a.abort(G);
    const view = a.view(G, later);
    expect(view).to.include({ holder: 'p', epoch });
    // Before the fix, p was refused STALE_EPOCH here and stopped, with nobody else running.
    expect(hb(a, 'p', later + 1, epoch).answer).to.include({ verdict: 'renewed', holder: 'p', epoch });
  });

  it('a grant on its way to disk is not shown, and refuses nobody, until it is committed', () => {
    const { a, epoch, t } = pHolds();
    const later = t + 2000;
    acquire(a, 's', later);
    expect(a.isPending(G)).to.equal(true);
    expect(a.view(G, later)).to.include({ holder: 'p', epoch });
    // The shell holds the group's other requests back; asking anyway is a broken shell.
    expect(() => hb(a, 'p', later, epoch)).to.throw(/waits for its write/);
    a.commit(G);
    expect(a.isPending(G)).to.equal(false);
    expect(a.view(G, later)).to.include({ holder: 's', epoch: epoch + 1n });
    expect(hb(a, 'p', later + 1, epoch).answer).to.include({ verdict: 'refused', reason: 'stale-epoch' });
  });

  it('a release whose write failed leaves the holder holding', () => {
    const { a, epoch, t } = pHolds();
    const release = a.release({ group: G, node: 'p', epoch, knownEpoch: epoch }, t + 10);
    expect(release.answer.verdict).to.equal('released');
    a.abort(G);
    expect(a.view(G, t + 10)).to.include({ holder: 'p', epoch });
  });

  it('a late Acquire from a node whose adoption was never written is refused, and the refusal tells its epoch', () => {
    // Found by the simulator (src/sim/README.md, finding 6): the witness's store was wiped, the
    // running primary's heartbeats were adopted but every write failed, and a duplicate of the
    // primary's first Acquire, delayed on the link, arrived knowing no epoch. Granting it would
    // supersede the primary's healthy run.
    const a = witness();
    hb(a, 's', 1);
    const running = epochFloor(GEN) + 7n;
    const adoption = hb(a, 'p', 2, running);
    expect(adoption.persist?.record).to.deep.equal({ group: G, holder: 'p', epoch: running });
    a.abort(G);
    expect(a.view(G, 2)).to.include({ holder: '', epoch: 0n });
    const late = acquire(a, 'p', GRACE + 1);
    expect(late.rule).to.equal('refuse-acquire-older-than-callers-run');
    expect(late.answer).to.include({ verdict: 'refused', reason: 'stale-epoch', epoch: running });
    expect(late.persist).to.equal(undefined);
    // The same node, restarted and knowing only what the refusal told it, is granted above it.
    hb(a, 'p', GRACE + 2);
    const again = a.acquire({ group: G, node: 'p', knownEpoch: running, leaseMs: 0 }, GRACE + 3);
    expect(again.answer.verdict).to.equal('granted');
    expect(again.answer.epoch > running).to.equal(true);
  });

  it('another group decides while one waits for its write', () => {
    const { a, t } = pHolds();
    acquire(a, 's', t + 2000);
    const other = hb(a, 'p', t + 2000, 0n, 'other');
    expect(other.answer.verdict).to.equal('acknowledged');
  });
});

describe('Arbiter: reported epochs are bounded by the store, not by a wall clock', () => {
  it('accepts an epoch of a generation two days past the store generation', () => {
    const a = witness();
    const twoDays = BigInt((2 * 24 * 3600 * 1000) / GENERATION_UNIT_MS);
    const epoch = epochFloor(GEN + twoDays) + 7n;
    expect(hb(a, 's', 1, 0n).answer.verdict).to.equal('acknowledged');
    const answer = a.heartbeat(
      { group: G, node: 's', role: 'secondary', heldEpoch: 0n, knownEpoch: epoch, leaseMs: 0 },
      2,
    ).answer;
    expect(answer.verdict).to.equal('acknowledged');
    // And the next grant goes above it.
    hb(a, 'p', 3);
    const grant = acquire(a, 's', GRACE + 5);
    expect(grant.answer.epoch).to.equal(epoch + 1n);
  });

  it('refuses, naming the field, an epoch more than a year of generations past the store, and changes nothing', () => {
    const a = witness();
    const epoch = epochFloor(GEN + FUTURE_GENERATION_SLACK + 1n);
    const error = (() => {
      try {
        a.heartbeat({ group: G, node: 's', role: 'secondary', heldEpoch: 0n, knownEpoch: epoch, leaseMs: 0 }, 1);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(ArbitrationError);
    expect((error as ArbitrationError).field).to.equal('known_epoch');
    expect(() => a.view(G, 1)).to.throw(/unknown group/);
  });

  it('a grant past the next generation asks for the stored generation to be raised first', () => {
    const a = witness();
    hb(a, 'p', 1);
    const ahead = epochFloor(GEN + 5n) + 3n;
    const adopt = hb(a, 'p', 2, ahead);
    expect(adopt.answer.verdict).to.equal('renewed');
    expect(adopt.generation).to.equal(GEN + 5n);
    a.commit(G);
    expect(a.storeGeneration()).to.equal(GEN + 5n);
  });
});

describe('Arbiter: the start-up grace covers the longest lease an earlier run recorded', () => {
  it('a restart with a shorter --lease still waits out the longer lease handed out before', () => {
    const a = new Arbiter(CONFIG, { now: 0, generation: GEN, longestEarlierLeaseMs: 5000, records: [] });
    hb(a, 'p', 1);
    const refused = acquire(a, 'p', 2000);
    expect(refused.answer).to.include({ verdict: 'refused', reason: 'startup-grace' });
    expect(refused.answer.retryAfterMs).to.equal(Math.ceil(5000 * 1.01 + 10 - 2000));
    expect(acquire(a, 'p', 5000 * 1.01 + 11).answer.verdict).to.equal('granted');
  });
});

describe('Arbiter: forgetting groups', () => {
  it('forgets a released group whose nodes are silent, and its name gets higher epochs again', () => {
    const { a, epoch, t } = pHolds();
    a.release({ group: G, node: 'p', epoch, knownEpoch: epoch }, t + 10);
    a.commit(G);
    expect(a.forgettable(t + 500, 1000, 10)).to.deep.equal([]);
    expect(a.forgettable(t + 1010, 1000, 10)).to.deep.equal([G]);
    expect(a.forget(G, t + 1010, 1000)).to.equal(true);
    expect(() => a.view(G, t + 1010)).to.throw(/unknown group/);
    hb(a, 's', t + 1020);
    const again = acquire(a, 's', t + 1030);
    expect(again.answer.verdict).to.equal('granted');
    expect(again.answer.epoch > epoch).to.equal(true);
  });

  it('never forgets a group whose holder lease still runs or whose write is pending', () => {
    const { a, t } = pHolds();
    expect(a.forgettable(t + 500, 100, 10)).to.deep.equal([]);
    acquire(a, 's', t + 5000);
    expect(a.forgettable(t + 10_000, 100, 10)).to.deep.equal([]);
  });
});

describe('generationForOpen', () => {
  it('moves above the stored generation and every recorded epoch, and never below the wall clock', () => {
    const wall = 1_700_000_000_000;
    const wallGen = generationFromWallClock(wall);
    expect(generationForOpen(wallGen - 10n, [], wall)).to.deep.equal({ generation: wallGen, aheadOfWallClockMs: 0 });
    expect(generationForOpen(wallGen, [], wall)).to.deep.equal({ generation: wallGen + 1n, aheadOfWallClockMs: 10 });
    expect(generationForOpen(wallGen, [epochFloor(wallGen + 3n) + 1n], wall)).to.deep.equal({
      generation: wallGen + 4n,
      aheadOfWallClockMs: 40,
    });
  });
});

describe('Arbiter: an adopted epoch is bounded by what the store could have handed out (design §5.4)', () => {
  it('the bound is five minutes of generations, and a year for an epoch only seen', () => {
    expect(ADOPTION_GENERATION_SLACK).to.equal(BigInt((5 * 60 * 1000) / GENERATION_UNIT_MS));
    expect(FUTURE_GENERATION_SLACK).to.equal(BigInt((366 * 24 * 3600 * 1000) / GENERATION_UNIT_MS));
  });

  it('adopts an epoch up to five minutes of generations past the store (a store replaced on a clock ahead)', () => {
    const { a, t } = pHolds();
    const epoch = epochFloor(GEN + ADOPTION_GENERATION_SLACK) + 1n;
    const d = hb(a, 's', t + 1, epoch);
    expect(d.rule).to.equal('adopt-higher-epoch');
    expect(d.answer).to.include({ holder: 's', epoch });
  });

  it('refuses, naming held_epoch, to adopt past that; the holder keeps its place and its lease', () => {
    const { a, epoch, t } = pHolds();
    const beyond = epochFloor(GEN + ADOPTION_GENERATION_SLACK + 1n);
    const error = (() => {
      try {
        hb(a, 's', t + 1, beyond);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(ArbitrationError);
    expect((error as ArbitrationError).field).to.equal('held_epoch');
    expect(a.view(G, t + 2)).to.deep.include({ holder: 'p', epoch });
    expect(hb(a, 'p', t + 3, epoch).answer.verdict).to.equal('renewed');
  });

  it('adoptions do not raise the bound, grants do', () => {
    const { a, t } = pHolds();
    const first = epochFloor(GEN + ADOPTION_GENERATION_SLACK) + 1n;
    expect(hb(a, 's', t + 1, first).rule).to.equal('adopt-higher-epoch');
    a.commit(G);
    const next = epochFloor(GEN + 2n * ADOPTION_GENERATION_SLACK);
    expect(() => hb(a, 'p', t + 2, next)).to.throw(ArbitrationError, /held_epoch/);
    // A grant above a seen epoch a day ahead moves the bound with it: its holder renews.
    const b = witness();
    hb(b, 'p', 1);
    const dayAhead = epochFloor(GEN + BigInt((24 * 3600 * 1000) / GENERATION_UNIT_MS));
    const grant = b.acquire({ group: G, node: 'p', knownEpoch: dayAhead, leaseMs: 0 }, GRACE + 1);
    expect(grant.answer.epoch).to.equal(dayAhead + 1n);
    b.commit(G);
    expect(hb(b, 'p', GRACE + 2, dayAhead + 1n).answer.verdict).to.equal('renewed');
  });
});
