/**
 * Issue 8, the witness as a new user and a careless operator meet it: a second witness on the same
 * data directory, a group file moved away, the data directory removed while running, epochs from
 * a witness whose clock is behind, a restart with a shorter lease, groups that churn, an unusable
 * data directory. Real processes on loopback ports; every wait is bounded.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { epochFloor, generationFromWallClock } from '../../src/core/epoch';
import { freePort, killAllTracked } from '../support/processes';
import {
  callError,
  calls,
  connect,
  spawnWitness,
  startWitness,
  waitUntil,
  type Clients,
  type RunningWitness,
  graceOver,
  grantToA,
  registerPair,
  GRACE_TIMEOUT_MS,
  type WitnessCalls,
} from '../support/witness-process';

const WITNESS_ARGS = ['--lease', '1s', '--default-lease', '1s'];

describe('witness hardening (issue 8, real processes)', function () {
  this.timeout(40_000);
  let dir: string;
  let dataDir: string;
  const open: Clients[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-hardening-e2e-'));
    dataDir = path.join(dir, 'data');
  });

  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(name: string, args = WITNESS_ARGS): Promise<{ w: RunningWitness; api: WitnessCalls }> {
    const w = await startWitness(dataDir, args, name);
    const clients = connect(w.address);
    open.push(clients);
    return { w, api: calls(clients) };
  }

  it('item 1: refuses a second witness on a data directory in use, naming the owner; takes over after kill -9', async () => {
    const first = await start('witness-1');
    const second = spawnWitness(dataDir, await freePort(), WITNESS_ARGS, 'witness-2');
    const exit = await second.waitForExit(10_000);
    expect(exit.code).to.equal(1);
    const output = second.output(20);
    expect(output).to.match(new RegExp(`another witness runs on this data directory \\(pid ${first.w.proc.pid} `));
    // The first one is untouched and still serving.
    expect((await first.api.healthCheck()).status).to.equal('SERVING');

    expect(first.w.proc.kill('SIGKILL')).to.equal(true);
    await first.w.proc.waitForExit(5000);
    // A lock left by a crash names a dead process: the next witness takes it over.
    const third = await start('witness-3');
    expect((await third.api.healthCheck()).status).to.equal('SERVING');
  });

  it('item 2: a group file moved away is reported at start, and the group never gets its old epochs again', async () => {
    const first = await start('witness-1');
    // The group's epochs are a day of generations ahead of the wall clock (a pair that last ran
    // under a store whose clock was ahead): a store recreated from the wall clock alone would
    // hand them out again. Only the stored generation, raised by these grants, keeps them away.
    await registerPair(first.api, 'tr');
    await graceOver(first.api, 'tr');
    const ahead = epochFloor(generationFromWallClock(Date.now() + 24 * 3600 * 1000)) + 5n;
    const firstGrant = await first.api.acquire({ group: 'tr', node: 'a', knownEpoch: String(ahead) });
    expect(firstGrant).to.include({ verdict: 'VERDICT_GRANTED', epoch: String(ahead + 1n) });
    const epochs: bigint[] = [ahead + 1n];
    // A few more grants in the group, so its epochs are well above the store's floor.
    for (let i = 0; i < 3; i += 1) {
      const answer = await first.api.release({ group: 'tr', node: 'a', epoch: String(epochs.at(-1)) });
      expect(answer.verdict).to.equal('VERDICT_RELEASED');
      const again = await first.api.acquire({ group: 'tr', node: 'a', knownEpoch: String(epochs.at(-1)) });
      expect(again.verdict).to.equal('VERDICT_GRANTED');
      epochs.push(BigInt(again.epoch));
    }
    await grantToA(first.api, 'other');
    expect(first.w.proc.kill('SIGTERM')).to.equal(true);
    expect((await first.w.proc.waitForExit(10_000)).code).to.equal(0);

    fs.renameSync(path.join(dataDir, 'groups', 'g-tr.json'), path.join(dir, 'g-tr.json.moved'));
    const second = await start('witness-2');
    const warning = await second.w.proc.waitForLine(/no record any more/, 5000, { stream: 'stdout' });
    expect(JSON.parse(warning)).to.deep.include({ level: 40, missing: ['tr'], count: 1 });
    // The group starts again from nothing and is granted anew: above every epoch it had before.
    const epoch = BigInt((await grantToA(second.api, 'tr')).epoch);
    for (const old of epochs) expect(epoch > old, `${epoch} > ${old}`).to.equal(true);
  });

  it('item 4: the data directory removed while running: grants fail, health says NOT_SERVING, the witness exits', async () => {
    const { w, api } = await start('witness-1');
    await registerPair(api, 'g');
    await graceOver(api, 'g');
    fs.rmSync(dataDir, { recursive: true, force: true });
    const failed = await callError(api.acquire({ group: 'g', node: 'a' }));
    expect(failed.code).to.equal(grpc.status.UNAVAILABLE);
    expect(failed.details).to.match(/lost the lock on the data directory/);
    // The lock check runs every second: the witness stops arbitrating and exits with status 1.
    const exit = await w.proc.waitForExit(5000);
    expect(exit.code).to.equal(1);
    expect(w.proc.output(30)).to.match(/the data directory lock is lost/);
    // A restart creates a new store there and says so.
    const again = await start('witness-2');
    const created = await again.w.proc.waitForLine(/created a new store/, 5000, { stream: 'stdout' });
    expect(JSON.parse(created)).to.include({ msg: 'created a new store in a new data directory' });
  });

  it('item 5: accepts epochs of a store generation two days ahead of its own wall clock', async () => {
    const { api } = await start('witness-1');
    const twoDaysAhead = Date.now() + 2 * 24 * 3600 * 1000;
    const epoch = epochFloor(generationFromWallClock(twoDaysAhead)) + 3n;
    const answer = await api.renew({ group: 'g', node: 'b', role: 'ROLE_SECONDARY', knownEpoch: String(epoch) });
    expect(answer.verdict).to.equal('VERDICT_ACKNOWLEDGED');
    await api.renew({ group: 'g', node: 'a', role: 'ROLE_PRIMARY' });
    await graceOver(api, 'g');
    const grant = await api.acquire({ group: 'g', node: 'b', knownEpoch: String(epoch) });
    expect(grant.verdict).to.equal('VERDICT_GRANTED');
    expect(BigInt(grant.epoch)).to.equal(epoch + 1n);
  });

  it('item 7: a restart with a shorter --lease keeps the grace of the longest lease handed out before', async () => {
    const first = await start('witness-1', ['--lease', '4s', '--default-lease', '4s']);
    await grantToA(first.api, 'g');
    expect(first.w.proc.kill('SIGKILL')).to.equal(true);
    await first.w.proc.waitForExit(5000);

    const second = await start('witness-2', ['--lease', '1s', '--default-lease', '1s']);
    // 4000*1.01 + 50 = 4090 ms, not the 1060 ms of today's --lease, plus the store lock's lease
    // (1500*1.01 ms), for a witness that held the store before and may not have noticed losing it.
    expect(second.w.listening.startupGraceMs).to.equal(4090 + 1515);
    await registerPair(second.api, 'g');
    const refused = await second.api.acquire({ group: 'g', node: 'b' });
    expect(refused).to.include({ verdict: 'VERDICT_REFUSED', reason: 'REFUSAL_REASON_STARTUP_GRACE' });
    expect(refused.retryAfterMs).to.be.greaterThan(2500);
  });

  it('item 8: forgets a released group whose nodes fell silent, file and all; the name used again gets higher epochs', async () => {
    const { api } = await start('witness-1', [...WITNESS_ARGS, '--forget-after', '1s']);
    // The nodes keep reporting in through the start-up grace, which is longer than --forget-after.
    await waitUntil(
      'start-up grace over',
      async () => {
        await registerPair(api, 'churn');
        return !(await api.getGroup('churn')).inStartupGrace;
      },
      GRACE_TIMEOUT_MS,
      200,
    );
    const granted = await api.acquire({ group: 'churn', node: 'a' });
    expect(granted.verdict).to.equal('VERDICT_GRANTED');
    const epoch = BigInt(granted.epoch);
    expect((await api.release({ group: 'churn', node: 'a', epoch: String(epoch) })).verdict).to.equal(
      'VERDICT_RELEASED',
    );
    const file = path.join(dataDir, 'groups', 'g-churn.json');
    expect(fs.existsSync(file)).to.equal(true);
    await waitUntil(
      'group forgotten',
      async () => (await callError(api.getGroup('churn')).catch(() => undefined))?.code === grpc.status.NOT_FOUND,
      5000,
      100,
    );
    expect(fs.existsSync(file)).to.equal(false);
    const storeJson = JSON.parse(fs.readFileSync(path.join(dataDir, 'store.json'), 'utf8')) as { groups: string[] };
    expect(storeJson.groups).to.not.include('churn');
    await registerPair(api, 'churn');
    const again = await api.acquire({ group: 'churn', node: 'b' });
    expect(again.verdict).to.equal('VERDICT_GRANTED');
    expect(BigInt(again.epoch) > epoch).to.equal(true);
  });

  it('item 9: an unusable data directory is a clear error at once, exit 2, naming the key', async () => {
    const proc = spawnWitness('/proc/wd', await freePort(), WITNESS_ARGS, 'witness-proc');
    const exit = await proc.waitForExit(5000);
    expect(exit.code).to.equal(2);
    expect(proc.output(10)).to.match(/dataDir \(--data-dir\): cannot create data directory \/proc\/wd/);
  });
});
