/**
 * A witness whose grants take longer than the sidecar's peer timeout (a slow disk: every grant is
 * fsynced before it is answered; issue 8, item 6). A real sidecar against a fake witness served in
 * this process, which answers Acquire after a set delay:
 *
 * - 800 ms with --timeout 500ms and a 2 s lease: the grant is still usable when it arrives, so it
 *   is used (one Acquire, the workload runs), and the slow answer is logged;
 * - the same delay with the lease capped at 1 s by the witness: the grant arrives too late to use,
 *   is released, and that is logged.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { LeaseAnswer } from '../../src/gen/witness/v1/LeaseAnswer';
import type { SidecarClient } from '../../src/gen/witness/v1/Sidecar';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import type { WitnessHandlers } from '../../src/gen/witness/v1/Witness';
import { bindInsecure } from '../../src/grpc/server-lifecycle';
import { loadWitnessProto } from '../../src/proto/load-proto';
import type { TrackedProcess } from '../support/processes';
import { deadAddress, spawnSidecar, stopEverything } from '../support/one-sidecar';
import { unary, waitUntil } from '../support/witness-process';

const ACQUIRE_DELAY_MS = 800;
const TIMING = ['--heartbeat', '100ms', '--timeout', '500ms', '--lease', '2s', '--stop-timeout', '300ms'];
/** The sidecar's quiet period after its start (one peer lease, ~2.1 s), the slow grant, the start. */
const FIRST_RUN_MS = 8000;

/** Renew answers at once; Acquire grants after `delayMs`, with `grantLeaseMs`. */
class SlowWitness {
  readonly server = new grpc.Server();
  acquires = 0;
  releases: string[] = [];
  private holder = '';
  private epoch = 100n;

  constructor(delayMs: number, grantLeaseMs: number) {
    const answer = (fields: Partial<LeaseAnswer>): LeaseAnswer => ({
      group: 'g1',
      holder: this.holder,
      epoch: this.epoch.toString(),
      ...fields,
    });
    const handlers: WitnessHandlers = {
      KeepAlive: (call) => call.end(),
      Renew: (call, callback) => {
        const { node, heldEpoch } = call.request;
        const renewed = node === this.holder && heldEpoch === this.epoch.toString();
        callback(
          null,
          answer(renewed ? { verdict: 'VERDICT_RENEWED', leaseMs: grantLeaseMs } : { verdict: 'VERDICT_ACKNOWLEDGED' }),
        );
      },
      Acquire: (call, callback) => {
        this.acquires += 1;
        setTimeout(() => {
          this.holder = call.request.node;
          this.epoch += 1n;
          callback(null, answer({ verdict: 'VERDICT_GRANTED', leaseMs: grantLeaseMs }));
        }, delayMs);
      },
      Release: (call, callback) => {
        this.releases.push(call.request.epoch);
        if (call.request.epoch === this.epoch.toString()) this.holder = '';
        callback(null, answer({ verdict: 'VERDICT_RELEASED' }));
      },
    };
    this.server.addService(loadWitnessProto().grpcObject.witness.v1.Witness.service, handlers);
  }

  async listen(): Promise<string> {
    return `127.0.0.1:${await bindInsecure(this.server, '127.0.0.1:0')}`;
  }
}

describe('sidecar against a slow witness (real sidecar, fake witness)', function () {
  this.timeout(30_000);
  let dir: string;
  const sidecars: TrackedProcess[] = [];
  let witness: SlowWitness | undefined;
  let status: SidecarClient | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-slow-witness-'));
  });
  afterEach(async () => {
    status?.close();
    status = undefined;
    witness?.server.forceShutdown();
    witness = undefined;
    await stopEverything(dir, sidecars.splice(0));
  });

  async function start(delayMs: number, grantLeaseMs: number): Promise<TrackedProcess> {
    witness = new SlowWitness(delayMs, grantLeaseMs);
    const address = await witness.listen();
    const { proc, address: listen } = await spawnSidecar(dir, [
      ...['--node', 'a', '--peer-node', 'b', '--role', 'primary'],
      ...['--peer', await deadAddress(), '--witness', address, ...TIMING],
    ]);
    sidecars.push(proc);
    status = new (loadWitnessProto().grpcObject.witness.v1.Sidecar)(listen, grpc.credentials.createInsecure());
    return proc;
  }

  const state = (): Promise<SidecarState__Output> =>
    unary<SidecarState__Output>((cb) => status?.GetState({}, { deadline: Date.now() + 1000 }, cb));

  it('uses a grant answered after the peer timeout but within the usable lease, asking once, and logs the slow answer', async () => {
    const proc = await start(ACQUIRE_DELAY_MS, 2000);
    await waitUntil(
      'the workload runs on the slow grant',
      async () => (await state().catch(() => undefined))?.active === true,
      FIRST_RUN_MS,
    );
    expect({ acquires: witness?.acquires, epoch: (await state()).epoch }).to.deep.equal({ acquires: 1, epoch: '101' });
    await proc.waitForLine(/"msg":"the witness took more than 25% of the lease to answer Acquire/, 1000, {
      stream: 'stdout',
    });
  });

  it('releases a grant that arrives too late to use, and logs it', async () => {
    // The witness caps the lease at 1 s: 990 ms less the 450 ms stop budget leaves 540 ms < 800 ms.
    const proc = await start(ACQUIRE_DELAY_MS, 1000);
    const line = await proc.waitForLine(/"msg":"grant arrived too late to use: released"/, FIRST_RUN_MS, {
      stream: 'stdout',
    });
    const { epoch } = JSON.parse(line) as { epoch: string };
    await waitUntil('the witness got the release', async () => witness?.releases.includes(epoch) === true, 2000);
    expect((await state()).active).to.equal(false);
  });
});
