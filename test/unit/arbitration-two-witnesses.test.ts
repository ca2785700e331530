/**
 * Two witness replicas over one store, each deciding from its own memory: the
 * store's precondition check is what keeps the second from granting what the first already has.
 * Two ArbitrationServices, each with its own Arbiter, share one open FileStore.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { DurableGroup } from '../../src/core/witness/types';
import type { LeaseAnswer } from '../../src/gen/witness/v1/LeaseAnswer';
import { answerOf, ArbitrationService } from '../../src/witness/arbitration-service';
import { durableStore } from '../../src/witness/decision-store';
import { EventHub } from '../../src/witness/event-hub';
import { storeErrorToWire } from '../../src/witness/store-error-to-wire';
import { typedErrorStatus } from '../../src/wire/status-mapping';
import { FileStore } from '../../src/witness/store/file-store';
import { StorePreconditionError } from '../../src/witness/store/witness-store';

const LEASE_MS = 1000;
const G = 'g';

interface Replica {
  readonly arbiter: Arbiter;
  readonly service: ArbitrationService;
  readonly logLines: string[];
  readonly writeFailures: unknown[];
}

describe('two witnesses over one store', () => {
  let root: string;
  let store: FileStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'two-witnesses-'));
    store = new FileStore(join(root, 'data'), { wallClockMs: () => 1_700_000_000_000 });
  });

  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  function replica(generation: bigint, records: readonly DurableGroup[]): Replica {
    const now = (): number => performance.now();
    // Started long enough ago that the start-up grace is over: grants are decided at once.
    const arbiter = new Arbiter(
      { bounds: { rho: 0.01, marginMs: 10 }, defaultLeaseMs: LEASE_MS, maxLeaseMs: LEASE_MS },
      { now: now() - 10 * LEASE_MS, generation, records },
    );
    const logLines: string[] = [];
    const writeFailures: unknown[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
    const service = new ArbitrationService({
      arbiter,
      store: durableStore(store),
      logger,
      events: new EventHub(0, () => 0),
      now,
      defaultLeaseMs: LEASE_MS,
      onWriteFailed: (error) => writeFailures.push(error),
    });
    return { arbiter, service, logLines, writeFailures };
  }

  async function replicas(): Promise<[Replica, Replica]> {
    const { generation, records } = await store.open({ longestLeaseMs: LEASE_MS });
    return [replica(generation, records), replica(generation, records)];
  }

  const heartbeat = (r: Replica, node: string, held = 0n): Promise<LeaseAnswer> =>
    answerOf((reply) =>
      r.service.heartbeat(
        {
          group: G,
          node,
          role: node === 'p' ? 'ROLE_PRIMARY' : 'ROLE_SECONDARY',
          heldEpoch: held.toString(),
          knownEpoch: held.toString(),
          leaseMs: 0,
          sequence: '1',
          sync: null,
        },
        reply,
      ),
    );
  const acquire = (r: Replica, node: string): Promise<LeaseAnswer> =>
    answerOf((reply) =>
      r.service.acquire({ group: G, node, knownEpoch: '0', leaseMs: 0, sequence: '2', sync: null }, reply),
    );

  /** The wire answer's epoch (toWireAnswer writes it as a decimal string). */
  const epochOf = (answer: LeaseAnswer): string => String(answer.epoch);

  async function refusedByStore(answer: Promise<LeaseAnswer>): Promise<StorePreconditionError> {
    const error = await answer.then(
      (granted) => expect.fail(`expected the write to be refused, got ${granted.verdict}`),
      (err: unknown) => err,
    );
    const status = typedErrorStatus(storeErrorToWire(error) ?? error) ?? {};
    expect(status.code).to.equal(grpc.status.ABORTED);
    expect(status.details).to.contain(`group ${G}`);
    const cause = error instanceof Error ? error.cause : undefined;
    expect(cause).to.be.instanceOf(StorePreconditionError);
    return cause as StorePreconditionError;
  }

  /** `first` grants `winner`; then `second`, deciding from its own memory, grants `loser`. */
  async function bothGrant(
    first: Replica,
    winner: string,
    second: Replica,
    loser: string,
  ): Promise<{ granted: LeaseAnswer; refusal: StorePreconditionError }> {
    await heartbeat(first, winner);
    await heartbeat(second, loser);
    const granted = await acquire(first, winner);
    expect(granted.verdict).to.equal('VERDICT_GRANTED');
    return { granted, refusal: await refusedByStore(acquire(second, loser)) };
  }

  const recordOnDisk = async (): Promise<{ holder: string; epoch: string }> =>
    JSON.parse(await readFile(join(root, 'data', 'groups', `g-${G}.json`), 'utf8')) as {
      holder: string;
      epoch: string;
    };

  it('a new group: the second grant is refused by the store, rolled back, logged, and answered ABORTED', async () => {
    const [one, two] = await replicas();
    const { granted, refusal } = await bothGrant(one, 'p', two, 's');
    expect(refusal.expected).to.equal('absent');
    expect(refusal.found).to.deep.equal({ holder: 'p', epoch: BigInt(epochOf(granted)) });
    // The second replica's memory is as it was: nobody holds, nothing is pending.
    expect(two.arbiter.isPending(G)).to.equal(false);
    expect(two.arbiter.view(G, performance.now())).to.include({ holder: '', epoch: 0n });
    expect(await recordOnDisk()).to.include({ holder: 'p', epoch: epochOf(granted) });
    const logged = two.logLines.map((line) => JSON.parse(line) as { level: number; group?: string; err?: unknown });
    expect(logged.some((entry) => entry.level >= 50 && entry.group === G && entry.err !== undefined)).to.equal(true);
    expect(two.writeFailures).to.have.length(1);
  });

  it('a loaded record: whichever replica writes second is refused, and the first keeps its holder', async () => {
    // A released group both replicas load.
    const setup = await replicas();
    await heartbeat(setup[0], 'p');
    const first = await acquire(setup[0], 'p');
    await answerOf((reply) =>
      setup[0].service.release(
        {
          group: G,
          node: 'p',
          epoch: epochOf(first),
          knownEpoch: epochOf(first),
          sequence: '3',
        },
        reply,
      ),
    );
    await store.close();
    store = new FileStore(join(root, 'data'), { wallClockMs: () => 1_700_000_100_000 });
    const [one, two] = await replicas();
    const { granted, refusal } = await bothGrant(one, 's', two, 'p');
    expect(refusal.expected).to.deep.equal({ holder: '', epoch: BigInt(epochOf(first)) });
    expect(refusal.found).to.deep.equal({ holder: 's', epoch: BigInt(epochOf(granted)) });
    expect(await recordOnDisk()).to.include({ holder: 's', epoch: epochOf(granted) });
    // A stale adoption (p claims an epoch above what the second replica remembers) is refused too.
    await refusedByStore(heartbeat(two, 'p', BigInt(epochOf(granted)) + 1n));
    expect(await recordOnDisk()).to.include({ holder: 's', epoch: epochOf(granted) });
    expect(one.arbiter.view(G, performance.now())).to.include({ holder: 's' });
  });
});
