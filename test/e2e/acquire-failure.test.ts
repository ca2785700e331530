/**
 * How a failed Acquire is told apart over real gRPC (design §8.4): a refusal the witness gives
 * before deciding (an unknown group from a real `witness serve`, a replica that does not lead)
 * comes back `undecided`, so the sidecar may ask again a heartbeat later; a refused connection and
 * a passed deadline may hide a grant and do not.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AcquireFailure } from '../../src/core/sidecar/types';
import { linkSecurity } from '../../src/sidecar/link-security';
import { monotonicNowMs } from '../../src/sidecar/monotonic-clock';
import { WitnessEndpoints } from '../../src/sidecar/witness-endpoints';
import { acquireFailureOf, WitnessLink } from '../../src/sidecar/witness-link';
import { FollowerServer } from '../../src/witness/follower-server';
import { freePort, killAllTracked } from '../support/processes';
import { startWitness } from '../support/witness-process';

const DEADLINE_MS = 400;

/** One Acquire from a fresh link to `address`: the failure it reports, or 'answered'. */
function acquireOnce(address: string, group: string): Promise<AcquireFailure | 'answered'> {
  const endpoints = new WitnessEndpoints([{ address, zone: '' }], '', 60_000, monotonicNowMs());
  const link = new WitnessLink(
    endpoints,
    { group, node: 'p', role: 'ROLE_PRIMARY' },
    DEADLINE_MS,
    200,
    linkSecurity(undefined),
  );
  return new Promise((resolve) => {
    link.acquire(0n, 1000, DEADLINE_MS, (answer, error) => {
      link.close();
      resolve(answer !== undefined ? 'answered' : acquireFailureOf(error));
    });
  });
}

describe('a failed Acquire, told apart by its status (real gRPC on loopback)', function () {
  this.timeout(30_000);
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await killAllTracked();
  });

  it('a witness that has no record of the group (restarted without it) decided nothing: undecided', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acquire-failure-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const witness = await startWitness(path.join(dir, 'data'), ['--lease', '500ms', '--default-lease', '500ms']);
    expect(await acquireOnce(witness.address, 'never-heard-of')).to.equal('undecided');
  });

  it('a replica that does not lead (UNAVAILABLE naming the leader) decided nothing: undecided', async () => {
    const follower = new FollowerServer(undefined);
    cleanups.push(() => follower.shutdown());
    const port = await follower.listen('127.0.0.1:0');
    follower.setLeader('127.0.0.1:1');
    expect(await acquireOnce(`127.0.0.1:${port}`, 'g')).to.equal('undecided');
  });

  it('a refused connection may follow a decision (a reset after the write): failed, still in flight', async () => {
    const port = await freePort();
    expect(await acquireOnce(`127.0.0.1:${port}`, 'g')).to.equal('failed');
  });

  it('a witness that accepts and never answers: timed-out, still in flight', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    expect(await acquireOnce(`127.0.0.1:${port}`, 'g')).to.equal('timed-out');
  });
});
