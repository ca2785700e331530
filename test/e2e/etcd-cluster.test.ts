/**
 * The real etcd the etcd store's tests run against (test/support/etcd-cluster.ts): a three-member
 * cluster on loopback ports, with their own data directories, keeps serving writes with one member
 * killed, takes the member back over its data, and its members are gone by PID afterwards.
 */
import { expect } from 'chai';
import { EtcdCluster, requireEtcd } from '../support/etcd-cluster';
import { killAllTracked } from '../support/processes';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('etcd for the tests (real etcd-server processes)', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster | undefined;

  before(function () {
    requireEtcd(this);
  });

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await killAllTracked(5000);
  });

  it('a three-member cluster serves writes, keeps doing so with a member killed, and stops by PID', async () => {
    cluster = await EtcdCluster.start(3);
    const pids = [0, 1, 2].map((i) => (cluster as EtcdCluster).pid(i));
    const client = cluster.client();
    try {
      await client.put('fw/test/a').value('1');
      expect(await client.get('fw/test/a').string()).to.equal('1');

      await cluster.kill(0);
      expect(alive(pids[0] as number)).to.equal(false);
      // Two of three members are a quorum: the write commits through the others.
      await client.put('fw/test/b').value('2');
      expect(await client.get('fw/test/b').string()).to.equal('2');

      await cluster.restart(0);
      await client.put('fw/test/c').value('3');
      expect(await client.getAll().prefix('fw/test/').strings()).to.deep.equal({
        'fw/test/a': '1',
        'fw/test/b': '2',
        'fw/test/c': '3',
      });
    } finally {
      client.close();
    }
    const running = [0, 1, 2].map((i) => (cluster as EtcdCluster).pid(i));
    await cluster.stop();
    cluster = undefined;
    for (const pid of [...pids, ...running]) expect(alive(pid), `etcd pid ${pid}`).to.equal(false);
  });
});
