/**
 * `witness serve` configuration: the one schema (flags, environment variables, config file keys,
 * defaults, help), and the checks between keys. Loading, flag parsing and help rendering are the
 * generic ones in `load-config.ts`.
 */
import { DEFAULT_TRUST_DOMAIN } from '../wire/spiffe-id';
import { formatDuration } from './duration';
import { isLoopbackHost } from './loopback';
import { type CommandSpec, ConfigError, type ConfigSchema, loadConfig, type OptionSchema } from './load-config';
import { configFileOption, type LogLevel, logLevelOption, metricsListenOption } from './shared-options';
import { parseHostPort } from './config-formats';
import { renderHelp } from './render-help';
import { type AlertConfig, alertSchema } from './alert-options';
import { type TransportConfig, transportSchema, transportSettings } from './transport-options';
import { type StoreConfig, storeSchema } from './etcd-options';

export { ConfigError } from './load-config';
export { LOG_LEVELS, type LogLevel } from './shared-options';

/** What `witness serve` runs with. Durations are milliseconds. */
export interface WitnessConfig extends TransportConfig, AlertConfig, StoreConfig {
  /** gRPC listen address: `host:port`, or `[v6]:port`. */
  readonly listen: string;
  /** Directory of the witness's durable store. */
  readonly dataDir: string;
  /** The longest lease the witness grants, in ms. */
  readonly lease: number;
  /** The lease granted to a request that asks for none, in ms; at most `lease`. */
  readonly defaultLease: number;
  /** Bound on clock-rate error, as a fraction (rho in design §4.1). */
  readonly clockDrift: number;
  /** Safety margin added on the witness's side of every lease, in ms (eps in design §4.1). */
  readonly margin: number;
  /** Silence after which a group nobody holds is forgotten, in ms; 0 never forgets. */
  readonly forgetAfter: number;
  /** Silence of a holder after which the countdown to a takeover is announced, in ms; 0: never. */
  readonly holderSilentAfter: number;
  /** The freshness gate (design §21.4), in ms: a standby synced longer ago is refused a takeover; null: no gate. */
  readonly maxSyncAge: number | null;
  /** A standby not synced for this long is announced (event sync-stale, design §21.3), in ms; null: never. */
  readonly syncAlertAfter: number | null;
  /** The groups file declaring each group's members (design §17.4), or null. */
  readonly groupsFile: string | null;
  /** 'true': any caller may join any group, first come (loopback and tests only, design §17.1). */
  readonly openRegistration: 'true' | 'false';
  /** The SPIFFE trust domain of node and operator identities in certificates. */
  readonly trustDomain: string;
  /** Where a client certificate names its node: its URI SAN or its subject CN. */
  readonly identityFrom: 'uri-san' | 'cn';
  /** File holding the bearer token of operators with the write role, or null. */
  readonly adminTokenFile: string | null;
  /** File holding the bearer token of operators with the read role, or null. */
  readonly adminReadTokenFile: string | null;
  /** Limits (design §17.6): groups, streams, watchers and their backlog, calls per connection, request size. */
  readonly maxGroups: number;
  readonly maxKeepaliveStreams: number;
  readonly maxWatchers: number;
  readonly watchBacklog: number;
  readonly eventHistory: number;
  readonly maxStreamsPerConnection: number;
  readonly maxMessageSize: number;
  /** HTTP address of /metrics, /healthz, /readyz (design §19.1); '' serves none. */
  readonly metricsListen: string;
  readonly logLevel: LogLevel;
  /** The config file that was read, or null. */
  readonly config: string | null;
}

/** The schema. Its order is the order of `witness serve --help`. */
/** As loaded: an unset `holderSilentAfter` follows the lease (half of it). */
type WitnessSettings = Omit<WitnessConfig, 'holderSilentAfter'> & { readonly holderSilentAfter: number | null };

/**
 * The countdown starts half way into a lease unless told otherwise: 1 s at the 2 s default. A
 * running sidecar renews every 276 ms at the defaults (design §4.6), so two lost renewals in a row
 * stay quiet and the third announces, with a second left; a quarter (500 ms) announced every
 * single lost renewal, a mail for each dropped packet with the default --alert-events.
 */
const HOLDER_SILENT_SHARE_OF_LEASE = 2;

