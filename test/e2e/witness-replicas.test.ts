/**
 * Witness replicas over a real three-member etcd cluster (design §20, issue 12), with real sidecars
 * and workloads: one replica leads, the others refuse naming it; a rolling restart of every replica
 * while two pairs run stops no workload and grants nothing twice; a leader killed in the middle of
 * a failover leaves the takeover to a surviving replica; the etcd cluster's own leader can die; and
 * a leader cut off from etcd (but not from the sidecars) stops answering before another replica
 * can be elected, while the workload runs on its peer lease. useCluster's afterEach checks that no
 * two run intervals of the last pair overlap (S1); the tests check the others' themselves.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { performance } from 'node:perf_hooks';
import { Cluster, useCluster } from '../support/cluster';
import { EtcdCluster, requireEtcd } from '../support/etcd-cluster';
import { callError, calls, connect, spawnWitness } from '../support/witness-process';
import { WitnessReplicas } from '../support/witness-replicas';

const LEASE_MS = 1_000;
/** A workload seen running, tick after tick, with no hole longer than this: it never stopped. */
const MAX_TICK_GAP_MS = 300;
/** A replica elected after a leader died: the election TTL (2 s) and a campaign retry, with room for a loaded machine. */
const ELECTED_WITHIN_MS = 8_000;

