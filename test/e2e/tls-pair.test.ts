/**
 * A secured pair (design §16): the witness and both sidecars with mTLS (--tls-client-auth require),
 * certificates made at test time, the sidecars reaching the witness and each other through the
 * fault proxies (TLS passes through them). Scenario 9 of scenarios.test.ts, secured: the active
 * sidecar is killed and the other takes over within the same bound.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, pidGone, LEASE_MS, timeline, useCluster } from '../support/cluster';
import { coldStart, FAILOVER_LIMIT_MS, steady } from '../support/cluster-steady';
import { requireOpenssl } from '../support/require-openssl';
import { makeTestCerts, type TestCerts } from '../support/test-certs';

describe('a pair secured with mTLS to the witness and to each other', function () {
  this.timeout(40_000);
  let dir: string;
  let certs: TestCerts;

  before(function () {
    requireOpenssl(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-pair-e2e-'));
    certs = makeTestCerts(path.join(dir, 'certs'), ['g1/a', 'g1/b', 'g1/c']);
  });
  after(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  useCluster();

  it('runs a with both leases over mTLS; kill -9 of a: b takes over within 1.5 x lease, never both', async () => {
    const c = await coldStart({ tls: certs });
    // a holds a peer lease from b and b hears a: the peer link works both ways over mTLS.
    await steady(c);
    for (const name of ['witness', 'a', 'b'] as const) {
      const line = c.proc(name).stdoutLines.find((l) => /"transport":/.test(l)) ?? '';
      expect(line, `${name} listens with mTLS`).to.include('"transport":"mtls"');
    }
    const [a] = c.intervalsOf('a');
    expect(isAlive(a!.pid), 'a workload runs before the kill').to.equal(true);
    const t0 = timeline();
    c.proc('a').kill('SIGKILL');
    await c.waitFor('a workload process gone', () => pidGone(a!.pid).gone, 2 * LEASE_MS);
    await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, 5000);
    const b = c.intervalsOf('b')[0]!;
    const failover = b.start - t0;
    process.stdout.write(
      `      [measure] mTLS pair: failover ${failover.toFixed(0)} ms (kill -9 -> b's workload start)\n`,
    );
    expect(c.intervalsOf('a')[0]!.end).to.be.at.most(b.start);
    expect(BigInt(b.epoch ?? '0') > BigInt(a!.epoch ?? '0')).to.equal(true);
    expect(failover, 'failover time').to.be.below(FAILOVER_LIMIT_MS);
    c.assertNoOverlaps();
  });

  it("a sidecar does not take another node's certificate of the same CA for its peer's", async () => {
    // b presents c's certificate (CN c.g1): a checks b.g1 in its peer's certificate and refuses the
    // connection, so b's replies (and the peer lease in them) never reach a. a's server still takes
    // b's heartbeats: authorizing callers by their certificate is not built yet (design §15.1).
    const impostor: TestCerts = { ...certs, node: (group, node) => certs.node(group, node === 'b' ? 'c' : node) };
    const c = await coldStart({ tls: impostor });
    await c.holdFor(
      'a holds no peer lease from the impostor (its replies never reach a); a keeps running on its witness lease',
      async () => {
        const a = await c.state('a');
        return a !== undefined && a.peerLeaseRemainingMs === 0 && a.active;
      },
      3 * LEASE_MS,
    );
    c.assertNoOverlaps();
  });
});
