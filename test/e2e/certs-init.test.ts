/**
 * `witness certs init` (design §16): the files it makes verify with `openssl verify` against its
 * CA and carry the SANs the identities are built on; keys are 0600; a directory with content is
 * refused without --force.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAllTracked, spawnNode, spawnTracked } from '../support/processes';
import { requireOpenssl } from '../support/require-openssl';
import { cleanEnv, WITNESS_MAIN } from '../support/witness-process';

describe('witness certs init', function () {
  this.timeout(30_000);
  let dir: string;

  before(function () {
    requireOpenssl(this);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certs-init-e2e-'));
  });
  afterEach(async () => {
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const certsInit = async (args: string[]) => {
    const proc = spawnNode(WITNESS_MAIN, ['certs', 'init', ...args], { name: 'certs init', env: cleanEnv() });
    const exit = await proc.runToCompletion(20_000);
    return { code: exit.code, stdout: proc.stdoutLines.join('\n'), stderr: proc.stderrLines.join('\n') };
  };
  const verify = async (ca: string, files: string[]) => {
    const proc = spawnTracked('openssl', ['verify', '-CAfile', ca, ...files], { name: 'openssl verify' });
    const exit = await proc.runToCompletion(10_000);
    return { code: exit.code, stdout: proc.stdoutLines.join('\n') + proc.stderrLines.join('\n') };
  };
  const certificate = (file: string): X509Certificate => new X509Certificate(fs.readFileSync(file));
  const mode = (file: string): number => fs.statSync(file).mode & 0o777;

  it('makes a CA, the witness, one certificate per node and an operator; openssl verifies each; the SANs are right', async () => {
    const out = path.join(dir, 'certs');
    const made = await certsInit([
      '--dir',
      out,
      '--node',
      'g1/a',
      '--node',
      'g1/b',
      '--witness-name',
      'witness.example.org',
      '--witness-name',
      '10.0.0.9',
      '--trust-domain',
      'example.org',
      '--operator',
      'alice',
    ]);
    expect(made.code, made.stderr).to.equal(0);
    const leaves = ['witness.crt', 'nodes/g1/a.crt', 'nodes/g1/b.crt', 'operators/alice.crt'].map((f) =>
      path.join(out, f),
    );
    const verified = await verify(path.join(out, 'ca.crt'), leaves);
    expect(verified.code, verified.stdout).to.equal(0);
    for (const leaf of leaves) expect(verified.stdout).to.include(`${leaf}: OK`);

    const ca = certificate(path.join(out, 'ca.crt'));
    expect(ca.ca).to.equal(true);
    const w = certificate(leaves[0]!);
    expect(w.ca).to.equal(false);
    expect(w.subjectAltName).to.equal(
      'DNS:localhost, IP Address:127.0.0.1, DNS:witness.example.org, IP Address:10.0.0.9',
    );
    expect(w.checkHost('witness.example.org')).to.equal('witness.example.org');
    expect(w.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    const a = certificate(leaves[1]!);
    expect(a.subject).to.equal('CN=a.g1');
    expect(a.subjectAltName).to.equal('URI:spiffe://example.org/group/g1/node/a');
    expect(certificate(leaves[2]!).subjectAltName).to.equal('URI:spiffe://example.org/group/g1/node/b');
    expect(certificate(leaves[3]!).subjectAltName).to.equal('URI:spiffe://example.org/operator/alice');
    expect(a.serialNumber).to.not.equal(certificate(leaves[2]!).serialNumber);
    for (const key of ['ca.key', 'witness.key', 'nodes/g1/a.key', 'nodes/g1/b.key', 'operators/alice.key']) {
      expect(mode(path.join(out, key)), `${key} is 0600`).to.equal(0o600);
    }
    expect(made.stdout.split('\n')).to.include(path.join(out, 'nodes/g1/a.key'));
    expect(fs.readdirSync(out).sort()).to.deep.equal([
      'ca.crt',
      'ca.key',
      'nodes',
      'operators',
      'witness.crt',
      'witness.key',
    ]);
  });

  it('the default trust domain is failover-witness', async () => {
    const out = path.join(dir, 'certs');
    expect((await certsInit(['--dir', out, '--node', 'g7/n1'])).code).to.equal(0);
    expect(certificate(path.join(out, 'nodes/g7/n1.crt')).subjectAltName).to.equal(
      'URI:spiffe://failover-witness/group/g7/node/n1',
    );
    expect(certificate(path.join(out, 'operators/admin.crt')).subjectAltName).to.equal(
      'URI:spiffe://failover-witness/operator/admin',
    );
  });

  it('refuses a directory with content (exit 2, files untouched) unless --force', async () => {
    const out = path.join(dir, 'certs');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'ca.crt'), 'keep me');
    const refused = await certsInit(['--dir', out]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.include('dir (--dir)').and.include('is not empty').and.include('--force');
    expect(fs.readFileSync(path.join(out, 'ca.crt'), 'utf8')).to.equal('keep me');
    const forced = await certsInit(['--dir', out, '--force']);
    expect(forced.code, forced.stderr).to.equal(0);
    expect((await verify(path.join(out, 'ca.crt'), [path.join(out, 'witness.crt')])).code).to.equal(0);
  });

  it('names the option at fault: --node without GROUP/NODE, a bad --witness-name, no --dir (exit 2)', async () => {
    const bad = await certsInit(['--dir', path.join(dir, 'x'), '--node', 'only-a-node']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('node (--node): "only-a-node" is not GROUP/NODE');
    const name = await certsInit(['--dir', path.join(dir, 'y'), '--witness-name', 'bad_name!']);
    expect(name.code).to.equal(2);
    expect(name.stderr).to.include('witnessName (--witness-name)');
    const none = await certsInit([]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.include('dir (--dir): required');
    expect(fs.existsSync(path.join(dir, 'x'))).to.equal(false);
  });
});
