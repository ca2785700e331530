/**
 * Certificates made with the `openssl` command: no npm dependency for a rare, offline task, and
 * the commands are the ones operators already know and can audit or redo by hand (README).
 * EC P-256 keys; serials are 128 random bits; keys are written 0600.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** openssl is missing or failed: certs init exits 1 with this message. */
export class OpensslError extends Error {
  override readonly name = 'OpensslError';
}

export const OPENSSL_MISSING =
  'the openssl command was not found on PATH: install it (Debian, Ubuntu: apt-get install openssl)';

function openssl(args: readonly string[]): void {
  try {
    execFileSync(process.env.OPENSSL ?? 'openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new OpensslError(OPENSSL_MISSING);
    const stderr = e.stderr?.toString('utf8').trim() ?? '';
    throw new OpensslError(`openssl ${args[0] ?? ''} failed: ${stderr || e.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A key written 0600 and a self-signed CA certificate. */
export function makeCa(files: { cert: string; key: string }, commonName: string, days: number): void {
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    files.key,
    '-out',
    files.cert,
    '-days',
    String(days),
    '-sha256',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  fs.chmodSync(files.key, 0o600);
}

export interface Leaf {
  readonly cert: string;
  readonly key: string;
  readonly commonName: string;
  /** subjectAltName entries as openssl writes them: `DNS:localhost`, `IP:127.0.0.1`, `URI:spiffe://...`. */
  readonly altNames: readonly string[];
  readonly days: number;
}

/**
 * A new key (0600) and a certificate for it signed by the CA, usable as server and as client.
 * The certificate is written to a temporary name and renamed into place, so a process that
 * re-reads it never sees half a file.
 */
export function issueLeaf(ca: { cert: string; key: string }, leaf: Leaf): void {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-certs-'));
  try {
    const csr = path.join(work, 'leaf.csr');
    const ext = path.join(work, 'leaf.ext');
    const key = path.join(work, 'leaf.key');
    const cert = path.join(work, 'leaf.crt');
    openssl(['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${leaf.commonName}`]);
    fs.writeFileSync(
      ext,
      [
        '[leaf]',
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${leaf.altNames.join(',')}`,
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid,issuer',
        '',
      ].join('\n'),
    );
    const serial = crypto.randomBytes(16);
    serial[0] = (serial[0] ?? 0) & 0x7f; // positive, as RFC 5280 asks
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      `0x${serial.toString('hex')}`,
      '-days',
      String(leaf.days),
      '-sha256',
      '-extfile',
      ext,
      '-extensions',
      'leaf',
      '-out',
      cert,
    ]);
    fs.chmodSync(key, 0o600);
    fs.chmodSync(cert, 0o644);
    // The key first: a reader that sees the new certificate finds its key already there.
    moveInto(key, leaf.key);
    moveInto(cert, leaf.cert);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** rename, or copy + rename where the temporary directory is on another file system. */
function moveInto(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const next = `${to}.${process.pid}.tmp`;
    fs.copyFileSync(from, next);
    fs.chmodSync(next, fs.statSync(from).mode & 0o777);
    fs.renameSync(next, to);
  }
}
