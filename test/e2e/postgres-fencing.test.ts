/**
 * Fencing end to end on a real PostgreSQL (issue 14, item 3; deploy/examples/postgres-fencing): a
 * witness, two sidecars, and as their workload the example's writer. Node a is frozen whole, as a
 * paused VM (SIGSTOP of its sidecar, its watchdog and its workload's process group), b takes over
 * and writes, then a resumes: its workload writes on past its lease, the known limit only the epoch
 * covers, and PostgreSQL must refuse each of those writes while losing none of b's.
 */
import { expect } from 'chai';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Cluster, isAlive, LEASE_MS, type NodeName, sleep, STOP_TIMEOUT_MS, useCluster } from '../support/cluster';
import { COLD_START_MS, steady } from '../support/cluster-steady';
import {
  type Decided,
  FENCING_SQL,
  FENCING_WRITER,
  type Outcome,
  readOutcomes,
  refusedWrites,
  storedWrites,
} from '../support/fencing-records';
import { PostgresServer, postgresProgram, requirePostgres } from '../support/postgres-server';
import { groupAlive } from '../../src/sidecar/watchdog/process-group';

/**
 * On a real resume the scheduler decides whether the workload or its watchdog runs first; a gets
 * this long before its watchdog and sidecar, so that its stale writes surely reach the database.
 */
const STALE_WINDOW_MS = 1000;
/** b's writes to see before a resumes: b is really the writer by then. */
const B_WRITES_BEFORE_RESUME = 5;

/** The pids that make up one node (the sidecar's GetState does not carry them: its log does). */
interface NodeProcesses {
  readonly sidecar: number;
  readonly watchdog: number;
  /** The workload's pid, also its process group: the writer and its psql. */
  readonly workloadGroup: number;
}

function processesOf(c: Cluster, node: NodeName): NodeProcesses {
  // Both the supervisor and the runtime log 'workload running': only the supervisor's has the pids.
  const running = c
    .logged(node, 'workload running')
    .filter((line) => line.workloadPid !== undefined)
    .at(-1);
  if (running === undefined) throw new Error(`${node}'s sidecar never logged 'workload running'`);
  return {
    sidecar: c.proc(node).pid,
    watchdog: Number(running.watchdogPid),
    workloadGroup: Number(running.workloadPid),
  };
}

function signalNode(p: NodeProcesses, signal: 'SIGSTOP' | 'SIGCONT', parts: readonly (keyof NodeProcesses)[]): void {
  for (const part of parts) {
    try {
      process.kill(part === 'workloadGroup' ? -p.workloadGroup : p[part], signal);
    } catch {
      // gone already
    }
  }
}

const ok = (outcomes: readonly Outcome[]): Outcome[] => outcomes.filter((o) => o.result === 'ok');
const key = (w: { node: string; epoch: bigint; sequence: number }): string => `${w.node}/${w.epoch}/${w.sequence}`;

interface FencingHistory {
  readonly stored: readonly Decided[];
  readonly refused: readonly Decided[];
  readonly outcomes: Record<NodeName, readonly Outcome[]>;
  readonly firstOfB: Decided;
  readonly epochs: Record<NodeName, bigint>;
}

/** What the database and the writers saw agrees with fencing, from b's first stored write on. */
function expectFenced({ stored, refused, outcomes, firstOfB, epochs }: FencingHistory): void {
  const afterTakeover = (w: Decided): boolean => w.attempt > firstOfB.attempt;
  expect(epochs.b > epochs.a, "b's epoch is above a's").to.equal(true);
  const storedAfter = stored.filter(afterTakeover);
  expect(
    storedAfter.filter((w) => w.node !== 'b' || w.epoch !== epochs.b).map(key),
    'stored after b took over, other than b at its epoch',
  ).to.deep.equal([]);
  expect(refused.filter((w) => w.node === 'b').map(key), "b's writes refused").to.deep.equal([]);
  const decreases = stored.filter((w, k) => k > 0 && w.epoch < stored[k - 1]!.epoch);
  expect(decreases.map(key), 'stored writes whose epoch is below the one before').to.deep.equal([]);

  const inTable = new Set(stored.map((w) => `${key(w)}@${w.attempt}`));
  const lost = [...ok(outcomes.a), ...ok(outcomes.b)].filter((o) => !inTable.has(`${key(o)}@${o.attempt}`));
  expect(lost.map(key), 'writes reported stored that are not in the table').to.deep.equal([]);
  const staleReported = ok(outcomes.a).filter((o) => o.attempt! > firstOfB.attempt);
  expect(staleReported.map(key), "a's writes reported stored after b's first").to.deep.equal([]);

  // Every attempt that reached the lock got a number: each is either stored or logged as refused.
  const decided = new Set([...stored, ...refused].map((w) => w.attempt));
  const last = Math.max(...decided);
  const undecided = Array.from({ length: last }, (_, k) => k + 1).filter((n) => !decided.has(n));
  expect(undecided, 'attempt numbers neither stored nor logged as refused').to.deep.equal([]);
}

