/**
 * The library entry point: two sidecars embedded in this test process (activate/deactivate
 * callbacks), a real witness process, real gRPC on loopback.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startSidecar, type SidecarHandle } from '../../src/index';
import { freePort, killAllTracked } from '../support/processes';
import { startWitness, waitUntil } from '../support/witness-process';

describe('startSidecar (library)', function () {
  this.timeout(30_000);
  let dataDir: string;
  const handles: SidecarHandle[] = [];

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'library-e2e-'));
  });
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((h) => h.close().catch(() => undefined)));
    await killAllTracked();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('activates the primary with its epoch, and the secondary once the primary has closed', async () => {
    const witness = await startWitness(dataDir, ['--lease', '1s', '--default-lease', '1s']);
    const [pa, pb] = [await freePort(), await freePort()];
    const active: Record<string, bigint | undefined> = {};
    const log: string[] = [];
    const common = {
      group: 'g1',
      witness: witness.address,
      heartbeat: '100ms',
      lease: '1s',
      timeout: '500ms',
      stopTimeout: '200ms',
      logger: pino({ level: 'silent' }),
    };
    const embed = (node: string, role: string, listen: number, peer: number) =>
      startSidecar({
        ...common,
        node,
        peerNode: node === 'a' ? 'b' : 'a',
        role,
        listen: `127.0.0.1:${listen}`,
        peer: `127.0.0.1:${peer}`,
        activate: (epoch) => {
          // S1 inside one process: the other must not be active at this moment.
          expect(Object.entries(active).filter(([n, e]) => n !== node && e !== undefined)).to.deep.equal([]);
          active[node] = epoch;
          log.push(`${node} up ${epoch}`);
        },
        deactivate: () => {
          active[node] = undefined;
          log.push(`${node} down`);
        },
      });
    const a = await embed('a', 'primary', pa, pb);
    handles.push(a);
    const b = await embed('b', 'secondary', pb, pa);
    handles.push(b);

    await waitUntil('a active', async () => active.a !== undefined, 10_000);
    expect(a.state()).to.include({ node: 'a', active: true, workload: 'WORKLOAD_PHASE_RUNNING' });
    expect(a.state().epoch).to.equal(String(active.a));
    expect(b.state().active).to.equal(false);

    const first = active.a as bigint;
    await a.close();
    handles.splice(handles.indexOf(a), 1);
    expect(log).to.include('a down');
    await waitUntil('b active', async () => active.b !== undefined, 10_000);
    expect((active.b as bigint) > first).to.equal(true);
  });

  it('refuses bad options with the same messages as the command line', async () => {
    const noop = { activate: () => undefined, deactivate: () => undefined };
    let error: unknown;
    try {
      await startSidecar({ group: 'g1', node: 'a', lease: 'soon', ...noop });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/lease: must be a duration/);
  });
});
