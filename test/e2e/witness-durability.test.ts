/**
 * The witness's store across crashes: `kill -9` right after a grant, a corrupt group file, a wiped
 * data directory. Real processes on loopback ports; every wait is bounded.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { freePort, killAllTracked } from '../support/processes';
import {
  callError,
  calls,
  connect,
  spawnWitness,
  startWitness,
  type Clients,
  type RunningWitness,
  graceOver,
  grantToA,
} from '../support/witness-process';

/** Grace after a (re)start: lease*(1+drift)+margin = 1000*1.01+50 = 1060 ms. */
const WITNESS_ARGS = ['--lease', '1s', '--default-lease', '1s'];
const MAX_EPOCH = (1n << 63n) - 1n;

describe('witness store durability (real process, kill -9, restart)', function () {
  this.timeout(40_000);
  let dir: string;
  let dataDir: string;
  const open: Clients[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-durability-e2e-'));
    dataDir = path.join(dir, 'data');
  });

  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(name: string): Promise<{ w: RunningWitness; api: ReturnType<typeof calls> }> {
    const w = await startWitness(dataDir, WITNESS_ARGS, name);
    const clients = connect(w.address);
    open.push(clients);
    return { w, api: calls(clients) };
  }

  async function kill9(w: RunningWitness): Promise<void> {
    expect(w.proc.kill('SIGKILL')).to.equal(true);
    expect(await w.proc.waitForExit(5000)).to.deep.equal({ code: null, signal: 'SIGKILL' });
  }

  it('kill -9 right after a grant, restart: same holder and epoch; after the grace the peer gets a higher epoch', async () => {
    const first = await start('witness-1');
    const granted = await grantToA(first.api, 'g1');
    await kill9(first.w);

    const second = await start('witness-2');
    expect(second.w.listening.groups).to.equal(1);
    const status = await second.api.getGroup('g1');
    expect(status).to.include({ group: 'g1', holder: 'a', epoch: granted.epoch });

    // Right after the restart nothing new is granted: the recorded holder may still be running.
    await second.api.renew({ group: 'g1', node: 'b', role: 'ROLE_SECONDARY', knownEpoch: granted.epoch });
    const early = await second.api.acquire({ group: 'g1', node: 'b', knownEpoch: granted.epoch });
    expect(early).to.include({
      verdict: 'VERDICT_REFUSED',
      reason: 'REFUSAL_REASON_STARTUP_GRACE',
      holder: 'a',
      epoch: granted.epoch,
    });

    // Nobody renews "a": once the grace is over its lease has run out at the witness.
    await graceOver(second.api, 'g1');
    const taken = await second.api.acquire({ group: 'g1', node: 'b', knownEpoch: granted.epoch });
    expect(taken).to.include({ verdict: 'VERDICT_GRANTED', holder: 'b' });
    expect(BigInt(taken.epoch) > BigInt(granted.epoch), `${taken.epoch} > ${granted.epoch}`).to.equal(true);

    // That grant survives a kill -9 as well.
    await kill9(second.w);
    const third = await start('witness-3');
    expect(await third.api.getGroup('g1')).to.include({ holder: 'b', epoch: taken.epoch });
  });

  it('a truncated group file: the restart exits non-zero naming the file', async () => {
    const first = await start('witness-1');
    await grantToA(first.api, 'g1');
    await kill9(first.w);

    const file = path.join(dataDir, 'groups', 'g-g1.json');
    expect(fs.existsSync(file), `${file} exists`).to.equal(true);
    const size = fs.statSync(file).size;
    for (const length of [Math.floor(size / 2), 0]) {
      fs.truncateSync(file, length);
      const port = await freePort();
      const proc = spawnWitness(dataDir, port, WITNESS_ARGS, `witness-truncated-${length}`);
      const exit = await proc.waitForExit(10_000);
      const output = [...proc.stdoutLines, ...proc.stderrLines].join('\n');
      expect(exit.code, proc.output()).to.be.a('number').and.not.equal(0);
      expect(output).to.include(file);
      expect(output).to.match(/corrupt/);
      expect(output).not.to.match(/witness listening/);
    }
    // Nothing was reset behind the operator's back.
    expect(fs.readFileSync(file, 'utf8')).to.equal('');
    expect(fs.existsSync(path.join(dataDir, 'store.json'))).to.equal(true);
  });

  it('a wiped data dir never hands out an epoch at or below one granted before, even to a caller reporting known_epoch 0', async () => {
    const first = await start('witness-1');
    const granted = await grantToA(first.api, 'g1');
    const before = BigInt(granted.epoch);
    await kill9(first.w);

    fs.rmSync(dataDir, { recursive: true, force: true });
    const second = await start('witness-2');
    expect(second.w.listening.groups).to.equal(0);
    expect(Number(BigInt(second.w.listening.generation as string))).to.be.greaterThan(
      Number(BigInt(first.w.listening.generation as string)),
    );
    const gone = await callError(second.api.getGroup('g1'));
    expect(gone.code).to.equal(grpc.status.NOT_FOUND);

    // Both nodes come back knowing nothing (known_epoch 0); "b" asks once the grace is over.
    await second.api.renew({ group: 'g1', node: 'a', role: 'ROLE_PRIMARY' });
    await second.api.renew({ group: 'g1', node: 'b', role: 'ROLE_SECONDARY' });
    await graceOver(second.api, 'g1');
    const taken = await second.api.acquire({ group: 'g1', node: 'b', knownEpoch: '0' });
    expect(taken).to.include({ verdict: 'VERDICT_GRANTED', holder: 'b' });
    const after = BigInt(taken.epoch);
    expect(after > before, `${after} > ${before}`).to.equal(true);
    expect(after <= MAX_EPOCH).to.equal(true);

    // And the next grant after that is higher still.
    const released = await second.api.release({ group: 'g1', node: 'b', epoch: taken.epoch });
    expect(released.verdict).to.equal('VERDICT_RELEASED');
    const again = await second.api.acquire({ group: 'g1', node: 'a', knownEpoch: '0' });
    expect(again.verdict).to.equal('VERDICT_GRANTED');
    expect(BigInt(again.epoch) > after).to.equal(true);
  });
});
