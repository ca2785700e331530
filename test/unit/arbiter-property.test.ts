/**
 * Properties of the witness's arbitration core over random histories (design §3, §4):
 *
 *  (a) S2 at the witness: every granted epoch is strictly above every epoch granted before in the
 *      group, across restarts (records kept) and wipes (no records, a later wall clock), whatever
 *      epochs the callers report; no epoch is granted twice.
 *  (b) Mutual exclusion at the witness: nodes that count their lease exactly as a correct node does
 *      (from the send time, `sent + leaseMs*(1-rho)`) never both hold a valid lease, across restarts
 *      with records kept. Zero network delay and exact clocks, so the witness's `now` is the send
 *      time.
 *
 * Histories are sequences of heartbeat / acquire / release / restart (/ wipe) commands from two
 * nodes, each after a random advance of time. A restart builds a new Arbiter from the durable
 * records collected from `decision.persist` so far (the shell makes them durable before it
 * answers), with the same generation; a wipe builds one with no records and a generation from a wall
 * clock at least 10 ms later than the one the replaced store was created with.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { generationForOpen, generationFromWallClock } from '../../src/core/epoch';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import { ArbitrationError } from '../../src/core/witness/errors';
import { holdsExpected } from '../../src/core/witness/expected-record';
import type { Decision, DurableGroup, NodeRole } from '../../src/core/witness/types';

const GROUP = 'g';
const NODES = ['p', 's'] as const;
const ROLES: readonly NodeRole[] = ['primary', 'secondary'];
type NodeIndex = 0 | 1;

/** Which epoch a caller puts in a field: the latest it has, none, or one it saw some time ago. */
type EpochChoice = { readonly mode: 'own' | 'zero' | 'stale'; readonly pick: number };

type Command =
  | {
      readonly kind: 'heartbeat';
      readonly dt: Advance;
      readonly node: NodeIndex;
      readonly held: EpochChoice;
      readonly known: EpochChoice;
      readonly lease: number;
    }
  | {
      readonly kind: 'acquire';
      readonly dt: Advance;
      readonly node: NodeIndex;
      readonly known: EpochChoice;
      readonly lease: number;
    }
  | {
      readonly kind: 'release';
      readonly dt: Advance;
      readonly node: NodeIndex;
      readonly epoch: EpochChoice;
      readonly known: EpochChoice;
    }
  | { readonly kind: 'restart'; readonly dt: Advance }
  | { readonly kind: 'wipe'; readonly dt: Advance; readonly wallJump: number };

const configArb: fc.Arbitrary<ArbiterConfig> = fc
  .record({
    rho: fc.constantFrom(0, 0.001, 0.01, 0.05),
    marginMs: fc.constantFrom(0, 1, 10, 25),
    defaultLeaseMs: fc.constantFrom(100, 300, 1000),
    maxLeaseMs: fc.constantFrom(1000, 1500, 2000),
  })
  .map(({ rho, marginMs, defaultLeaseMs, maxLeaseMs }) => ({ bounds: { rho, marginMs }, defaultLeaseMs, maxLeaseMs }));

/**
 * How time moves before a command: small steps (to land inside leases), large ones (to let them
 * run out), or straight to just before / exactly at the end of one node's own lease, where a
 * witness that handed the group over too early would be caught.
 */
type Advance = number | { readonly toLeaseEndOf: NodeIndex; readonly minus: number };
const dtArb: fc.Arbitrary<Advance> = fc.oneof(
  { arbitrary: fc.constant(0), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 60 }), weight: 3 },
  { arbitrary: fc.integer({ min: 60, max: 2500 }), weight: 3 },
  {
    arbitrary: fc.record({
      toLeaseEndOf: fc.constantFrom<NodeIndex>(0, 1),
      minus: fc.constantFrom(0, 0.001, 0.5, 1, 5),
    }),
    weight: 2,
  },
);
const nodeArb = fc.constantFrom<NodeIndex>(0, 1);
const leaseArb = fc.constantFrom(0, 0, 50, 100, 700, 1000, 1500, 9000);
const epochChoiceArb = (modes: readonly EpochChoice['mode'][]): fc.Arbitrary<EpochChoice> =>
  fc.record({ mode: fc.constantFrom(...modes), pick: fc.nat() });

