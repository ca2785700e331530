/**
 * The witness's port with TLS and mTLS (design §16), a real process on loopback with certificates
 * made at test time: the right client is served, a wrong one is refused cleanly (UNAVAILABLE, the
 * witness keeps serving), and a certificate rotated on disk reaches new connections without a restart.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { killAllTracked } from '../support/processes';
import { requireOpenssl } from '../support/require-openssl';
import {
  makeTestCerts,
  rotateWitnessCert,
  servedCertificate,
  tlsCredentials,
  witnessTlsArgs,
  type TestCerts,
} from '../support/test-certs';
import {
  bufCurl,
  bufJson,
  callError,
  calls,
  connect,
  spawnWitness,
  startWitness,
  waitUntil,
  type Clients,
} from '../support/witness-process';

const WITNESS_ARGS = ['--lease', '500ms', '--default-lease', '500ms'];
/** The reload period is 1 s: a rotation is served within a few of them, even on a loaded machine. */
const ROTATION_TIMEOUT_MS = 8_000;

describe('witness over TLS and mTLS (real process, certificates made at test time)', function () {
  this.timeout(30_000);
  let dir: string;
  let certs: TestCerts;
  const open: Clients[] = [];

  before(function () {
    requireOpenssl(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-tls-e2e-'));
    certs = makeTestCerts(path.join(dir, 'certs'));
  });

  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await killAllTracked();
  });

  after(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  const client = (address: string, credentials?: grpc.ChannelCredentials): ReturnType<typeof calls> => {
    const c = connect(address, credentials);
    open.push(c);
    return calls(c);
  };
  const dataDir = (name: string): string => path.join(dir, name);

  it('TLS: a TLS client is served; a plaintext client fails with UNAVAILABLE and the witness keeps serving', async () => {
    const w = await startWitness(dataDir('tls'), [...WITNESS_ARGS, ...witnessTlsArgs(certs, false)]);
    expect(w.listening).to.include({ transport: 'tls' });
    const secure = client(w.address, tlsCredentials(certs));
    expect((await secure.renew({ group: 'g1', node: 'a', role: 'ROLE_PRIMARY' })).verdict).to.equal(
      'VERDICT_ACKNOWLEDGED',
    );
    const error = await callError(client(w.address).getGroup('g1'));
    expect(error.code, error.details).to.equal(grpc.status.UNAVAILABLE);
    expect(w.proc.running).to.equal(true);
    expect((await secure.healthCheck()).status).to.equal('SERVING');
    expect((await secure.getGroup('g1')).nodes.map((n) => n.node)).to.deep.equal(['a']);
  });

  it('mTLS (--tls-client-auth require): refuses a client without a certificate, serves one with a certificate of the CA', async () => {
    const w = await startWitness(dataDir('mtls'), [...WITNESS_ARGS, ...witnessTlsArgs(certs, true)]);
    expect(w.listening).to.include({ transport: 'mtls' });
    const anonymous = await callError(client(w.address, tlsCredentials(certs)).getGroup('g1'));
    expect(anonymous.code, anonymous.details).to.equal(grpc.status.UNAVAILABLE);
    const other = makeTestCerts(path.join(dir, 'other-ca'));
    const foreign = await callError(client(w.address, tlsCredentials(certs, other.node('g1', 'a'))).getGroup('g1'));
    expect(foreign.code, `a certificate of another CA: ${foreign.details}`).to.equal(grpc.status.UNAVAILABLE);
    const node = client(w.address, tlsCredentials(certs, certs.node('g1', 'a')));
    expect((await node.renew({ group: 'g1', node: 'a', role: 'ROLE_PRIMARY' })).verdict).to.equal(
      'VERDICT_ACKNOWLEDGED',
    );
    expect(w.proc.running).to.equal(true);
  });

  it('buf curl with -cacert/-cert/-key lists only the served services and calls one over mTLS', async () => {
    const w = await startWitness(dataDir('buf'), [...WITNESS_ARGS, ...witnessTlsArgs(certs, true)]);
    const tlsArgs = ['--cacert', certs.ca, '--cert', certs.operator.cert, '--key', certs.operator.key];
    const cache = path.join(dir, 'buf-cache');
    const listed = await bufCurl([...tlsArgs, '--list-services', `https://localhost:${w.port}`], cache);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(
      listed.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .sort(),
    ).to.deep.equal(['grpc.health.v1.Health', 'witness.v1.Admin', 'witness.v1.Witness']);
    const health = await bufCurl(
      [...tlsArgs, '-d', '{}', `https://localhost:${w.port}/grpc.health.v1.Health/Check`],
      cache,
    );
    expect(health.code, health.stderr).to.equal(0);
    expect(bufJson(health)).to.deep.equal({ status: 'SERVING' });
    // An Admin call: answered for the operator's certificate, refused for a node's (design §17.5).
    const adminCall = (pair: { cert: string; key: string }) =>
      bufCurl(
        ['--cacert', certs.ca, '--cert', pair.cert, '--key', pair.key, '-d', '{}'].concat(
          `https://localhost:${w.port}/witness.v1.Admin/ListGroups`,
        ),
        cache,
      );
    const listedGroups = await adminCall(certs.operator);
    expect(listedGroups.code, listedGroups.stderr).to.equal(0);
    expect(bufJson(listedGroups)).to.deep.equal({});
    const asNode = await adminCall(certs.node('g1', 'a'));
    expect(asNode.code).to.not.equal(0);
    expect(asNode.stderr).to.match(/permission_denied/i);
  });

  it('a certificate rotated on disk (same CA, renamed into place) is served to new connections without a restart', async () => {
    const rotating = makeTestCerts(path.join(dir, 'rotating'));
    const w = await startWitness(dataDir('rotate'), [...WITNESS_ARGS, ...witnessTlsArgs(rotating, true)]);
    const before = await servedCertificate(w.port, rotating);
    const kept = connect(w.address, tlsCredentials(rotating, rotating.operator));
    open.push(kept);
    await calls(kept).listGroups();

    rotateWitnessCert(rotating);
    const onDisk = new X509Certificate(fs.readFileSync(rotating.witness.cert));
    expect(onDisk.serialNumber).to.not.equal(before.serialNumber);
    await waitUntil(
      'the rotated certificate is served',
      async () => (await servedCertificate(w.port, rotating)).fingerprint256 === onDisk.fingerprint256,
      ROTATION_TIMEOUT_MS,
      100,
    );
    const after = await servedCertificate(w.port, rotating);
    expect(after.serialNumber.toUpperCase()).to.equal(onDisk.serialNumber.toUpperCase());
    expect(w.proc.running, 'no restart').to.equal(true);
    await w.proc.waitForLine(/certificate files changed: new connections use the new certificate/, 1000);
    // New clients are served with the new certificate; the connection opened before still works.
    expect((await client(w.address, tlsCredentials(rotating, rotating.operator)).healthCheck()).status).to.equal(
      'SERVING',
    );
    await calls(kept).listGroups();
  });

  it('a half-written certificate never takes the port down: the last good one is served, and it says why once', async () => {
    const rotating = makeTestCerts(path.join(dir, 'half-written'));
    const w = await startWitness(dataDir('half'), [...WITNESS_ARGS, ...witnessTlsArgs(rotating, true)]);
    const before = await servedCertificate(w.port, rotating);
    const pem = fs.readFileSync(rotating.witness.cert, 'utf8');
    fs.writeFileSync(rotating.witness.cert, pem.slice(0, Math.floor(pem.length / 2))); // in place, not atomic
    await w.proc.waitForLine(/cannot be used \(yet\): still serving the previous certificate/, ROTATION_TIMEOUT_MS);
    expect((await servedCertificate(w.port, rotating)).fingerprint256).to.equal(before.fingerprint256);
    expect((await client(w.address, tlsCredentials(rotating, rotating.operator)).healthCheck()).status).to.equal(
      'SERVING',
    );
    const warnings = w.proc.stdoutLines.filter((l) => l.includes('cannot be used (yet)'));
    expect(warnings, 'one line per distinct reason').to.have.lengthOf(1);
    expect(warnings[0]).to.not.include('PRIVATE KEY');
  });

  it('an unusable certificate file at start exits 2 naming the key', async () => {
    const bad = path.join(dir, 'not-a-cert.pem');
    fs.writeFileSync(bad, 'not a certificate\n');
    const proc = spawnWitness(dataDir('bad'), 1, ['--tls-cert', bad, '--tls-key', certs.witness.key]);
    const exit = await proc.runToCompletion(10_000);
    expect(exit.code, proc.output(20)).to.equal(2);
    expect(proc.stderrLines.join('\n')).to.match(
      /tlsCert \(--tls-cert\): .*not-a-cert\.pem does not hold a PEM certificate/,
    );
  });
});
