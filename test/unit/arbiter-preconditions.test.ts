/**
 * Every durable decision carries the record it was made from (issue 9, item 5): the store writes
 * it only while it still holds that record, so a second witness over the same store, deciding from
 * stale memory, cannot overwrite what the first one granted.
 */
import { expect } from 'chai';
import { epochFloor, generationFromWallClock } from '../../src/core/epoch';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import { holdsExpected } from '../../src/core/witness/expected-record';
import type { Decision, DurableGroup } from '../../src/core/witness/types';

const CONFIG: ArbiterConfig = { bounds: { rho: 0.01, marginMs: 10 }, defaultLeaseMs: 1000, maxLeaseMs: 1000 };
const AFTER_GRACE = 1000 * 1.01 + 11;
const GEN = generationFromWallClock(1_700_000_000_000);
const G = 'g';

function witness(records: DurableGroup[] = []): Arbiter {
  return new Arbiter(CONFIG, { now: 0, generation: GEN, records });
}

const hb = (a: Arbiter, node: string, now: number, held = 0n): Decision =>
  a.heartbeat(
    { group: G, node, role: node === 'p' ? 'primary' : 'secondary', heldEpoch: held, knownEpoch: held, leaseMs: 0 },
    now,
  );
const acquire = (a: Arbiter, node: string, now: number): Decision =>
  a.acquire({ group: G, node, knownEpoch: 0n, leaseMs: 0 }, now);

function persisted(decision: Decision): NonNullable<Decision['persist']> {
  expect(decision.persist, `${decision.rule} is durable`).to.not.equal(undefined);
  return decision.persist as NonNullable<Decision['persist']>;
}

describe('Arbiter: a durable write expects the record its decision was made from', () => {
  it('the first grant of a new group expects no record', () => {
    const a = witness();
    hb(a, 'p', 1);
    const { record, expected } = persisted(acquire(a, 'p', AFTER_GRACE));
    expect(record).to.include({ group: G, holder: 'p' });
    expect(expected).to.equal('absent');
  });

  it('a grant over a committed one expects that holder and epoch', () => {
    const a = witness();
    hb(a, 'p', 1);
    hb(a, 's', 1);
    const first = persisted(acquire(a, 'p', AFTER_GRACE));
    a.commit(G);
    // p's lease runs out at the witness; s takes over under a new epoch.
    const second = persisted(acquire(a, 's', AFTER_GRACE + 5000));
    expect(second.expected).to.deep.equal({ holder: 'p', epoch: first.record.epoch });
    expect(second.record.epoch > first.record.epoch).to.equal(true);
  });

  it('a grant over a record loaded at start expects the loaded record', () => {
    const loaded = { group: G, holder: '', epoch: epochFloor(GEN - 1n) + 4n };
    const a = witness([loaded]);
    hb(a, 's', 1);
    expect(persisted(acquire(a, 's', AFTER_GRACE)).expected).to.deep.equal({ holder: '', epoch: loaded.epoch });
  });

  it('a release expects its holder and epoch, and writes the same epoch with nobody holding', () => {
    const a = witness();
    hb(a, 'p', 1);
    const epoch = persisted(acquire(a, 'p', AFTER_GRACE)).record.epoch;
    a.commit(G);
    const release = persisted(a.release({ group: G, node: 'p', epoch, knownEpoch: epoch }, AFTER_GRACE + 10));
    expect(release.expected).to.deep.equal({ holder: 'p', epoch });
    expect(release.record).to.deep.equal({ group: G, holder: '', epoch });
  });

  it('an adoption expects the record it raises the epoch over, or none in a group the store never had', () => {
    const loaded = { group: G, holder: '', epoch: epochFloor(GEN - 1n) + 4n };
    const a = witness([loaded]);
    const adopted = persisted(hb(a, 'p', 1, loaded.epoch + 3n));
    expect(adopted.expected).to.deep.equal({ holder: '', epoch: loaded.epoch });
    expect(adopted.record).to.deep.equal({ group: G, holder: 'p', epoch: loaded.epoch + 3n });

    const fresh = witness();
    const first = persisted(hb(fresh, 'p', 1, loaded.epoch));
    expect(first.expected).to.equal('absent');
  });

  it('after a failed write, the next write still expects what the store had before it', () => {
    const a = witness();
    hb(a, 'p', 1);
    hb(a, 's', 1);
    const granted = persisted(acquire(a, 'p', AFTER_GRACE)).record;
    a.commit(G);
    acquire(a, 's', AFTER_GRACE + 5000);
    a.abort(G);
    const retried = persisted(acquire(a, 's', AFTER_GRACE + 5001));
    expect(retried.expected).to.deep.equal({ holder: 'p', epoch: granted.epoch });
  });

  it('a group forgotten, record and all, expects no record again', () => {
    const a = witness();
    hb(a, 'p', 1);
    const epoch = persisted(acquire(a, 'p', AFTER_GRACE)).record.epoch;
    a.commit(G);
    a.release({ group: G, node: 'p', epoch, knownEpoch: epoch }, AFTER_GRACE + 1);
    a.commit(G);
    expect(a.forget(G, AFTER_GRACE + 10_000, 1000)).to.equal(true);
    hb(a, 'p', AFTER_GRACE + 10_001);
    expect(persisted(acquire(a, 'p', AFTER_GRACE + 10_002)).expected).to.equal('absent');
  });

  it('two witnesses that loaded the same record cannot both have their grant written', () => {
    const loaded = { group: G, holder: '', epoch: epochFloor(GEN - 1n) + 4n };
    const one = witness([loaded]);
    const two = witness([loaded]);
    hb(one, 'p', 1);
    hb(two, 's', 1);
    const first = persisted(acquire(one, 'p', AFTER_GRACE));
    const second = persisted(acquire(two, 's', AFTER_GRACE));
    // Both decided from the same record, and both would hand out the same epoch.
    expect(second.record.epoch).to.equal(first.record.epoch);
    expect(holdsExpected(first.expected, loaded)).to.equal(true);
    // Once the first is written, the store holds its record, which the second does not expect.
    expect(holdsExpected(second.expected, first.record)).to.equal(false);
  });
});

describe('holdsExpected', () => {
  const record = { group: G, holder: 'p', epoch: 7n };

  it('holds only for the same holder and epoch, or for no record when none is expected', () => {
    expect(holdsExpected({ holder: 'p', epoch: 7n }, record)).to.equal(true);
    expect(holdsExpected({ holder: 'p', epoch: 6n }, record)).to.equal(false);
    expect(holdsExpected({ holder: '', epoch: 7n }, record)).to.equal(false);
    expect(holdsExpected('absent', record)).to.equal(false);
    expect(holdsExpected('absent', undefined)).to.equal(true);
    expect(holdsExpected({ holder: 'p', epoch: 7n }, undefined)).to.equal(false);
  });
});
