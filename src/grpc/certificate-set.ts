/**
 * Reading and checking a certificate, its key and the CA from disk, as one set: a set is used only
 * once every part is readable, well-formed and the key is the certificate's own, so a file caught
 * half-written (or a certificate renamed into place before its key) is never handed to a server.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { CertificateFilesError } from './certificate-files-error';
import type { TlsFiles } from './tls-files';

export interface CertificateSet {
  readonly certificate: Buffer;
  readonly privateKey: Buffer;
  readonly ca: Buffer | undefined;
  /** Of the leaf certificate, for log lines: neither is secret. */
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly validTo: string;
}

function read(file: CertificateFilesError['file'], path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CertificateFilesError(file, `cannot read ${path} (${code})`);
  }
}

/** Reads and checks the set; throws CertificateFilesError naming the file at fault. Never logs key bytes. */
export function readCertificateSet(files: TlsFiles): CertificateSet {
  const certificate = read('cert', files.certFile);
  const privateKey = read('key', files.keyFile);
  const ca = files.caFile === undefined ? undefined : read('ca', files.caFile);
  let leaf: crypto.X509Certificate;
  try {
    leaf = new crypto.X509Certificate(certificate);
  } catch {
    throw new CertificateFilesError('cert', `${files.certFile} does not hold a PEM certificate`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(privateKey);
  } catch {
    throw new CertificateFilesError('key', `${files.keyFile} does not hold an unencrypted PEM private key`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateFilesError(
      'key',
      `${files.keyFile} is not the private key of the certificate in ${files.certFile}`,
    );
  }
  if (ca !== undefined) {
    try {
      new crypto.X509Certificate(ca);
    } catch {
      throw new CertificateFilesError('ca', `${files.caFile ?? ''} does not hold a PEM CA certificate`);
    }
  }
  try {
    // What grpc-js will build from the set: anything node's TLS refuses is refused here first.
    tls.createSecureContext({ cert: certificate, key: privateKey, ca });
  } catch (error) {
    throw new CertificateFilesError('cert', `${files.certFile}: ${(error as Error).message}`);
  }
  return {
    certificate,
    privateKey,
    ca,
    serialNumber: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    validTo: leaf.validTo,
  };
}
