/**
 * A witness whose grants take longer than the sidecar's peer timeout (a slow disk: every grant is
 * fsynced before it is answered; issue 8, item 6). A real sidecar against a real witness whose
 * fsyncs each take 400 ms (an LD_PRELOAD shim), so a grant is answered after about 800 ms:
 *
 * - with --timeout 500ms and a 2 s lease, the grant is still usable when it arrives, so it is used
 *   (one grant, the workload runs), and the slow answer is logged;
 * - with the lease capped at 1 s by the witness, the grant arrives too late to use, is released,
 *   and that is logged.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { SidecarClient } from '../../src/gen/witness/v1/Sidecar';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { cleanupAll, requireOrSkip, slowFsyncShim } from '../support/fs-faults';
import { killAllTracked, type TrackedProcess } from '../support/processes';
import { deadAddress, spawnSidecar, stopEverything } from '../support/one-sidecar';
import { startWitness, unary, waitUntil, type RunningWitness } from '../support/witness-process';

const FSYNC_DELAY_MS = 400;
const TIMING = ['--heartbeat', '100ms', '--timeout', '500ms', '--lease', '2s', '--stop-timeout', '300ms'];
/** The witness's grace (~2.1 s), the sidecar's quiet period (one peer lease), the slow grant, the start. */
const FIRST_RUN_MS = 10_000;

describe('sidecar against a slow witness (real sidecar, real witness on a slow disk)', function () {
  this.timeout(40_000);
  let dir: string;
  const sidecars: TrackedProcess[] = [];
  let witness: RunningWitness | undefined;
  let status: SidecarClient | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-slow-witness-'));
  });
  afterEach(async () => {
    status?.close();
    status = undefined;
    witness = undefined;
    await stopEverything(dir, sidecars.splice(0));
    await killAllTracked();
    await cleanupAll();
  });

  async function start(ctx: Mocha.Context, witnessLease: string): Promise<TrackedProcess> {
    const shim = requireOrSkip(ctx, await slowFsyncShim({ delayMs: FSYNC_DELAY_MS }));
    const lease = ['--lease', witnessLease, '--default-lease', witnessLease];
    witness = await startWitness(path.join(dir, 'witness-data'), lease, 'witness', shim.env);
    const address = witness.address;
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

  /** The witness's log lines of one arbitration event. */
  const events = (event: string): Array<{ epoch: string }> =>
    (witness?.proc.stdoutLines ?? [])
      .filter((line) => line.includes(`"event":"${event}"`))
      .map((line) => JSON.parse(line) as { epoch: string });

  it('uses a grant answered after the peer timeout but within the usable lease, granted once, and logs the slow answer', async function () {
    const proc = await start(this, '2s');
    await waitUntil(
      'the workload runs on the slow grant',
      async () => (await state().catch(() => undefined))?.active === true,
      FIRST_RUN_MS,
    );
    // Before, each answer came after the 500 ms deadline, was taken as lost, and asked again.
    const grants = events('granted');
    expect(grants.map((g) => g.epoch)).to.deep.equal([(await state()).epoch]);
    await proc.waitForLine(/"msg":"the witness took more than 25% of the lease to answer Acquire/, 1000, {
      stream: 'stdout',
    });
  });

  it('releases a grant that arrives too late to use, and logs it', async function () {
    // The witness caps the lease at 1 s: 990 ms less the 450 ms stop budget leaves 540 ms < 800 ms.
    const proc = await start(this, '1s');
    const line = await proc.waitForLine(/"msg":"grant arrived too late to use: released"/, FIRST_RUN_MS, {
      stream: 'stdout',
    });
    const { epoch } = JSON.parse(line) as { epoch: string };
    await waitUntil('the witness released it', async () => events('released').some((r) => r.epoch === epoch), 4000);
    expect((await state()).active).to.equal(false);
  });
});
