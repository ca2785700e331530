/**
 * The etcd store (src/witness/store/etcd-store.ts) against a real etcd-server: what it keeps across
 * opens, the election between replicas over one prefix, the fence that refuses a deposed leader's
 * writes, and the time a leader that cannot reach etcd stops deciding. Each test uses its own key
 * prefix on one single-member cluster started for the file.
 */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { electionLeaseEnd } from '../../src/core/lease';
import type { DurableGroup, DurableWrite } from '../../src/core/witness/types';
import { EtcdStore } from '../../src/witness/store/etcd-store';
import { LeadershipLostError } from '../../src/witness/store/etcd-leadership';
import { StoreCorruptError, StorePreconditionError, type WitnessStore } from '../../src/witness/store/witness-store';
import { storeFromConfig } from '../../src/witness/store/store-from-config';
import { etcdSettings } from '../../src/config/etcd-options';
import { loadWitnessConfig } from '../../src/config/witness-config';
import { createLogger } from '../../src/log/logger';
import { makeTestCerts, type TestCerts } from '../support/test-certs';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Range } from 'etcd3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdCluster, requireEtcd } from '../support/etcd-cluster';
import { killAllTracked } from '../support/processes';
import { rejection } from '../support/rejection';

const OPEN = { longestLeaseMs: 2_000 };
const BOUNDS = { rho: 0.01, marginMs: 50 };
const TTL_SECONDS = 2;
const first = (record: DurableGroup): DurableWrite => ({ record, expected: 'absent' });

