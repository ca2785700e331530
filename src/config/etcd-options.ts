/**
 * `witness serve`'s store options (design §20): the embedded file store, or an etcd cluster shared
 * by witness replicas, with etcd's own TLS and user/password options passed through. The password
 * comes from a file, never a flag, so that it shows neither in `ps` nor in a log of the command line.
 */
import fs from 'node:fs';
import { electionLeaseEnd } from '../core/lease';
import { parseHostPort } from './config-formats';
import { ConfigError, type ConfigSchema, type OptionSchema } from './load-config';
import { readConfiguredProtectedFile } from './secret-file';
import { optionalFileOption } from './shared-options';

export interface StoreConfig {
  readonly store: 'file' | 'etcd';
  /** Comma-separated http(s) URLs of etcd members; '' with the file store. */
  readonly etcdEndpoints: string;
  readonly etcdPrefix: string;
  /** The TTL of the election lease, in ms (whole seconds: etcd counts TTLs in seconds). */
  readonly etcdElectionTtl: number;
  readonly etcdCa: string | null;
  readonly etcdCert: string | null;
  readonly etcdKey: string | null;
  readonly etcdUser: string;
  readonly etcdPasswordFile: string | null;
  /** The address other replicas point callers to while this one leads; '' means --listen. */
  readonly advertise: string;
}

/** What the etcd store is opened with; secrets read, files loaded. */
export interface EtcdSettings {
  readonly endpoints: readonly string[];
  /** The address other replicas name to callers while this one leads. */
  readonly advertise: string;
  readonly prefix: string;
  readonly electionTtlSeconds: number;
  readonly tls: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer } | undefined;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
}

const ETCD_KEYS = [
  'etcdEndpoints',
  'etcdCa',
  'etcdCert',
  'etcdKey',
  'etcdUser',
  'etcdPasswordFile',
  'advertise',
] as const satisfies readonly (keyof StoreConfig)[];

/** What else the store keys are checked against: the clocks' bounds and the gRPC address. */
export interface StoreContext {
  readonly clockDrift: number;
  readonly margin: number;
  readonly listen: string;
}

const file = (doc: string, arg: string): OptionSchema => optionalFileOption(doc, arg, 'WITNESS');

export const storeSchema: ConfigSchema<StoreConfig> = {
  store: {
    doc: 'Where holders and epochs are kept: file (the embedded store in --data-dir, one witness) or etcd (replicas over an etcd cluster).',
    format: ['file', 'etcd'],
    default: 'file',
    arg: 'store',
    env: 'WITNESS_STORE',
  },
  etcdEndpoints: {
    doc: 'etcd members (comma-separated http:// or https:// URLs); needed with --store etcd.',
    format: String,
    default: '',
    arg: 'etcd-endpoints',
    env: 'WITNESS_ETCD_ENDPOINTS',
    metavar: 'URL[,URL...]',
  },
  etcdPrefix: {
    doc: 'Key prefix of this witness deployment in etcd, so that several can share one cluster; ends with /.',
    format: String,
    default: '/failover-witness/',
    arg: 'etcd-prefix',
    env: 'WITNESS_ETCD_PREFIX',
    metavar: 'PREFIX',
  },
  etcdElectionTtl: {
    doc: 'TTL of the leader election lease (whole seconds): a crashed leader is replaced after about this long, plus the start-up grace.',
    format: 'duration',
    default: '2s',
    min: '2s',
    max: '60s',
    arg: 'etcd-election-ttl',
    env: 'WITNESS_ETCD_ELECTION_TTL',
  },
  etcdCa: file('PEM CA bundle the etcd members are checked against; needed with https:// endpoints.', 'etcd-ca'),
  etcdCert: file('PEM client certificate presented to etcd (with --etcd-key).', 'etcd-cert'),
  etcdKey: file('PEM private key of --etcd-cert (kept 0600).', 'etcd-key'),
  etcdUser: {
    doc: 'etcd user name; needs --etcd-password-file.',
    format: String,
    default: '',
    arg: 'etcd-user',
    env: 'WITNESS_ETCD_USER',
    metavar: 'NAME',
  },
  etcdPasswordFile: file('File holding the etcd user password (kept 0600).', 'etcd-password-file'),
  advertise: {
    doc: 'host:port other witness replicas name to callers while this one leads (default: --listen).',
    format: String,
    default: '',
    arg: 'advertise',
    env: 'WITNESS_ADVERTISE',
    metavar: 'HOST:PORT',
  },
};

