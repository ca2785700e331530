/**
 * A program's certificates at start: opened (an unusable file is a configuration error, exit 2,
 * naming its key), reloads and refused reloads logged, and the one --insecure warning.
 */
import { ConfigError } from '../config/load-config';
import type { Logger } from '../log/logger';
import { CertificateFilesError } from './certificate-files-error';
import { ReloadingCertificates } from './reloading-certificates';
import type { TransportSettings } from './tls-files';

const KEYS = {
  cert: ['tlsCert', '--tls-cert'],
  key: ['tlsKey', '--tls-key'],
  ca: ['tlsCa', '--tls-ca'],
} as const;

export function openCertificates(
  settings: TransportSettings,
  listen: string,
  logger: Logger,
): ReloadingCertificates | undefined {
  if (settings.insecureListen) {
    logger.warn(
      { listen },
      `INSECURE (--insecure): plaintext gRPC on ${listen}, which other hosts can reach: anyone who can reach it ` +
        'can read every call and forge heartbeats, grants and releases',
    );
  }
  const files = settings.tls;
  if (files === undefined) return undefined;
  let certificates: ReloadingCertificates;
  try {
    certificates = new ReloadingCertificates(files, {
      reloaded: (set) =>
        logger.info(
          { certFile: files.certFile, serialNumber: set.serialNumber, fingerprint256: set.fingerprint256 },
          'certificate files changed: new connections use the new certificate',
        ),
      rejected: (error) =>
        logger.warn(
          { file: files[`${error.file}File`], why: error.message },
          'certificate files changed but cannot be used (yet): still serving the previous certificate',
        ),
    });
  } catch (error) {
    if (!(error instanceof CertificateFilesError)) throw error;
    const [key, flag] = KEYS[error.file];
    throw new ConfigError(key, `${key} (${flag}): ${error.message}`);
  }
  return certificates;
}

/** For the "listening" log line: what the port accepts. */
export function transportName(certificates: ReloadingCertificates | undefined): 'plaintext' | 'tls' | 'mtls' {
  if (certificates === undefined) return 'plaintext';
  return certificates.files.requireClientCert ? 'mtls' : 'tls';
}