describe('EtcdStore (real etcd-server)', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster | undefined;
  let prefixes = 0;
  let prefix = '';
  const opened: EtcdStore[] = [];

  before(async function () {
    requireEtcd(this);
    cluster = await EtcdCluster.start(1);
  });

  after(async () => {
    await cluster?.stop();
    await killAllTracked(5000);
  });

  beforeEach(() => {
    prefixes += 1;
    prefix = `/fw-test/${process.pid}/${prefixes}/`;
  });

  afterEach(async () => {
    if (cluster !== undefined) process.kill(cluster.pid(0), 'SIGCONT');
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  function store(candidate = 'replica-a:50051', events: { waiting?: string[] } = {}): EtcdStore {
    const s = new EtcdStore({
      client: (cluster as EtcdCluster).client(),
      prefix,
      candidate,
      electionTtlSeconds: TTL_SECONDS,
      bounds: BOUNDS,
      onWaiting: (leader) => events.waiting?.push(leader),
    });
    opened.push(s);
    return s;
  }

  it('creates a store under a new prefix, and a later open finds its records above their generation', async () => {
    const a = store();
    const created = await a.open(OPEN);
    expect(created.origin).to.equal('new-etcd-prefix');
    expect(created.records).to.deep.equal([]);
    const record = { group: 'g1', holder: 'n1', epoch: created.generation << 23n };
    await a.put(first(record));
    await a.close();

    const b = store();
    const reopened = await b.open({ longestLeaseMs: 1_000 });
    expect(reopened.origin).to.equal('existing');
    expect(reopened.records).to.deep.equal([record]);
    expect(reopened.generation > created.generation).to.equal(true);
    // The longer lease of the first run is kept: the grace of a run with a shorter one covers it.
    expect(reopened.longestEarlierLeaseMs).to.equal(2_000);
  });

  it('refuses a put whose precondition does not hold, and writes nothing', async () => {
    const a = store();
    const { generation } = await a.open(OPEN);
    const record = { group: 'g1', holder: 'n1', epoch: generation << 23n };
    await a.put(first(record));
    const stale = { record: { ...record, holder: 'n2', epoch: record.epoch + 1n }, expected: 'absent' as const };
    expect(await rejection(a.put(stale))).to.be.instanceOf(StorePreconditionError);
    await a.close();
    const b = store();
    expect((await b.open(OPEN)).records).to.deep.equal([record]);
  });

  it('elects one replica: the second waits, naming the leader, and is elected as soon as the first resigns', async () => {
    const a = store('replica-a:50051');
    const { generation } = await a.open(OPEN);
    const record = { group: 'g1', holder: 'n1', epoch: generation << 23n };
    await a.put(first(record));
    const waiting: string[] = [];
    const b = store('replica-b:50051', { waiting });
    let elected = false;
    const opening = b.open(OPEN).then((contents) => {
      elected = true;
      return contents;
    });
    await sleep(1_000);
    expect(elected).to.equal(false);
    expect(waiting).to.deep.equal(['replica-a:50051']);
    const resignedAt = performance.now();
    await a.close();
    const contents = await opening;
    // Revoking the lease deletes the election key: no TTL to wait out, one campaign retry at most.
    expect(performance.now() - resignedAt).to.be.below(1_000);
    expect(contents.records).to.deep.equal([record]);
    expect(b.mayDecide(performance.now())).to.equal(true);
  });

  it('fences a deposed leader: its writes fail, it may not decide, and the new leader sees none of them', async () => {
    const a = store('replica-a:50051');
    const { generation } = await a.open(OPEN);
    const record = { group: 'g1', holder: 'n1', epoch: generation << 23n };
    await a.put(first(record));
    // As if a's election lease had run out in etcd while a was paused: the key goes, b is elected.
    const client = (cluster as EtcdCluster).client();
    try {
      await client.delete().key(`${prefix}leader`);
    } finally {
      client.close();
    }
    const b = store('replica-b:50051');
    await b.open(OPEN);
    const write = { record: { ...record, holder: 'n2', epoch: record.epoch + 1n }, expected: record };
    expect(await rejection(a.put(write))).to.be.instanceOf(LeadershipLostError);
    expect(a.mayDecide(performance.now())).to.equal(false);
    expect(() => a.confirmHold()).to.throw(LeadershipLostError);
    await b.close();
    const c = store('replica-c:50051');
    expect((await c.open(OPEN)).records).to.deep.equal([record]);
  });

  it('stops deciding before its election lease can run out when etcd does not answer (etcd frozen)', async () => {
    const a = store();
    await a.open(OPEN);
    await sleep(500);
    const frozenAt = performance.now();
    process.kill((cluster as EtcdCluster).pid(0), 'SIGSTOP');
    // The last keep-alive etcd answered was sent before the freeze: the bound counts from it.
    const bound = electionLeaseEnd(frozenAt, TTL_SECONDS * 1000, BOUNDS);
    let stoppedAt: number | undefined;
    while (performance.now() < bound + 500) {
      if (!a.mayDecide(performance.now())) {
        stoppedAt = performance.now();
        break;
      }
      await sleep(10);
    }
    process.kill((cluster as EtcdCluster).pid(0), 'SIGCONT');
    expect(stoppedAt, 'the leader stopped deciding').to.not.equal(undefined);
    expect(stoppedAt as number).to.be.at.most(bound);
    // Keep-alives stop at most one interval before the freeze: it decided for most of the lease.
    expect(stoppedAt as number).to.be.above(frozenAt + TTL_SECONDS * 1000 * 0.6);
  });

  it('refuses to open over a corrupt group record, naming its key', async () => {
    const a = store();
    await a.open(OPEN);
    await a.close();
    const client = (cluster as EtcdCluster).client();
    try {
      await client.put(`${prefix}groups/g1`).value('{"group":"g1"');
    } finally {
      client.close();
    }
    const error = await rejection(store().open(OPEN));
    expect(error).to.be.instanceOf(StoreCorruptError);
    expect(error.message).to.contain(`etcd ${prefix}groups/g1`);
  });

  it('keeps deployments under different prefixes apart: each elects its own leader', async () => {
    const a = store('replica-a:50051');
    await a.open(OPEN);
    prefix = `${prefix}other/`;
    const b = store('replica-b:50051');
    const contents = await b.open(OPEN);
    expect(contents.origin).to.equal('new-etcd-prefix');
    const now = performance.now();
    expect([a.mayDecide(now), b.mayDecide(now)]).to.deep.equal([true, true]);
  });
});

describe('EtcdStore as witness serve configures it, over TLS with client certificates (real etcd-server)', function () {
  this.timeout(60_000);
  let dir = '';
  let cluster: EtcdCluster | undefined;
  let certs: TestCerts;
  const opened: WitnessStore[] = [];

  before(async function () {
    requireEtcd(this);
    dir = await mkdtemp(join(tmpdir(), 'etcd-tls-'));
    certs = makeTestCerts(join(dir, 'certs'));
    // The witness certificate names 127.0.0.1: etcd serves it and trusts client certificates of the CA.
    cluster = await EtcdCluster.start(1, { cert: certs.witness.cert, key: certs.witness.key, ca: certs.ca });
  });

  after(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await cluster?.stop();
    await killAllTracked(5000);
    await rm(dir, { recursive: true, force: true });
  });

  function configured(extra: string[]): WitnessStore {
    const argv = ['--store', 'etcd', '--etcd-endpoints', (cluster as EtcdCluster).endpoints().join(','), ...extra];
    const config = loadWitnessConfig(argv, { WITNESS_GROUPS_FILE: '/etc/failover-witness/groups.yaml' });
    const etcd = etcdSettings(config);
    const choice = { dataDir: dir, etcd, advertise: '127.0.0.1:50051', bounds: BOUNDS, onLeader: () => undefined };
    const store = storeFromConfig(choice, createLogger('witness', 'fatal'), () => performance.now());
    opened.push(store);
    return store;
  }

  it('opens, writes and reopens a store over https with a client certificate', async () => {
    const node = certs.node('g1', 'a');
    const tls = ['--etcd-ca', certs.ca, '--etcd-cert', node.cert, '--etcd-key', node.key, '--etcd-prefix', '/tls/'];
    const a = configured(tls);
    const { generation } = await a.open(OPEN);
    const record = { group: 'g1', holder: 'a', epoch: generation << 23n };
    await a.put(first(record));
    await a.close();
    const b = configured(tls);
    expect((await b.open(OPEN)).records).to.deep.equal([record]);
  });

  it('is refused by etcd without a client certificate: the candidate keeps trying and never leads', async () => {
    const a = configured(['--etcd-ca', certs.ca, '--etcd-prefix', '/tls-no-cert/']);
    let elected = false;
    void a.open(OPEN).then(
      () => {
        elected = true;
      },
      () => undefined,
    );
    await sleep(2_000);
    expect(elected).to.equal(false);
    expect(a.mayDecide(performance.now())).to.equal(false);
  });
});

