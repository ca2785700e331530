/**
 * Certificates made at test time (none is checked in): `witness certs init` into a temporary
 * directory, clients' TLS credentials from them, a rotation that renames a new certificate of the
 * same CA into place, and what certificate a port serves right now (node's tls.connect).
 */
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { initCerts } from '../../src/certs/init-certs';
import { issueLeaf } from '../../src/certs/openssl';
import { loadCertsPlan } from '../../src/config/certs-config';

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  readonly dir: string;
  readonly ca: string;
  readonly caKey: string;
  readonly witness: KeyPair;
  readonly operator: KeyPair;
  node(group: string, node: string): KeyPair;
}

/** certs init in `dir` (created) for `nodes` (GROUP/NODE) and an operator "admin". */
export function makeTestCerts(dir: string, nodes: readonly string[] = ['g1/a', 'g1/b']): TestCerts {
  initCerts(loadCertsPlan(['--dir', dir, ...nodes.flatMap((n) => ['--node', n])], {}));
  return certsIn(dir);
}

/** The file names certs init writes in `dir`. */
export function certsIn(dir: string): TestCerts {
  const pair = (base: string): KeyPair => ({ cert: path.join(dir, `${base}.crt`), key: path.join(dir, `${base}.key`) });
  return {
    dir,
    ca: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    witness: pair('witness'),
    operator: pair(path.join('operators', 'admin')),
    node: (group, node) => pair(path.join('nodes', group, node)),
  };
}

/** The witness options that serve TLS with these certificates; `mtls`: also require client certificates. */
export function witnessTlsArgs(certs: TestCerts, mtls: boolean): string[] {
  const base = ['--tls-cert', certs.witness.cert, '--tls-key', certs.witness.key];
  return mtls ? [...base, '--tls-ca', certs.ca, '--tls-client-auth', 'require'] : base;
}

/** A new certificate and key of the same CA for the witness, renamed into place (key first). */
export function rotateWitnessCert(certs: TestCerts): void {
  issueLeaf(
    { cert: certs.ca, key: certs.caKey },
    { ...certs.witness, commonName: 'witness', altNames: ['DNS:localhost', 'IP:127.0.0.1'], days: 1 },
  );
}

/** TLS credentials trusting the test CA, presenting `identity` when given. */
export function tlsCredentials(certs: TestCerts, identity?: KeyPair): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    fs.readFileSync(certs.ca),
    identity === undefined ? null : fs.readFileSync(identity.key),
    identity === undefined ? null : fs.readFileSync(identity.cert),
  );
}

/** The leaf certificate `127.0.0.1:port` serves to a new connection. */
export function servedCertificate(
  port: number,
  certs: TestCerts,
  identity: KeyPair = certs.operator,
  servername = 'localhost',
): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      ca: fs.readFileSync(certs.ca),
      cert: fs.readFileSync(identity.cert),
      key: fs.readFileSync(identity.key),
      ALPNProtocols: ['h2'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with 127.0.0.1:${port} within 5 s`));
    }, 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const certificate = socket.getPeerCertificate();
      socket.destroy();
      resolve(certificate);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