function commandArb(withWipes: boolean): fc.Arbitrary<Command> {
  const heartbeat = fc.record({
    kind: fc.constant('heartbeat' as const),
    dt: dtArb,
    node: nodeArb,
    held: epochChoiceArb(['own', 'own', 'zero', 'stale']),
    known: epochChoiceArb(['own', 'zero', 'stale']),
    lease: leaseArb,
  });
  const acquire = fc.record({
    kind: fc.constant('acquire' as const),
    dt: dtArb,
    node: nodeArb,
    known: epochChoiceArb(['own', 'zero', 'stale']),
    lease: leaseArb,
  });
  const release = fc.record({
    kind: fc.constant('release' as const),
    dt: dtArb,
    node: nodeArb,
    epoch: epochChoiceArb(['own', 'own', 'zero', 'stale']),
    known: epochChoiceArb(['own', 'zero', 'stale']),
  });
  const restart = fc.record({ kind: fc.constant('restart' as const), dt: dtArb });
  const wipe = fc.record({
    kind: fc.constant('wipe' as const),
    dt: dtArb,
    wallJump: fc.integer({ min: 10, max: 5000 }),
  });
  const weighted: fc.WeightedArbitrary<Command>[] = [
    { arbitrary: heartbeat, weight: 5 },
    { arbitrary: acquire, weight: 4 },
    { arbitrary: release, weight: 2 },
    { arbitrary: restart, weight: 1 },
  ];
  if (withWipes) weighted.push({ arbitrary: wipe, weight: 1 });
  return fc.oneof(...weighted);
}

/** What one node knows: the epoch it runs under (0n: none), every epoch it saw, and its lease. */
interface NodeModel {
  epoch: bigint;
  seen: bigint[];
  highest: bigint;
  /** End of its own lease on its own (here: exact) clock; -Infinity when it holds none. */
  leaseEnd: number;
}

function choose(node: NodeModel, choice: EpochChoice, own: bigint): bigint {
  if (choice.mode === 'own') return own;
  if (choice.mode === 'zero' || node.seen.length === 0) return 0n;
  return node.seen[choice.pick % node.seen.length] as bigint;
}

/** The witness as the shell runs it: an Arbiter plus the durable records it persisted. */
class Witness {
  arbiter: Arbiter;
  readonly records = new Map<string, DurableGroup>();
  generation: bigint;
  /** The witness machine's wall clock: it moves only by the modelled jumps and the open's wait. */
  private wallClockMs: number;

  constructor(
    private readonly config: ArbiterConfig,
    wallClock: number,
    now: number,
  ) {
    this.wallClockMs = wallClock;
    this.generation = generationFromWallClock(wallClock);
    this.arbiter = new Arbiter(config, { now, generation: this.generation, records: [] });
  }

  /**
   * Every persist is durable before the answer leaves the witness, and only then takes effect; its
   * precondition always holds, since this store has one witness and loses no acknowledged write.
   */
  keep(decision: Decision): Decision {
    if (decision.persist !== undefined) {
      const { record, expected } = decision.persist;
      expect(holdsExpected(expected, this.records.get(record.group)), 'the write expects what is stored').to.equal(
        true,
      );
      if (decision.generation !== undefined && decision.generation > this.generation)
        this.generation = decision.generation;
      this.records.set(record.group, record);
      this.arbiter.commit(record.group);
    }
    return decision;
  }

  /** Each open moves the store to a generation above everything it recorded (src/core/epoch.ts). */
  restart(now: number): void {
    const records = [...this.records.values()];
    const open = generationForOpen(
      this.generation,
      records.map((r) => r.epoch),
      this.wallClockMs,
    );
    // The shell waits for the wall clock to reach the generation it opens.
    this.wallClockMs += open.aheadOfWallClockMs;
    this.generation = open.generation;
    this.arbiter = new Arbiter(this.config, { now, generation: this.generation, records });
  }

