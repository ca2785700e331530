/**
 * The certificate provider both programs serve from (src/grpc/reloading-certificates.ts): a changed
 * set is handed on only once it is whole and matching, so a certificate renamed into place before
 * its key, or a half-written file, never replaces the good set.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CertificateFilesError } from '../../src/grpc/certificate-files-error';
import { ReloadingCertificates } from '../../src/grpc/reloading-certificates';
import { requireOpenssl } from '../support/require-openssl';
import { makeTestCerts, rotateWitnessCert, type TestCerts } from '../support/test-certs';

describe('ReloadingCertificates', function () {
  this.timeout(20_000);
  let dir: string;
  let certs: TestCerts;

  before(function () {
    requireOpenssl(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reloading-certificates-'));
    certs = makeTestCerts(path.join(dir, 'certs'));
  });
  after(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  const open = (events: { reloaded: string[]; rejected: CertificateFilesError[] }) =>
    new ReloadingCertificates(
      { certFile: certs.witness.cert, keyFile: certs.witness.key, caFile: certs.ca, requireClientCert: true },
      { reloaded: (set) => events.reloaded.push(set.serialNumber), rejected: (e) => events.rejected.push(e) },
    );
  const serialOnDisk = (): string => new X509Certificate(fs.readFileSync(certs.witness.cert)).serialNumber;

  it('hands a listener the set at once, and a rotated set after check()', async () => {
    const events = { reloaded: [] as string[], rejected: [] as CertificateFilesError[] };
    const provider = open(events);
    const updates: Buffer[] = [];
    const listener = (update: { certificate: Buffer } | null): void => void updates.push(update!.certificate);
    provider.addIdentityCertificateListener(listener);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(updates).to.have.lengthOf(1);
    rotateWitnessCert(certs);
    provider.check();
    expect(events.reloaded).to.deep.equal([serialOnDisk()]);
    expect(updates).to.have.lengthOf(2);
    expect(updates[1]!.equals(fs.readFileSync(certs.witness.cert))).to.equal(true);
    provider.check(); // nothing changed: nothing handed on
    expect(updates).to.have.lengthOf(2);
    provider.removeIdentityCertificateListener(listener); // stops its timer
  });

  it('keeps the good set when the key does not match the certificate or a file is half-written, says why once', () => {
    const events = { reloaded: [] as string[], rejected: [] as CertificateFilesError[] };
    const provider = open(events);
    const good = provider.certificates.fingerprint256;
    const key = fs.readFileSync(certs.witness.key);
    const other = makeTestCerts(path.join(dir, 'other'));
    fs.copyFileSync(other.witness.key, certs.witness.key); // the key of another certificate
    provider.check();
    provider.check();
    expect(
      events.rejected.map((e) => [e.file, /is not the private key of the certificate/.test(e.message)]),
    ).to.deep.equal([['key', true]]);
    fs.writeFileSync(certs.witness.key, key);
    const pem = fs.readFileSync(certs.witness.cert, 'utf8');
    fs.writeFileSync(certs.witness.cert, pem.slice(0, 200));
    provider.check();
    expect(events.rejected.at(-1)?.file).to.equal('cert');
    expect(provider.certificates.fingerprint256).to.equal(good);
    fs.writeFileSync(certs.witness.cert, pem);
    provider.check();
    expect(events.reloaded, 'the same set again is no reload').to.deep.equal([]);
    for (const e of events.rejected) expect(e.message).to.not.include('PRIVATE KEY');
  });

  it('refuses unusable files at start, naming the file at fault', () => {
    const missing = path.join(dir, 'missing.key');
    expect(
      () =>
        new ReloadingCertificates(
          { certFile: certs.witness.cert, keyFile: missing, caFile: undefined, requireClientCert: false },
          { reloaded: () => undefined, rejected: () => undefined },
        ),
    ).to.throw(/cannot read .*missing\.key \(ENOENT\)/);
  });
});
