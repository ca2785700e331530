/**
 * The transport options both programs share (design §16): TLS files, client authentication and
 * --insecure, and the rule that plaintext is served on loopback addresses only unless --insecure.
 */
import type { TransportSettings } from '../grpc/tls-files';
import { type ConfigSchema, ConfigError, type OptionSchema } from './load-config';
import { optionalFileOption } from './shared-options';
import { parseHostPort } from './config-formats';
import { isLoopbackHost } from './loopback';

export interface TransportConfig {
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly tlsCa: string | null;
  /** null: require when a CA is given, else none. */
  readonly tlsClientAuth: 'require' | 'none' | null;
  readonly insecure: 'true' | 'false';
}

/** The schema entries; `envPrefix` is WITNESS or WITNESS_SIDECAR. */
export function transportSchema(envPrefix: string, program: string): ConfigSchema<TransportConfig> {
  const file = (doc: string, arg: string): OptionSchema => optionalFileOption(doc, arg, envPrefix);
  return {
    tlsCert: file(
      `PEM certificate ${program} presents (as server and as client); re-read when it changes. Enables TLS.`,
      'tls-cert',
    ),
    tlsKey: file('PEM private key of --tls-cert (kept 0600); re-read when it changes.', 'tls-key'),
    tlsCa: file(
      'PEM CA bundle that client certificates and the servers this program calls are checked against.',
      'tls-ca',
    ),
    tlsClientAuth: {
      doc: 'require: refuse clients without a certificate from --tls-ca (mTLS); none: ask for none. Default: require with --tls-ca, else none.',
      format: ['require', 'none'],
      nullable: true,
      default: null,
      arg: 'tls-client-auth',
      env: `${envPrefix}_TLS_CLIENT_AUTH`,
      metavar: 'require|none',
    },
    insecure: {
      doc: 'Allow plaintext gRPC on a non-loopback --listen address: anyone who can reach it can read and forge every call.',
      format: ['true', 'false'],
      default: 'false',
      arg: 'insecure',
      env: `${envPrefix}_INSECURE`,
      flag: true,
    },
  };
}

/** Checks the transport keys together with the listen address; the settings the program runs with. */
export function transportSettings(config: TransportConfig & { readonly listen: string }): TransportSettings {
  const { tlsCert, tlsKey, tlsCa } = config;
  if ((tlsCert === null) !== (tlsKey === null)) {
    const missing = tlsCert === null ? 'tlsCert' : 'tlsKey';
    throw new ConfigError(
      missing,
      `${missing} (--${missing === 'tlsCert' ? 'tls-cert' : 'tls-key'}) is missing: ` +
        'tlsCert (--tls-cert) and tlsKey (--tls-key) go together',
    );
  }
  if (tlsCert === null || tlsKey === null) {
    if (tlsCa !== null || config.tlsClientAuth !== null) {
      const key = tlsCa !== null ? 'tlsCa' : 'tlsClientAuth';
      throw new ConfigError(
        key,
        `${key} (--${key === 'tlsCa' ? 'tls-ca' : 'tls-client-auth'}) needs TLS: add --tls-cert and --tls-key`,
      );
    }
    return { tls: undefined, insecureListen: plaintextListen(config) };
  }
  const clientAuth = config.tlsClientAuth ?? (tlsCa === null ? 'none' : 'require');
  if (clientAuth === 'require' && tlsCa === null) {
    throw new ConfigError(
      'tlsClientAuth',
      'tlsClientAuth (--tls-client-auth) require needs tlsCa (--tls-ca): the CA client certificates are checked against',
    );
  }
  return {
    tls: {
      certFile: tlsCert,
      keyFile: tlsKey,
      caFile: tlsCa ?? undefined,
      requireClientCert: clientAuth === 'require',
    },
    insecureListen: false,
  };
}

/** Plaintext: fine on loopback; elsewhere only with --insecure (then true: warn at start). */
function plaintextListen(config: TransportConfig & { readonly listen: string }): boolean {
  const host = parseHostPort(config.listen)?.host ?? '';
  if (isLoopbackHost(host)) return false;
  if (config.insecure === 'true') return true;
  throw new ConfigError(
    'insecure',
    `listen (--listen) ${config.listen} is not a loopback address, and plaintext there lets anyone who can ` +
      'reach it read and forge every call: add --tls-cert FILE --tls-key FILE (and --tls-ca FILE for mTLS; ' +
      '`witness certs init` makes them), or add --insecure to serve plaintext anyway',
  );
}
