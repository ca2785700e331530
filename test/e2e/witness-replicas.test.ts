/**
 * Witness replicas over a real three-member etcd cluster (design §20, issue 12): one replica leads
 * and listens, the others wait to be elected; a pair's sidecars list every replica. The leader is
 * killed (SIGKILL), then the next one is stopped for a restart (SIGTERM), and the primary's
 * workload runs through both without a stop, the secondary's never starts (useCluster's afterEach
 * also checks that no two run intervals overlap, S1).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Cluster, listenPort, useCluster } from '../support/cluster';
import { EtcdCluster, requireEtcd } from '../support/etcd-cluster';
import { type TrackedProcess } from '../support/processes';
import { callError, calls, connect, spawnWitness } from '../support/witness-process';

/** How long a replica may take to be elected and listen once the leader is gone (TTL 2 s + load). */
const ELECTED_WITHIN_MS = 8_000;

describe('witness replicas over etcd (real etcd-server, real processes)', function () {
  this.timeout(120_000);
  let etcd: EtcdCluster | undefined;
  useCluster();

  before(function () {
    requireEtcd(this);
  });

  afterEach(async () => {
    await etcd?.stop();
    etcd = undefined;
  });

  it('a killed leader and a restarted one are replaced with no stop of the running workload', async () => {
    etcd = await EtcdCluster.start(3);
    const storeArgs = ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints().join(','), '--etcd-prefix', '/ha-test/'];
    const leaseArgs = ['--lease', '1000ms', '--default-lease', '1000ms'];
    const replicaPorts = [await listenPort(), await listenPort()];
    const replicaAddress = (i: number): string => `127.0.0.1:${replicaPorts[i] as number}`;
    const cluster = await Cluster.start({
      witnessArgs: ['--open-registration', ...storeArgs],
      witnessReplicas: [replicaAddress(0), replicaAddress(1)],
    });
    const spawnReplica = (i: number): TrackedProcess => {
      const dir = fs.mkdtempSync(`${cluster.dir}/replica-`);
      return spawnWitness(dir, replicaPorts[i] as number, [...storeArgs, ...leaseArgs], `replica ${i}`);
    };

    await cluster.waitFor('a runs', async () => (await cluster.active()).active.includes('a'), 10_000);
    await cluster.waitFor("a's workload logs its start", () => cluster.intervalsOf('a').length === 1, 5_000);

    // The second replica waits: the first leads, so it refuses every call, naming the leader.
    const second = spawnReplica(0);
    await second.waitForLine(/not leading: the witness replica at .* leads/, 10_000, { stream: 'stdout' });
    expect(second.output(50)).to.not.match(/"msg":"witness listening"/);
    const follower = connect(replicaAddress(0));
    try {
      const refused = await callError(calls(follower).getGroup('g1'));
      const leader = `127.0.0.1:${cluster.ports.witness}`;
      expect(refused.code).to.equal(grpc.status.UNAVAILABLE);
      expect(refused.details).to.equal(`this witness replica does not lead: the leader is at ${leader}`);
      expect(refused.metadata.get('witness-leader')).to.deep.equal([leader]);
      expect((await calls(follower).healthCheck()).status).to.equal('NOT_SERVING');
    } finally {
      follower.close();
    }

    const holderIsA = async (address: string): Promise<void> => {
      const api = connect(address);
      const holder = async (): Promise<string | undefined> =>
        (
          await calls(api)
            .getGroup('g1')
            .catch(() => undefined)
        )?.holder;
      try {
        await cluster.waitFor(
          `the leader at ${address} records a as the holder`,
          async () => (await holder()) === 'a',
          5_000,
        );
      } finally {
        api.close();
      }
    };

    await cluster.kill('witness');
    const killedAt = performance.now();
    await second.waitForLine(/"msg":"witness listening"/, ELECTED_WITHIN_MS, { stream: 'stdout' });
    const electedAfterMs = performance.now() - killedAt;
    // The new leader loaded the holder and renews it: a's workload is recorded as running.
    await holderIsA(replicaAddress(0));

    // A rolling restart: a third replica waits, the leader is stopped cleanly and resigns.
    const third = spawnReplica(1);
    await third.waitForLine(/not leading: the witness replica at .* leads/, 10_000, { stream: 'stdout' });
    const stoppedAt = performance.now();
    second.kill('SIGTERM');
    await third.waitForLine(/"msg":"witness listening"/, ELECTED_WITHIN_MS, { stream: 'stdout' });
    // It resigned (revoked its election lease): no TTL to wait out.
    const resignedHandOverMs = performance.now() - stoppedAt;
    expect(resignedHandOverMs, 'election after a clean stop').to.be.below(2_000);
    expect((await second.exited).code).to.equal(0);
    await holderIsA(replicaAddress(1));
    // Two more leases at the third leader: a still runs the workload it started first.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(cluster.intervalsOf('a')).to.have.length(1);
    expect(cluster.openIntervals().map((i) => i.node)).to.deep.equal(['a']);
    expect(cluster.intervalsOf('b')).to.have.length(0);
    process.stdout.write(
      `      elected ${Math.round(electedAfterMs)} ms after the leader was killed, ` +
        `${Math.round(resignedHandOverMs)} ms after it was stopped\n`,
    );
  });
});