/** Checks the store keys together; the etcd settings, or undefined for the file store. Throws ConfigError. */
export function etcdSettings(config: StoreConfig & StoreContext): EtcdSettings | undefined {
  if (config.store === 'file') {
    for (const key of ETCD_KEYS) {
      if (config[key] !== '' && config[key] !== null) throw new ConfigError(key, `${key} needs store (--store) etcd`);
    }
    return undefined;
  }
  const endpoints = config.etcdEndpoints
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0) {
    throw new ConfigError('etcdEndpoints', 'etcdEndpoints (--etcd-endpoints) is needed with store (--store) etcd');
  }
  for (const endpoint of endpoints) checkEndpoint(endpoint);
  if (!config.etcdPrefix.startsWith('/') || !config.etcdPrefix.endsWith('/') || config.etcdPrefix.length < 2) {
    throw new ConfigError(
      'etcdPrefix',
      `etcdPrefix (--etcd-prefix) must start and end with / and name something (like /failover-witness/), got "${config.etcdPrefix}"`,
    );
  }
  if (config.etcdElectionTtl % 1000 !== 0) {
    throw new ConfigError(
      'etcdElectionTtl',
      `etcdElectionTtl (--etcd-election-ttl) must be whole seconds (etcd counts lease TTLs in seconds), got ${config.etcdElectionTtl}ms`,
    );
  }
  checkDecidingWindow(config);
  if ((config.etcdUser === '') !== (config.etcdPasswordFile === null)) {
    throw new ConfigError(
      config.etcdUser === '' ? 'etcdUser' : 'etcdPasswordFile',
      'etcdUser (--etcd-user) and etcdPasswordFile (--etcd-password-file) go together',
    );
  }
  return {
    endpoints,
    advertise: advertisedAddress(config),
    prefix: config.etcdPrefix,
    electionTtlSeconds: config.etcdElectionTtl / 1000,
    tls: etcdTls(config, endpoints),
    auth:
      config.etcdPasswordFile === null
        ? undefined
        : {
            username: config.etcdUser,
            password: readConfiguredProtectedFile(config.etcdPasswordFile, 'etcdPasswordFile', '--etcd-password-file'),
          },
  };
}

/**
 * A leader decides for `TTL(1-rho)/(1+rho) - margin` after each answered keep-alive (design §20.2),
 * and keep-alives go every sixth of the TTL: less than half the TTL to decide leaves too little
 * room for a slow keep-alive, and a leader that keeps losing its time to decide.
 */
function checkDecidingWindow(config: StoreConfig & StoreContext): void {
  const ttl = config.etcdElectionTtl;
  const window = electionLeaseEnd(0, ttl, { rho: config.clockDrift, marginMs: config.margin });
  if (window < ttl / 2) {
    throw new ConfigError(
      'etcdElectionTtl',
      `etcdElectionTtl (--etcd-election-ttl) ${ttl}ms leaves a leader ${Math.floor(window)}ms to decide after each ` +
        `keep-alive with clockDrift ${config.clockDrift} and margin ${config.margin}ms; at least half the TTL is ` +
        'needed: raise --etcd-election-ttl or lower --margin',
    );
  }
}

/** --advertise, or --listen when that names an address others can reach. */
function advertisedAddress(config: StoreConfig & StoreContext): string {
  if (config.advertise !== '') {
    if (parseHostPort(config.advertise) === undefined)
      throw new ConfigError('advertise', `advertise (--advertise): "${config.advertise}" is not HOST:PORT`);
    return config.advertise;
  }
  const host = parseHostPort(config.listen, 0)?.host ?? '';
  if (host === '0.0.0.0' || host === '::') {
    throw new ConfigError(
      'advertise',
      `advertise (--advertise) is needed with store (--store) etcd: listen (--listen) ${config.listen} names no ` +
        'address the other replicas could point callers to; give the HOST:PORT callers reach this replica at',
    );
  }
  return config.listen;
}

function checkEndpoint(endpoint: string): void {
  const url = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  const bare =
    url !== undefined && (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '';
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || !bare) {
    throw new ConfigError(
      'etcdEndpoints',
      `etcdEndpoints (--etcd-endpoints): "${endpoint}" is not http://HOST:PORT or https://HOST:PORT`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'etcdEndpoints',
      'etcdEndpoints (--etcd-endpoints) must not carry a user or password: use --etcd-user and --etcd-password-file',
    );
  }
}

function etcdTls(config: StoreConfig, endpoints: readonly string[]): EtcdSettings['tls'] {
  const secure = endpoints.filter((e) => e.startsWith('https:')).length;
  if (secure !== 0 && secure !== endpoints.length) {
    throw new ConfigError('etcdEndpoints', 'etcdEndpoints (--etcd-endpoints) are either all https:// or all http://');
  }
  if ((config.etcdCert === null) !== (config.etcdKey === null)) {
    const missing = config.etcdCert === null ? 'etcdCert' : 'etcdKey';
    throw new ConfigError(missing, 'etcdCert (--etcd-cert) and etcdKey (--etcd-key) go together');
  }
  if (secure === 0) {
    const key = config.etcdCa !== null ? 'etcdCa' : config.etcdCert !== null ? 'etcdCert' : undefined;
    if (key !== undefined) throw new ConfigError(key, `${key} needs https:// etcdEndpoints (--etcd-endpoints)`);
    return undefined;
  }
  if (config.etcdCa === null) {
    throw new ConfigError('etcdCa', 'etcdCa (--etcd-ca) is needed with https:// etcdEndpoints (--etcd-endpoints)');
  }
  return {
    ca: readPem(config.etcdCa, 'etcdCa', '--etcd-ca'),
    ...(config.etcdCert === null || config.etcdKey === null
      ? {}
      : {
          cert: readPem(config.etcdCert, 'etcdCert', '--etcd-cert'),
          key: Buffer.from(readConfiguredProtectedFile(config.etcdKey, 'etcdKey', '--etcd-key')),
        }),
  };
}

function readPem(path: string, key: string, flag: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(key, `${key} (${flag}): ${path} cannot be read (${code})`);
  }
}
