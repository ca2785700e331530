/**
 * grpc-js credentials for both programs, from their certificate files (reloaded on change) or, on
 * loopback and with --insecure, none. One place, so the witness and the sidecar cannot differ.
 */
import * as grpc from '@grpc/grpc-js';
import type { ReloadingCertificates } from './reloading-certificates';

/** What a port serves: plaintext without certificates, else TLS, and mTLS when a CA is set. */
export function serverCredentials(certificates: ReloadingCertificates | undefined): grpc.ServerCredentials {
  if (certificates === undefined) return grpc.ServerCredentials.createInsecure();
  const { caFile, requireClientCert } = certificates.files;
  // grpc-js 1.14's typings name the parameters (ca, identity), but the implementation takes the
  // identity provider first and the (optional) CA second, as the types' nullability also says.
  return grpc.experimental.createCertificateProviderServerCredentials(
    certificates,
    caFile === undefined ? null : certificates,
    requireClientCert,
  );
}

/**
 * How this program connects to the witness and to its peer: TLS checked against the CA (the
 * system's roots without one), presenting its own certificate for servers that ask for it.
 */
export function channelCredentials(certificates: ReloadingCertificates | undefined): grpc.ChannelCredentials {
  if (certificates === undefined) return grpc.credentials.createInsecure();
  return grpc.experimental.createCertificateProviderChannelCredentials(certificates, certificates);
}

/** The channel option that makes a client check `name` in the server's certificate instead of the host it dials. */
export function serverNameOption(name: string | undefined): grpc.ChannelOptions {
  return name === undefined || name === '' ? {} : { 'grpc.ssl_target_name_override': name };
}