describe('witness replicas over etcd (real etcd-server, real processes)', function () {
  this.timeout(120_000);
  let etcd: EtcdCluster | undefined;
  let replicas: WitnessReplicas | undefined;
  const extraPairs: Cluster[] = [];
  useCluster();

  before(function () {
    requireEtcd(this);
  });

  afterEach(async () => {
    for (const pair of extraPairs.splice(0)) await pair.teardown();
    await replicas?.close();
    replicas = undefined;
    await etcd?.stop();
    etcd = undefined;
  });

  async function start(count: number, proxied: readonly number[] = []): Promise<WitnessReplicas> {
    etcd = await EtcdCluster.start(3);
    replicas = await WitnessReplicas.create(etcd, count, { leaseMs: LEASE_MS, prefix: '/ha-test/', proxied });
    // The first replica started leads; the others wait as candidates.
    for (let i = 0; i < count; i += 1) await replicas.start(i);
    expect(await replicas.leader()).to.equal(0);
    return replicas;
  }

  async function pair(group: string, set: WitnessReplicas): Promise<Cluster> {
    const cluster = await Cluster.start({ group, witnessEndpoints: set.addresses(), leaseMs: LEASE_MS });
    await cluster.waitFor(`${group}: a runs`, () => cluster.intervalsOf('a').length === 1, 15_000);
    return cluster;
  }

  /** The pair's workload ran on node a all along: one run, never seen to stop, and b never ran. */
  function ranThroughout(cluster: Cluster, what: string): void {
    const [run, ...more] = cluster.intervalsOf('a');
    expect(more, `${what}: a started again`).to.deep.equal([]);
    expect(
      cluster.openIntervals().map((i) => i.node),
      `${what}: a runs`,
    ).to.deep.equal(['a']);
    expect(run?.maxGapMs, `${what}: the longest hole in a's ticks`).to.be.at.most(MAX_TICK_GAP_MS);
    expect(cluster.intervalsOf('b'), `${what}: b never ran`).to.deep.equal([]);
    cluster.assertNoOverlaps();
  }

  async function waitForLeader(set: WitnessReplicas, cluster: Cluster, not: number): Promise<number> {
    let leader: number | undefined;
    await cluster.waitFor(
      `a replica other than ${not} leads`,
      async () => {
        leader = await set.leader();
        return leader !== undefined && leader !== not;
      },
      ELECTED_WITHIN_MS,
    );
    return leader as number;
  }

  it('moving from the embedded store to etcd: a replica on the old address adopts the running holder', async () => {
    etcd = await EtcdCluster.start(1);
    const cluster = await Cluster.start({ leaseMs: LEASE_MS });
    await cluster.waitFor('a runs', () => cluster.intervalsOf('a').length === 1, 15_000);
    // The README's procedure: stop the file-store witness, start a replica over an empty prefix on its address.
    await cluster.kill('witness');
    const replica = spawnWitness(
      `${cluster.dir}/replica`,
      cluster.ports.witness,
      [
        ...['--store', 'etcd', '--etcd-endpoints', etcd.endpoints().join(','), '--etcd-prefix', '/migrated/'],
        ...['--lease', `${LEASE_MS}ms`, '--default-lease', `${LEASE_MS}ms`],
      ],
      'replica',
    );
    await replica.waitForLine(/"msg":"witness listening"/, 15_000, { stream: 'stdout' });
    const clients = connect(`127.0.0.1:${cluster.ports.witness}`);
    try {
      await cluster.waitFor(
        'the replica adopts a',
        async () =>
          (
            await calls(clients)
              .getGroup('g1')
              .catch(() => undefined)
          )?.holder === 'a',
        10_000,
      );
    } finally {
      clients.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_MS));
    ranThroughout(cluster, 'after the move to etcd');
    expect(replica.stdoutLines.filter((line) => /"event":"granted"/.test(line))).to.deep.equal([]);
  });

  it('a replica that does not lead refuses every call, naming the leader', async () => {
    const set = await start(2);
    const follower = connect(set.addresses()[1] as string);
    try {
      const refused = await callError(calls(follower).getGroup('g1'));
      const leader = set.addresses()[0] as string;
      expect(refused.code).to.equal(grpc.status.UNAVAILABLE);
      expect(refused.details).to.equal(`this witness replica does not lead: the leader is at ${leader}`);
      expect(refused.metadata.get('witness-leader')).to.deep.equal([leader]);
      expect((await calls(follower).healthCheck()).status).to.equal('NOT_SERVING');
    } finally {
      follower.close();
    }
  });

  it('a rolling restart of every replica while two pairs run stops no workload and grants nothing twice', async () => {
    const set = await start(3);
    extraPairs.push(await pair('g2', set));
    const main = await pair('g1', set);
    const pairs = [main, ...extraPairs];
    const handOvers: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const leader = await set.leader();
      const stoppedAt = performance.now();
      expect(await set.stop(i, 'SIGTERM'), `replica ${i} exits cleanly`).to.equal(0);
      if (leader === i) {
        // It resigned: the next replica is elected without waiting out the election TTL.
        await waitForLeader(set, main, i);
        handOvers.push(performance.now() - stoppedAt);
      }
      await set.start(i);
      // A lease or two at the new leader before the next restart.
      await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_MS));
    }
    for (const cluster of pairs) ranThroughout(cluster, cluster.options.group);
    // Each group was granted once, at the start: no failover, no second grant by a new leader.
    expect([set.grants('g1'), set.grants('g2')], set.output(50)).to.deep.equal([1, 1]);
    expect(handOvers, 'leader changes').to.have.length.at.least(1);
    for (const ms of handOvers) expect(ms, 'a resigning leader is replaced at once').to.be.below(2_000);
    process.stdout.write(
      `      leader replaced ${handOvers.map((ms) => `${Math.round(ms)} ms`).join(', ')} after SIGTERM\n`,
    );
  });

  it('a leader killed in the middle of a failover leaves the takeover to a surviving replica', async () => {
    const set = await start(2);
    const cluster = await pair('g1', set);
    await cluster.kill('a');
    await set.stop(0, 'SIGKILL');
    const killedAt = performance.now();
    await cluster.waitFor('b runs', () => cluster.openIntervals().some((i) => i.node === 'b'), 20_000);
    expect(await set.leader()).to.equal(1);
    const [aRun] = cluster.intervalsOf('a');
    const [bRun] = cluster.intervalsOf('b');
    expect(bRun?.start, 'b starts after a stopped').to.be.above(aRun?.end as number);
    process.stdout.write(`      b ran ${Math.round(performance.now() - killedAt)} ms after the leader was killed\n`);
  });

  it('the etcd cluster losing its own leader stops no workload', async () => {
    const set = await start(2);
    const cluster = await pair('g1', set);
    const etcdLeader = await etcdLeaderIndex(etcd as EtcdCluster);
    await (etcd as EtcdCluster).kill(etcdLeader);
    // etcd elects another leader among the two left (about a second) and renews every lease then.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    ranThroughout(cluster, 'etcd leader killed');
    expect(set.grants('g1')).to.equal(1);
    expect(await set.leader()).to.not.equal(undefined);
  });

  it('a leader cut off from etcd stops answering before another is elected; the workload runs on its peer lease', async () => {
    const set = await start(2, [0]);
    const cluster = await pair('g1', set);
    const cutAt = Date.now();
    for (const proxy of set.etcdPaths(0)) proxy.setMode('blackhole');
    await cluster.waitFor(
      'replica 1 leads',
      async () => {
        const [first, second] = [await set.serving(0), await set.serving(1)];
        // Never both: the first must have stopped by the time the second serves.
        expect(first && second, 'both replicas serve').to.equal(false);
        return second;
      },
      ELECTED_WITHIN_MS,
    );
    // When each happened, by the replicas' own log lines (wall clock, one machine). A replica
    // answers health the moment it listens and logs it just after: the line can still be in the
    // pipe when the answer is in, so wait for it (its time field, not its arrival, is what counts).
    const at = async (i: number, msg: RegExp): Promise<number> =>
      (JSON.parse(await set.proc(i).waitForLine(msg, 2_000, { stream: 'stdout' })) as { time: number }).time;
    const stoppedAt = (await at(0, /could not be confirmed in time: deciding nothing/)) - cutAt;
    const electedAt = (await at(1, /"msg":"witness listening"/)) - cutAt;
    // Its bound: TTL(1-rho)/(1+rho) - margin after its last answered keep-alive, sent before the cut.
    expect(stoppedAt, 'stopped deciding within its election lease').to.be.below(2_000);
    expect(electedAt, 'replica 1 elected after replica 0 stopped').to.be.above(stoppedAt);
    await cluster.waitFor('the new leader renews a', async () => (await holderAt(set, 1)) === 'a', 5_000);
    // The old leader learns its lease is gone once it reaches etcd again, and exits for a restart.
    for (const proxy of set.etcdPaths(0)) proxy.setMode('pass');
    const exit = await set.proc(0).waitForExit(10_000);
    expect(exit.code).to.equal(1);
    ranThroughout(cluster, 'leader cut off from etcd');
    expect(set.grants('g1')).to.equal(1);
    process.stdout.write(
      `      stopped ${Math.round(stoppedAt)} ms after the cut, replica 1 listening ${Math.round(electedAt)} ms after it\n`,
    );
  });
});

/** The member etcd names as its leader, by index. */
async function etcdLeaderIndex(cluster: EtcdCluster): Promise<number> {
  const endpoints = cluster.endpoints();
  for (let i = 0; i < endpoints.length; i += 1) {
    const client = new Etcd3({ hosts: [endpoints[i] as string], dialTimeout: 2_000 });
    try {
      const status = await client.maintenance.status();
      if (status.leader === status.header.member_id) return i;
    } finally {
      client.close();
    }
  }
  throw new Error('no etcd member says it leads');
}

async function holderAt(set: WitnessReplicas, i: number): Promise<string | undefined> {
  const clients = connect(set.addresses()[i] as string);
  try {
    return (
      await calls(clients)
        .getGroup('g1')
        .catch(() => undefined)
    )?.holder;
  } finally {
    clients.close();
  }
}