describe('EtcdStore as witness serve configures it, with an etcd user and password (real etcd-server)', function () {
  this.timeout(60_000);
  let dir = '';
  let cluster: EtcdCluster | undefined;
  const opened: WitnessStore[] = [];
  const PREFIX = '/auth-test/';

  before(async function () {
    requireEtcd(this);
    dir = await mkdtemp(join(tmpdir(), 'etcd-auth-'));
    cluster = await EtcdCluster.start(1);
    // etcd's own set-up: a root user, a witness user allowed only the deployment's prefix, auth on.
    const admin = cluster.client();
    try {
      await admin.user('root').create('root-password-for-the-test');
      await admin.user('root').addRole('root');
      await admin.role('witness').create();
      await admin.role('witness').grant({ permission: 'Readwrite', range: Range.prefix(PREFIX) });
      await admin.user('witness').create('correct horse battery staple');
      await admin.user('witness').addRole('witness');
      await admin.auth.authEnable();
    } finally {
      admin.close();
    }
  });

  after(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await cluster?.stop();
    await killAllTracked(5000);
    await rm(dir, { recursive: true, force: true });
  });

  function configured(password: string, prefix = PREFIX): WitnessStore {
    const file = join(dir, `password-${opened.length}`);
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const argv = [
      ...['--store', 'etcd', '--etcd-endpoints', (cluster as EtcdCluster).endpoints().join(',')],
      ...['--etcd-user', 'witness', '--etcd-password-file', file, '--etcd-prefix', prefix],
    ];
    const config = loadWitnessConfig(argv, { WITNESS_GROUPS_FILE: '/etc/failover-witness/groups.yaml' });
    const choice = {
      dataDir: dir,
      etcd: etcdSettings(config),
      advertise: '127.0.0.1:50051',
      bounds: BOUNDS,
      onLeader: () => undefined,
    };
    const store = storeFromConfig(choice, createLogger('witness', 'fatal'), () => performance.now());
    opened.push(store);
    return store;
  }

  it('leads, writes and reopens with the password; never with a wrong one or outside its prefix', async () => {
    const a = configured('correct horse battery staple');
    const { generation } = await a.open(OPEN);
    const record = { group: 'g1', holder: 'a', epoch: generation << 23n };
    await a.put(first(record));
    await a.close();
    expect((await configured('correct horse battery staple').open(OPEN)).records).to.deep.equal([record]);
    for (const store of [configured('wrong password'), configured('correct horse battery staple', '/elsewhere/')]) {
      let elected = false;
      void store.open(OPEN).then(
        () => {
          elected = true;
        },
        () => undefined,
      );
      await sleep(1_500);
      expect(elected).to.equal(false);
    }
  });
});
