/**
 * A workload given as hooks (--start-cmd, --stop-cmd, --status-cmd) instead of a command: real
 * witness and sidecar processes; the "service" is a file each hook creates, removes or tests.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, killAllTracked, spawnNode, type TrackedProcess } from '../support/processes';
import { cleanEnv, startWitness, waitUntil, WITNESS_MAIN } from '../support/witness-process';

const LEASE = '1s';

describe('sidecar with --start-cmd / --stop-cmd / --status-cmd', function () {
  this.timeout(40_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hooks-e2e-'));
  });
  afterEach(async () => {
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function sidecar(node: 'a' | 'b', witness: string, ports: Record<'a' | 'b', number>): TrackedProcess {
    const other = node === 'a' ? 'b' : 'a';
    const marker = path.join(dir, `${node}.running`);
    return spawnNode(
      WITNESS_MAIN,
      [
        'sidecar',
        ...['--group', 'g1', '--node', node, '--peer-node', other, '--role', node === 'a' ? 'primary' : 'secondary'],
        ...['--listen', `127.0.0.1:${ports[node]}`, '--peer', `127.0.0.1:${ports[other]}`, '--witness', witness],
        ...['--heartbeat', '100ms', '--lease', LEASE, '--timeout', '500ms', '--stop-timeout', '300ms'],
        // Written whole and renamed into place: a reader never sees the file before its epoch.
        ...['--start-cmd', `echo "$WITNESS_EPOCH" > ${marker}.tmp && mv ${marker}.tmp ${marker}`],
        ...['--stop-cmd', `rm -f ${marker}`],
        ...['--status-cmd', `test -f ${marker}`],
      ],
      { name: `sidecar-${node}`, env: cleanEnv() },
    );
  }

  const marker = (node: string): string | undefined => {
    try {
      return fs.readFileSync(path.join(dir, `${node}.running`), 'utf8').trim();
    } catch {
      return undefined;
    }
  };

  it('starts the service with its epoch, stops it when the sidecar dies, and restarts it under a new epoch when its status fails', async () => {
    const witness = await startWitness(path.join(dir, 'data'), ['--lease', LEASE, '--default-lease', LEASE]);
    const ports = { a: await freePort(), b: await freePort() };
    const a = sidecar('a', witness.address, ports);
    sidecar('b', witness.address, ports);

    await waitUntil('a started its service', async () => marker('a') !== undefined, 10_000);
    const first = BigInt(marker('a') as string);
    expect(first > 0n).to.equal(true);
    expect(marker('b')).to.equal(undefined);

    // kill -9 of the sidecar: the watchdog SIGTERMs the hook runner, which runs the stop hook.
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await waitUntil('a stopped its service', async () => marker('a') === undefined, 1_000);
    expect(Date.now() - killedAt).to.be.below(1_000);
    await waitUntil('b took over', async () => marker('b') !== undefined, 5_000);
    const second = BigInt(marker('b') as string);
    expect(second > first).to.equal(true);

    // The service goes away by itself: the status hook fails, the sidecar restarts it anew.
    fs.rmSync(path.join(dir, 'b.running'));
    await waitUntil('b restarted its service', async () => marker('b') !== undefined, 8_000);
    expect(BigInt(marker('b') as string) > second).to.equal(true);
  });

  it('refuses a command and hooks together, and a start hook without a stop hook (exit 2)', async () => {
    const base = [
      ...['sidecar', '--group', 'g1', '--node', 'a', '--peer-node', 'b'],
      ...['--listen', '127.0.0.1:1', '--peer', '127.0.0.1:2'],
    ];
    const both = spawnNode(WITNESS_MAIN, [...base, '--start-cmd', 'true', '--stop-cmd', 'true', '--', 'sleep', '1']);
    expect((await both.exited).code).to.equal(2);
    expect(both.output()).to.match(/either a command after -- or --start-cmd/);
    const half = spawnNode(WITNESS_MAIN, [...base, '--start-cmd', 'true']);
    expect((await half.exited).code).to.equal(2);
    expect(half.output()).to.match(/start-cmd \(--start-cmd\) and stop-cmd \(--stop-cmd\) go together/);
  });
});