export const witnessSchema: ConfigSchema<WitnessSettings> = {
  listen: {
    doc: 'Address the gRPC server listens on.',
    format: 'host-port',
    default: '127.0.0.1:50051',
    arg: 'listen',
    env: 'WITNESS_LISTEN',
  },
  dataDir: {
    doc: "Directory of the witness's durable store (holders and epochs of every group).",
    format: 'path',
    default: './witness-data',
    arg: 'data-dir',
    env: 'WITNESS_DATA_DIR',
    metavar: 'DIR',
  },
  ...storeSchema,
  lease: {
    doc: 'Longest lease granted; also how long a restarted witness grants nothing new (plus drift, margin).',
    format: 'duration',
    default: '2s',
    min: '50ms',
    max: '10m',
    arg: 'lease',
    env: 'WITNESS_LEASE',
  },
  defaultLease: {
    doc: 'Lease granted to a request that asks for none; at most --lease.',
    format: 'duration',
    default: '1s',
    min: '50ms',
    max: '10m',
    arg: 'default-lease',
    env: 'WITNESS_DEFAULT_LEASE',
  },
  clockDrift: {
    doc: 'Assumed bound on clock-rate error between machines, as a fraction (0.01 = 1%).',
    format: 'decimal',
    default: 0.01,
    min: 0,
    max: 0.1,
    arg: 'clock-drift',
    env: 'WITNESS_CLOCK_DRIFT',
  },
  margin: {
    doc: 'Safety margin the witness adds to every lease it holds for a node.',
    format: 'duration',
    default: '50ms',
    min: '0ms',
    max: '10s',
    arg: 'margin',
    env: 'WITNESS_MARGIN',
  },
  forgetAfter: {
    doc:
      'Forget a group (its record and memory) once nobody holds it and neither node was heard for this ' +
      'long; 0 never forgets. A name used again gets epochs above every earlier one. Keep it above the ' +
      "members' --timeout: a standby heartbeats only three times a --timeout, and a shorter value forgets " +
      'groups whose standby is alive.',
    format: 'duration',
    default: '24h',
    max: '8760h',
    arg: 'forget-after',
    env: 'WITNESS_FORGET_AFTER',
  },
  holderSilentAfter: {
    doc:
      'Announce the countdown to a takeover (event holder-silent) once a holder has not been heard for this ' +
      'long while its lease still runs; 0 never. Less than --lease. Unset: half of --lease (holders asking a ' +
      'lease of half of --lease or less then get no countdown: set it for them).',
    format: 'duration',
    nullable: true,
    default: null,
    max: '10m',
    arg: 'holder-silent-after',
    env: 'WITNESS_HOLDER_SILENT_AFTER',
  },
  maxSyncAge: {
    doc:
      'Refuse a takeover (Acquire) by a standby whose last successful sync is older than this, or that ' +
      'reports none (design §21.4); `witness switchover --force` overrides it. Unset: no freshness gate.',
    format: 'duration',
    nullable: true,
    default: null,
    min: '1ms',
    max: '8760h',
    arg: 'max-sync-age',
    env: 'WITNESS_MAX_SYNC_AGE',
  },
  syncAlertAfter: {
    doc:
      'Announce a standby that has not synced successfully for this long (event sync-stale, and ' +
      'sync-recovered once it has again; design §21.3). Unset: no sync alerts.',
    format: 'duration',
    nullable: true,
    default: null,
    min: '1ms',
    max: '8760h',
    arg: 'sync-alert-after',
    env: 'WITNESS_SYNC_ALERT_AFTER',
  },
  groupsFile: {
    doc: "YAML file declaring each group's members, roles, identities and key file; a node it does not name is refused.",
    format: 'path',
    nullable: true,
    default: null,
    arg: 'groups-file',
    env: 'WITNESS_GROUPS_FILE',
    metavar: 'FILE',
  },
  openRegistration: {
    doc: 'Any caller may join any group, the first two nodes its members, with no credentials (loopback only).',
    format: ['true', 'false'],
    default: 'false',
    arg: 'open-registration',
    env: 'WITNESS_OPEN_REGISTRATION',
    flag: true,
  },
  trustDomain: {
    doc: 'SPIFFE trust domain of identities in certificates: spiffe://DOMAIN/group/G/node/N, spiffe://DOMAIN/operator/NAME.',
    format: 'trust-domain',
    default: DEFAULT_TRUST_DOMAIN,
    arg: 'trust-domain',
    env: 'WITNESS_TRUST_DOMAIN',
    metavar: 'DOMAIN',
  },
  identityFrom: {
    doc: "Where a node's certificate names it: its URI SAN (a SPIFFE id), or its subject CN (compared with --groups-file).",
    format: ['uri-san', 'cn'],
    default: 'uri-san',
    arg: 'identity-from',
    env: 'WITNESS_IDENTITY_FROM',
  },
  adminTokenFile: {
    doc: 'File holding the bearer token that gives Admin calls the operator write role.',
    format: 'path',
    nullable: true,
    default: null,
    arg: 'admin-token-file',
    env: 'WITNESS_ADMIN_TOKEN_FILE',
    metavar: 'FILE',
  },
  adminReadTokenFile: {
    doc: 'File holding the bearer token that gives Admin calls the read-only role.',
    format: 'path',
    nullable: true,
    default: null,
    arg: 'admin-read-token-file',
    env: 'WITNESS_ADMIN_READ_TOKEN_FILE',
    metavar: 'FILE',
  },
  maxGroups: limit(
    'Groups this witness serves; a heartbeat that would create one more is refused.',
    'max-groups',
    50_000,
  ),
  maxKeepaliveStreams: limit('KeepAlive streams open at once, from all callers.', 'max-keepalive-streams', 100_000),
  maxWatchers: limit('Admin.Watch streams open at once.', 'max-watchers', 64),
  watchBacklog: limit('Events a Watch stream may leave unread before it is dropped.', 'watch-backlog', 1_000),
  eventHistory: limit(
    'Latest events kept for Watch streams that resume (WatchRequest.after_id).',
    'event-history',
    10_000,
  ),
  maxStreamsPerConnection: limit(
    'Concurrent calls on one HTTP/2 connection (a sidecar needs a few).',
    'max-streams-per-connection',
    1_000,
  ),
  maxMessageSize: { ...limit('Largest request accepted, in bytes.', 'max-message-size', 65_536), metavar: 'BYTES' },
  ...transportSchema('WITNESS', 'the witness'),
  ...alertSchema,
  metricsListen: metricsListenOption('WITNESS', 'the witness'),
  logLevel: logLevelOption('WITNESS'),
  config: configFileOption('WITNESS'),
};