  wipe(now: number, wallJump: number): void {
    this.records.clear();
    this.wallClockMs += wallJump;
    this.generation = generationFromWallClock(this.wallClockMs);
    this.arbiter = new Arbiter(this.config, { now, generation: this.generation, records: [] });
  }
}

/** Acquire/Release before a (re)started witness has heard from the node: the node would retry. */
function tolerateNotFound(fn: () => Decision): Decision | undefined {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ArbitrationError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

interface Stats {
  runs: number;
  grants: number;
  grantsAfterRestart: number;
  grantsAfterWipe: number;
  takeovers: number;
  renewals: number;
}

/**
 * Runs one history. `onGrant` sees every granted epoch; `check` runs after every answer with the
 * nodes' models at time `now`.
 */
function runHistory(
  config: ArbiterConfig,
  wallStart: number,
  commands: readonly Command[],
  stats: Stats,
  hooks: {
    onGrant?: (epoch: bigint, decision: Decision, step: number) => void;
    check?: (nodes: readonly NodeModel[], now: number, step: number, what: string) => void;
  },
): void {
  const rho = config.bounds.rho;
  let now = 0;
  const witness = new Witness(config, wallStart, now);
  const nodes: NodeModel[] = NODES.map(() => ({ epoch: 0n, seen: [], highest: 0n, leaseEnd: -Infinity }));
  let restarted = false;
  let wiped = false;
  let lastHolder = -1;
  stats.runs++;

  const learn = (node: NodeModel, d: Decision): void => {
    const e = d.answer.epoch;
    if (e > 0n) {
      node.seen.push(e);
      if (e > node.highest) node.highest = e;
    }
  };

  commands.forEach((cmd, step) => {
    if (typeof cmd.dt === 'number') now += cmd.dt;
    else now = Math.max(now, (nodes[cmd.dt.toLeaseEndOf] as NodeModel).leaseEnd - cmd.dt.minus);
    if (cmd.kind === 'restart') {
      witness.restart(now);
      restarted = true;
      return;
    }
    if (cmd.kind === 'wipe') {
      witness.wipe(now, cmd.wallJump);
      wiped = true;
      return;
    }
    const i = cmd.node;
    const node = nodes[i] as NodeModel;
    const sentAt = now; // zero network delay
    let what: string;
    if (cmd.kind === 'heartbeat') {
      const heldEpoch = choose(node, cmd.held, node.epoch);
      const knownEpoch = choose(node, cmd.known, node.highest);
      const d = witness.keep(
        witness.arbiter.heartbeat(
          { group: GROUP, node: NODES[i], role: ROLES[i] as NodeRole, heldEpoch, knownEpoch, leaseMs: cmd.lease },
          now,
        ),
      );
      learn(node, d);
      what = `${NODES[i]} heartbeat(held ${heldEpoch}) -> ${d.rule}`;
      if (d.answer.verdict === 'renewed') {
        // A renewal (or adoption) never starts anything, but the node now counts this lease.
        node.epoch = d.answer.epoch;
        node.leaseEnd = sentAt + d.answer.leaseMs * (1 - rho);
        stats.renewals++;
      } else if (d.answer.verdict === 'refused' && heldEpoch === node.epoch) {
        // The node must stop; it keeps counting its old lease (never longer), which only makes
        // the mutual-exclusion check stricter.
        node.epoch = 0n;
      }
    } else if (cmd.kind === 'acquire') {
      const knownEpoch = choose(node, cmd.known, node.highest);
      const d = tolerateNotFound(() =>
        witness.keep(witness.arbiter.acquire({ group: GROUP, node: NODES[i], knownEpoch, leaseMs: cmd.lease }, now)),
      );
      if (d === undefined) return;
      learn(node, d);
      what = `${NODES[i]} acquire(known ${knownEpoch}) -> ${d.rule}`;
      if (d.answer.verdict === 'granted') {
        expect(d.persist?.record, 'a grant is persisted').to.deep.equal({
          group: GROUP,
          holder: NODES[i],
          epoch: d.answer.epoch,
        });
        hooks.onGrant?.(d.answer.epoch, d, step);
        node.epoch = d.answer.epoch;
        node.leaseEnd = sentAt + d.answer.leaseMs * (1 - rho);
        stats.grants++;
        if (restarted) stats.grantsAfterRestart++;
        if (wiped) stats.grantsAfterWipe++;
        if (lastHolder !== -1 && lastHolder !== i) stats.takeovers++;
        lastHolder = i;
      }
    } else {
      const epoch = choose(node, cmd.epoch, node.epoch);
      const knownEpoch = choose(node, cmd.known, node.highest);
      // A correct node stops first, then says so: it gives up its lease before it releases.
      if (epoch !== 0n && epoch === node.epoch) {
        node.epoch = 0n;
        node.leaseEnd = -Infinity;
      }
      const d = tolerateNotFound(() =>
        witness.keep(witness.arbiter.release({ group: GROUP, node: NODES[i], epoch, knownEpoch }, now)),
      );
      if (d === undefined) return;
      learn(node, d);
      what = `${NODES[i]} release(${epoch}) -> ${d.rule}`;
    }
    hooks.check?.(nodes, now, step, what);
  });
}

const WALL_BASE = 1_700_000_000_000;

describe('Arbiter properties', function () {
  this.timeout(20_000);

  it('(a) every granted epoch is above every epoch granted before, across restarts and wipes', () => {
    const stats: Stats = { runs: 0, grants: 0, grantsAfterRestart: 0, grantsAfterWipe: 0, takeovers: 0, renewals: 0 };
    fc.assert(
      fc.property(
        configArb,
        fc.integer({ min: 0, max: 9_999 }),
        fc.array(commandArb(true), { minLength: 1, maxLength: 120, size: 'max' }),
        (config, wallOffset, commands) => {
          const granted = new Set<bigint>();
          let highest = 0n;
          runHistory(config, WALL_BASE + wallOffset, commands, stats, {
            onGrant: (epoch, _d, step) => {
              expect(granted.has(epoch), `step ${step}: epoch ${epoch} granted twice`).to.equal(false);
              expect(epoch > highest, `step ${step}: granted ${epoch} not above ${highest}`).to.equal(true);
              granted.add(epoch);
              highest = epoch;
            },
          });
        },
      ),
      { numRuns: 1000 },
    );
    if (process.env.ARBITER_PROPERTY_STATS) console.log(stats);
    // The property is not vacuous: grants happen, also after restarts and wipes, and nodes take over.
    expect(stats.grants).to.be.greaterThan(3000);
    expect(stats.grantsAfterRestart).to.be.greaterThan(1000);
    expect(stats.grantsAfterWipe).to.be.greaterThan(1000);
    expect(stats.takeovers).to.be.greaterThan(500);
  });

  it('(b) two nodes never both hold a valid lease granted by the witness, across restarts', () => {
    const stats: Stats = { runs: 0, grants: 0, grantsAfterRestart: 0, grantsAfterWipe: 0, takeovers: 0, renewals: 0 };
    fc.assert(
      fc.property(
        configArb,
        fc.array(commandArb(false), { minLength: 1, maxLength: 120, size: 'max' }),
        (config, commands) => {
          runHistory(config, WALL_BASE, commands, stats, {
            check: (nodes, now, step, what) => {
              const holding = nodes
                .map((n, i) => (now < n.leaseEnd ? NODES[i] : undefined))
                .filter((n) => n !== undefined);
              expect(
                holding.length,
                `step ${step} (${what}) at ${now}: ${holding.join(' and ')} both hold a valid lease ` +
                  `(ends ${nodes.map((n) => n.leaseEnd).join(', ')})`,
              ).to.be.at.most(1);
            },
          });
        },
      ),
      { numRuns: 400 },
    );
    if (process.env.ARBITER_PROPERTY_STATS) console.log(stats);
    expect(stats.grants).to.be.greaterThan(1500);
    expect(stats.grantsAfterRestart).to.be.greaterThan(1000);
    expect(stats.takeovers).to.be.greaterThan(300);
    expect(stats.renewals).to.be.greaterThan(500);
  });
});
