/**
 * The attacks of the security issue, repeated against a pair secured by a group key (design §17.3)
 * with declared members (§17.4): a caller without the key, or with another one, forges what broke
 * the open pair before. Each is refused UNAUTHENTICATED and changes nothing: no overlap (the
 * cluster checks S1 after every test), no stop of the healthy holder, failover within its bound,
 * no member or group created.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { PeerClient } from '../../src/gen/witness/v1/Peer';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { GROUP_KEY_METADATA } from '../../src/wire/caller-credentials';
import { type Cluster, LEASE_MS, pidGone, timeline, useCluster } from '../support/cluster';
import { coldStart, FAILOVER_LIMIT_MS, steady } from '../support/cluster-steady';
import { callError, type Clients, connect, deadline, unary } from '../support/witness-process';

const KEY = 'f'.repeat(64);
const WRONG_KEY = '0'.repeat(64);
const ADMIN_TOKEN = 't'.repeat(64);

describe('attacks on a pair secured by a group key (real processes)', function () {
  this.timeout(60_000);
  let dir: string;
  let witnessArgs: string[];
  const attackers: Array<{ close(): void }> = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attacks-group-key-'));
    const secret = (name: string, value: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
      return file;
    };
    const keyFile = secret('g1.key', KEY);
    const groups = path.join(dir, 'groups.yaml');
    fs.writeFileSync(
      groups,
      `groups:\n  - group: g1\n    keyFile: ${keyFile}\n    members:\n` +
        '      - { node: a, role: primary }\n      - { node: b, role: secondary }\n',
    );
    witnessArgs = ['--groups-file', groups, '--admin-token-file', secret('admin.token', ADMIN_TOKEN)];
  });
  afterEach(() => {
    for (const a of attackers.splice(0)) a.close();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  useCluster();

  const start = (): Promise<Cluster> =>
    coldStart({ witnessArgs, groupKey: { file: path.join(dir, 'g1.key'), key: KEY } });

  /** Metadata of an attacker: no key, or the wrong one. */
  const forged = (key?: string): grpc.Metadata => {
    const metadata = new grpc.Metadata();
    if (key !== undefined) metadata.set(GROUP_KEY_METADATA, key);
    return metadata;
  };
  const witnessOf = (c: Cluster): Clients => {
    const clients = connect(`127.0.0.1:${c.ports.witness}`);
    attackers.push(clients);
    return clients;
  };
  const peerOf = (c: Cluster, node: 'a' | 'b'): PeerClient => {
    const client = new (loadWitnessProto().grpcObject.witness.v1.Peer)(
      `127.0.0.1:${c.ports[node]}`,
      grpc.credentials.createInsecure(),
    );
    attackers.push(client);
    return client;
  };
  const adminState = async (c: Cluster, group = 'g1') => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${ADMIN_TOKEN}`);
    return unary<{ holder: string; epoch: string; nodes: Array<{ node: string }> }>((cb) =>
      witnessOf(c).admin.GetGroup({ group }, metadata, deadline(), cb),
    );
  };
  const expectRefused = (error: grpc.ServiceError): void => {
    expect(error.code, error.details).to.equal(grpc.status.UNAUTHENTICATED);
    expect(error.details).to.not.include(KEY).and.not.include(WRONG_KEY);
  };

  it('refuses a forged Release in the holder’s name during a peer cut, and a forged Peer "a has stopped": b never starts', async () => {
    const c = await start();
    await steady(c);
    const { epoch } = await adminState(c);
    c.cut('a->b');
    c.cut('b->a');
    const w = witnessOf(c).witness;
    const peer = peerOf(c, 'b');
    const stopped = {
      state: {
        group: 'g1',
        node: 'a',
        role: 'ROLE_PRIMARY' as const,
        workload: 'WORKLOAD_PHASE_STOPPED' as const,
        epoch,
        knownEpoch: epoch,
        eligible: true,
      },
    };
    for (let round = 0; round < 10; round++) {
      for (const key of [undefined, WRONG_KEY]) {
        const release = { group: 'g1', node: 'a', epoch, knownEpoch: epoch };
        expectRefused(await callError(unary((cb) => w.Release(release, forged(key), deadline(), cb))));
        expectRefused(await callError(unary((cb) => peer.Heartbeat(stopped, forged(key), deadline(), cb))));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await c.holdFor(
      'a runs on, b stays stopped, the holder unchanged',
      async () => {
        const v = await c.active();
        return v.a?.active === true && v.b?.active === false && c.intervalsOf('b').length === 0;
      },
      2 * LEASE_MS,
    );
    expect((await adminState(c)).epoch).to.equal(epoch);
    // Each refusal was logged (rate-limited), and no secret reached a log line.
    const output = c.output(2000);
    expect(output).to.include('call refused');
    expect(output).to.not.include(KEY).and.not.include(WRONG_KEY).and.not.include(ADMIN_TOKEN);
  });

  it('refuses forged peer heartbeats to the healthy holder and a forged Renew under a higher epoch: a keeps running', async () => {
    const c = await start();
    await steady(c);
    const before = await adminState(c);
    const higher = (BigInt(before.epoch) + 1000n).toString();
    const peer = peerOf(c, 'a');
    const w = witnessOf(c).witness;
    const running = {
      state: {
        group: 'g1',
        node: 'b',
        role: 'ROLE_SECONDARY' as const,
        workload: 'WORKLOAD_PHASE_RUNNING' as const,
        epoch: higher,
        knownEpoch: higher,
        eligible: true,
      },
    };
    const renew = {
      group: 'g1',
      node: 'b',
      role: 'ROLE_SECONDARY' as const,
      heldEpoch: higher,
      knownEpoch: higher,
      leaseMs: 0,
    };
    for (let round = 0; round < 20; round++) {
      expectRefused(await callError(unary((cb) => peer.Heartbeat(running, forged(WRONG_KEY), deadline(), cb))));
      expectRefused(await callError(unary((cb) => w.Renew(renew, forged(), deadline(), cb))));
    }
    await c.holdFor('a keeps running under its epoch', async () => (await c.state('a'))?.active === true, 3 * LEASE_MS);
    const after = await adminState(c);
    expect(after).to.deep.include({ holder: 'a', epoch: before.epoch });
    expect(c.intervalsOf('a')).to.have.length(1);
  });

  it('refuses forged renewals of a dead holder: b takes over within the failover bound', async () => {
    const c = await start();
    await steady(c);
    const { epoch } = await adminState(c);
    const [a] = c.intervalsOf('a');
    const w = witnessOf(c).witness;
    const renew = {
      group: 'g1',
      node: 'a',
      role: 'ROLE_PRIMARY' as const,
      heldEpoch: epoch,
      knownEpoch: epoch,
      leaseMs: 0,
    };
    let refused = 0;
    let forging = true;
    const forger = (async () => {
      while (forging) {
        expectRefused(await callError(unary((cb) => w.Renew(renew, forged(WRONG_KEY), deadline(), cb))));
        refused += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const t0 = timeline();
    c.proc('a').kill('SIGKILL');
    try {
      await c.waitFor('a workload process gone', () => pidGone(a!.pid).gone, 2 * LEASE_MS);
      await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, 5000);
    } finally {
      forging = false;
      await forger;
    }
    const failover = c.intervalsOf('b')[0]!.start - t0;
    process.stdout.write(
      `      [measure] group-key pair, forged renewals (${refused} refused): failover ${failover.toFixed(0)} ms\n`,
    );
    expect(refused).to.be.greaterThan(10);
    expect(failover).to.be.below(FAILOVER_LIMIT_MS);
  });

  it('refuses fake members and fake groups, also right after a witness restart; the pair rejoins', async () => {
    const c = await start();
    await steady(c);
    const w = witnessOf(c).witness;
    const fake = (group: string, node: string) => ({
      group,
      node,
      role: 'ROLE_SECONDARY' as const,
      heldEpoch: '0',
      knownEpoch: '0',
      leaseMs: 0,
    });
    const attack = async (): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        expectRefused(
          await callError(unary((cb) => w.Renew(fake(`fake${i}`, 'x'), forged(WRONG_KEY), deadline(), cb))),
        );
      }
      expectRefused(await callError(unary((cb) => w.Renew(fake('g1', 'c'), forged(), deadline(), cb))));
      const member = await callError(unary((cb) => w.Renew(fake('g1', 'c'), forged(KEY), deadline(), cb)));
      expect(member.code).to.equal(grpc.status.PERMISSION_DENIED);
      expect(member.details).to.equal('node c is not a declared member of group g1');
    };
    await attack();
    await c.restart('witness');
    await attack();
    // A sidecar's lease from before the restart still runs: the witness's own view says who rejoined.
    await c.waitFor(
      'the pair rejoins the restarted witness',
      async () => (await adminState(c).catch(() => ({ nodes: [] }))).nodes.length === 2,
      10_000,
    );
    const status = await adminState(c);
    expect(status.nodes.map((n) => n.node).sort()).to.deep.equal(['a', 'b']);
    const listed = await unary<{ total: number }>((cb) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${ADMIN_TOKEN}`);
      witnessOf(c).admin.ListGroups({}, metadata, deadline(), cb);
    });
    expect(listed.total).to.equal(1);
    const anonymous = await callError(unary((cb) => witnessOf(c).admin.ListGroups({}, deadline(), cb)));
    expect(anonymous.code).to.equal(grpc.status.UNAUTHENTICATED);
  });
});