/** A count of at least 1; the refusal when it is reached names the flag. */
function limit(doc: string, arg: string, value: number): OptionSchema {
  return {
    doc,
    format: 'positive-int',
    default: value,
    arg,
    env: `WITNESS_${arg.toUpperCase().replaceAll('-', '_')}`,
    metavar: 'N',
  };
}

const witnessCommand: CommandSpec<WitnessSettings> = {
  command: 'witness serve',
  schema: witnessSchema,
  fileKey: 'config',
};

/** Checks between keys, after each key is valid on its own. */
function checkWitnessConfig(config: WitnessConfig): void {
  // How the port is secured comes first: admission depends on it (a CA may vouch for callers).
  transportSettings(config);
  checkAdmission(config);
  if (config.defaultLease > config.lease) {
    throw new ConfigError(
      'defaultLease',
      `defaultLease (--default-lease) must not exceed lease (--lease); ` +
        `got defaultLease ${formatDuration(config.defaultLease)} and lease ${formatDuration(config.lease)}`,
    );
  }
  if (config.holderSilentAfter >= config.lease) {
    throw new ConfigError(
      'holderSilentAfter',
      `holderSilentAfter (--holder-silent-after) must be less than lease (--lease), or 0: a lease runs out ` +
        `before its holder could be announced silent; got ${formatDuration(config.holderSilentAfter)} ` +
        `and lease ${formatDuration(config.lease)}`,
    );
  }
}

/** Exactly one way nodes are admitted (design §17.1), and open admission only on loopback. */
function checkAdmission(config: WitnessConfig): void {
  const open = config.openRegistration === 'true';
  if (open && config.groupsFile !== null) {
    throw new ConfigError(
      'openRegistration',
      'openRegistration (--open-registration) and groupsFile (--groups-file) exclude each other: ' +
        'members are either declared or first come',
    );
  }
  if (!open && config.groupsFile === null && !caVouches(config)) {
    throw new ConfigError(
      'groupsFile',
      'groupsFile (--groups-file) is needed: the witness must know which nodes may join which group ' +
        '(or let a CA vouch for node identities with --tls-ca and --tls-client-auth require, ' +
        'or, on loopback only, give --open-registration)',
    );
  }
  if (config.identityFrom === 'cn' && config.groupsFile === null) {
    throw new ConfigError(
      'identityFrom',
      'identityFrom (--identity-from) cn needs groupsFile (--groups-file), which names each CN',
    );
  }
  if (open && !isLoopbackHost(parseHostPort(config.listen)?.host ?? '')) {
    throw new ConfigError(
      'openRegistration',
      `openRegistration (--open-registration) is allowed only on a loopback address, not ${config.listen}: ` +
        'anyone who reaches the port could join a group; declare members with --groups-file',
    );
  }
}

/** Mutual TLS with a CA: certificates name the callers, so the CA can vouch for node identities. */
export function caVouches(config: WitnessConfig): boolean {
  return config.tlsCa !== null && config.tlsClientAuth !== 'none';
}

/**
 * `witness serve`'s configuration from `argv` (the options after `serve`) and `env`:
 * defaults < config file < environment < flags. Throws `ConfigError`.
 */
export function loadWitnessConfig(argv: string[], env: NodeJS.ProcessEnv): WitnessConfig {
  const settings = loadConfig(witnessCommand, argv, env);
  const config: WitnessConfig = {
    ...settings,
    holderSilentAfter: settings.holderSilentAfter ?? Math.floor(settings.lease / HOLDER_SILENT_SHARE_OF_LEASE),
  };
  checkWitnessConfig(config);
  return config;
}

/** `witness serve --help`, generated from the schema. */
export function witnessHelp(): string {
  return renderHelp(witnessCommand, {
    usage: 'witness serve [options]',
    description:
      'Runs the witness: the gRPC service that records which node of each group is active, hands out\n' +
      'leases and epochs, and lets a secondary take over only once the primary has lost its lease.',
    notes: ['Durations: 200ms, 1s, 1.5s, 2m, or plain milliseconds (250).'],
  });
}