describe('PostgreSQL fencing (deploy/examples/postgres-fencing): a whole node frozen, then resumed', function () {
  this.timeout(60_000);
  let pg: PostgresServer | undefined;
  let frozen: NodeProcesses | undefined;
  const outcomesOf = (node: NodeName): string => path.join(pg!.dir, `outcomes-${node}`);

  before(async function () {
    requirePostgres(this);
    pg = await PostgresServer.start();
    pg.psql({ file: FENCING_SQL });
  });

  after(async () => {
    await pg?.stop();
  });

  // Before the cluster's teardown: a frozen watchdog could not stop its workload when its sidecar dies.
  afterEach(() => {
    if (frozen !== undefined) signalNode(frozen, 'SIGCONT', ['workloadGroup', 'watchdog', 'sidecar']);
  });
  useCluster();

  it("every write of the stale node after the takeover is refused, and none of the new writer's is lost", async function () {
    const c = await Cluster.start({
      // The frozen primary must not take the group back by a fail-back: b stays the writer.
      failback: 'manual',
      workload: (node) => [
        '/usr/bin/env',
        `PSQL=${postgresProgram('psql')}`,
        FENCING_WRITER,
        pg!.conninfo,
        outcomesOf(node),
      ],
    });
    await c.waitFor('a writes', () => ok(readOutcomes(outcomesOf('a'))).length >= 3, COLD_START_MS);
    await steady(c);
    const a = processesOf(c, 'a');

    frozen = a;
    signalNode(a, 'SIGSTOP', ['workloadGroup', 'watchdog', 'sidecar']);
    const frozenAt = performance.now();
    const takeoverMs = await c.waitFor('b writes', () => ok(readOutcomes(outcomesOf('b'))).length > 0, COLD_START_MS);
    await c.waitFor(
      `b made ${B_WRITES_BEFORE_RESUME} writes`,
      () => ok(readOutcomes(outcomesOf('b'))).length >= B_WRITES_BEFORE_RESUME,
      COLD_START_MS,
    );
    // a's lease has run out for sure: b's grant needed that already, this keeps a frozen past it.
    await sleep(Math.max(0, frozenAt + 2 * LEASE_MS - performance.now()));
    const frozenMs = performance.now() - frozenAt;

    signalNode(a, 'SIGCONT', ['workloadGroup']);
    await sleep(STALE_WINDOW_MS);
    signalNode(a, 'SIGCONT', ['watchdog', 'sidecar']);
    frozen = undefined;
    // Its deadline passed long ago: SIGTERM at once, SIGKILL after the stop timeout (and a lease of
    // slack for a busy machine).
    const stopMs = await c.waitFor(
      "a's watchdog stops a's workload",
      () => !groupAlive(a.workloadGroup),
      STOP_TIMEOUT_MS + LEASE_MS,
    );
    const bBefore = ok(readOutcomes(outcomesOf('b'))).length;
    await c.waitFor('b writes on', () => ok(readOutcomes(outcomesOf('b'))).length >= bBefore + 3, LEASE_MS);
    expect(isAlive(a.sidecar), "a's sidecar lives on").to.equal(true);

    // Outcomes first: a write a writer reported stored was committed before the table is read.
    const outcomes = { a: readOutcomes(outcomesOf('a')), b: readOutcomes(outcomesOf('b')) };
    const stored = storedWrites(pg!);
    const refused = refusedWrites(pg!);
    const firstOfB = stored.find((w) => w.node === 'b');
    expect(firstOfB, "b's first stored write").to.not.equal(undefined);
    const afterTakeover = (w: Decided): boolean => w.attempt > firstOfB!.attempt;
    const staleRefused = refused.filter((w) => w.node === 'a' && afterTakeover(w));
    const epochs = { a: outcomes.a[0]!.epoch, b: firstOfB!.epoch };

    process.stdout.write(
      `      [measure] freeze -> b's first stored write ${takeoverMs.toFixed(0)} ms; a frozen ` +
        `${frozenMs.toFixed(0)} ms, its workload stopped ${stopMs.toFixed(0)} ms after its watchdog resumed; ` +
        `epochs a ${epochs.a} b ${epochs.b}; a attempted ${outcomes.a.length} (${ok(outcomes.a).length} stored), ` +
        `b ${outcomes.b.length} (${ok(outcomes.b).length} stored); ${staleRefused.length} of a's refused after the takeover\n`,
    );

    expectFenced({ stored, refused, outcomes, firstOfB: firstOfB!, epochs });
    expect(staleRefused.length, "a's stale writes that reached the database (else this shows nothing)").to.be.above(0);
  });
});
