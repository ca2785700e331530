/**
 * The sidecar's log lines a parser reads (issue 8, item 12), from real processes: no key twice in
 * one line, and no epoch 0 presented as if it were one.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TrackedProcess } from '../support/processes';
import { deadAddress, spawnSidecar, stopEverything } from '../support/one-sidecar';
import { startWitness } from '../support/witness-process';

const TIMING = ['--heartbeat', '100ms', '--timeout', '500ms', '--lease', '1s', '--stop-timeout', '300ms'];
/** A cold start: the sidecar's own quiet period (one peer lease), the acquire, the workload's start. */
const FIRST_RUN_MS = 10_000;

describe('sidecar log lines (real processes)', function () {
  this.timeout(30_000);
  let dir: string;
  const sidecars: TrackedProcess[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-logs-'));
  });
  afterEach(async () => {
    await stopEverything(dir, sidecars.splice(0));
  });

  it('every "workload running" line has one "pid" key (the sidecar\'s); the workload\'s is workloadPid', async () => {
    // Simple mode: the primary runs at once, no witness needed.
    const { proc } = await spawnSidecar(dir, [
      ...['--node', 'a', '--peer-node', 'b', '--role', 'primary', '--mode', 'simple'],
      ...['--peer', await deadAddress(), ...TIMING],
    ]);
    sidecars.push(proc);
    // The supervisor's line (the runtime logs one too, with the epoch and no workload pid).
    const line = await proc.waitForLine(
      (l) => l.includes('"msg":"workload running"') && l.includes('"watchdogPid"'),
      FIRST_RUN_MS,
      { stream: 'stdout' },
    );
    expect(line.match(/"pid":/g) ?? [], line).to.have.lengthOf(1);
    expect(line).to.match(/"workloadPid":\d+/);
  });

  it("the secondary's first acquire line carries knownEpoch, not an epoch of 0", async () => {
    const witness = await startWitness(path.join(dir, 'witness-data'), ['--lease', '1s', '--default-lease', '1s']);
    sidecars.push(witness.proc);
    const { proc } = await spawnSidecar(dir, [
      ...['--node', 'b', '--peer-node', 'a', '--role', 'secondary'],
      ...['--peer', await deadAddress(), '--witness', witness.address, ...TIMING],
    ]);
    sidecars.push(proc);
    const line = await proc.waitForLine(/"msg":"acquire"/, FIRST_RUN_MS, { stream: 'stdout' });
    expect(line)
      .to.match(/"knownEpoch":"\d+"/)
      .and.not.to.match(/"epoch":"0"/);
  });
});
