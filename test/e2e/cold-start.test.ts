/**
 * A cold start with the witness down (design §10.2), with real processes on loopback: both sidecars
 * start with --state-dir while the witness is not running; the primary proposes an epoch, the
 * secondary records it and vouches with its peer lease, and the primary runs (VOLTTRON's "secondary
 * up, witness down: start"). When the witness starts, it adopts the running epoch, which both
 * nodes' records hold. Without --state-dir the same start waits for the witness, as before.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, useCluster } from '../support/cluster';

const LEASE_MS = 2000;
const COLD_START_MS = 8000;

function recorded(dir: string): bigint {
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'epochs.json'), 'utf8')) as { knownEpoch: string };
  return BigInt(record.knownEpoch);
}

describe('e2e: a cold start with the witness down (--state-dir on both nodes)', function () {
  this.timeout(60_000);
  useCluster();
  let stateRoot = '';

  beforeEach(function () {
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-cold-'));
  });

  afterEach(function () {
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  it('the primary runs on the secondary’s peer lease; the witness, started later, adopts its epoch', async function () {
    const c = await Cluster.create({
      leaseMs: LEASE_MS,
      sidecarArgs: (node) => ['--state-dir', path.join(stateRoot, node)],
    });
    await Promise.all([c.startProcess('a'), c.startProcess('b')]);
    await c.waitFor('a runs with the witness down', () => c.intervalsOf('a').length > 0, COLD_START_MS);
    const starts = c.logged('a', 'start');
    expect(
      starts.map((l) => l.rule),
      "a's start row",
    ).to.deep.equal(['start-cold-on-peer-lease']);
    const epoch = BigInt(String(starts[0]!.epoch));
    expect(BigInt(c.intervalsOf('a')[0]!.epoch ?? '0'), 'the workload got the agreed epoch').to.equal(epoch);
    expect(recorded(path.join(stateRoot, 'a')) >= epoch, "a's record holds the epoch it runs under").to.equal(true);
    expect(recorded(path.join(stateRoot, 'b')) >= epoch, 'b recorded it before it vouched').to.equal(true);
    expect(c.intervalsOf('b'), 'b never ran').to.deep.equal([]);

    await c.startProcess('witness');
    await c.waitFor(
      'the witness adopts a’s epoch: a runs on a witness lease too, under the same epoch',
      async () => {
        const s = await c.state('a');
        return s?.active === true && s.witnessLeaseRemainingMs > 0 && s.epoch === epoch.toString();
      },
      3 * LEASE_MS,
    );
    expect(
      c.logged('witness', 'adopted').length + c.logs('witness').filter((l) => l.rule === 'adopt-higher-epoch').length,
    ).to.be.above(0);
    expect(c.intervalsOf('a').length, 'the same run goes on').to.equal(1);
    c.assertNoOverlaps();
  });

  it('without --state-dir the primary waits for the witness, as before', async function () {
    const c = await Cluster.create({ leaseMs: LEASE_MS });
    await Promise.all([c.startProcess('a'), c.startProcess('b')]);
    await c.holdFor('nothing runs while the witness is down', () => c.intervalsOf('a').length === 0, 2 * LEASE_MS);
    await c.startProcess('witness');
    await c.waitFor('a runs once the witness is up', () => c.intervalsOf('a').length > 0, COLD_START_MS);
    expect(c.logged('a', 'start').map((l) => l.rule)).to.deep.equal(['start-on-grant']);
  });
});
