/**
 * Over a new or lost store, the start-up grace covers the longest lease a caller names (design
 * §6.5): a witness restarted over a lost store with a shorter --max-lease cannot know what an earlier witness granted, but
 * the pair's sidecars still ask for the lease they were configured with. Found by the simulator
 * (a wiped store and a shorter longest lease: the standby was granted while the old holder ran).
 */
import { expect } from 'chai';
import { generationFromWallClock } from '../../src/core/epoch';
import { restartGrace } from '../../src/core/lease';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';

const BOUNDS = { rho: 0.01, marginMs: 10 };
const CONFIG: ArbiterConfig = { bounds: BOUNDS, defaultLeaseMs: 5000, maxLeaseMs: 5000 };
const GEN = generationFromWallClock(1_700_000_000_000);
const ASKED_MS = 9000;

function freshWitness(): Arbiter {
  return new Arbiter(CONFIG, { now: 0, generation: GEN, records: [], storeIsNew: true });
}

const heartbeat = (a: Arbiter, node: string, now: number, leaseMs = ASKED_MS): void => {
  a.heartbeat(
    { group: 'g', node, role: node === 'p' ? 'primary' : 'secondary', heldEpoch: 0n, knownEpoch: 0n, leaseMs },
    now,
  );
};

describe('arbiter: the start-up grace covers the leases callers ask for', () => {
  const configured = restartGrace(CONFIG.maxLeaseMs, BOUNDS);
  const asked = restartGrace(ASKED_MS, BOUNDS);

  it('refuses a grant until the longest asked-for lease, counted from the start, has run out', () => {
    const a = freshWitness();
    heartbeat(a, 's', 100);
    const during = a.acquire({ group: 'g', node: 's', knownEpoch: 0n, leaseMs: ASKED_MS }, configured + 1);
    expect(during.rule).to.equal('refuse-during-startup-grace');
    expect(during.answer.retryAfterMs).to.equal(Math.ceil(asked - (configured + 1)));
    const after = a.acquire({ group: 'g', node: 's', knownEpoch: 0n, leaseMs: ASKED_MS }, asked + 1);
    expect(after.answer.verdict).to.equal('granted');
  });

  it('an Acquire that names the longer lease itself extends the grace too', () => {
    const a = freshWitness();
    heartbeat(a, 's', 100, 0);
    const late = a.acquire({ group: 'g', node: 's', knownEpoch: 0n, leaseMs: ASKED_MS }, configured + 1);
    expect(late.rule).to.equal('refuse-during-startup-grace');
  });

  it('over a store that recorded its longest lease, asked-for leases change nothing', () => {
    const a = new Arbiter(CONFIG, { now: 0, generation: GEN, records: [], longestEarlierLeaseMs: 5000 });
    heartbeat(a, 's', 100);
    const granted = a.acquire({ group: 'g', node: 's', knownEpoch: 0n, leaseMs: ASKED_MS }, configured + 1);
    expect(granted.answer.verdict).to.equal('granted');
  });

  it('leases within the configured longest change nothing: the grace stays the configured one', () => {
    const a = freshWitness();
    heartbeat(a, 's', 100, 4000);
    const granted = a.acquire({ group: 'g', node: 's', knownEpoch: 0n, leaseMs: 4000 }, configured + 1);
    expect(granted.answer.verdict).to.equal('granted');
  });
});
