/**
 * `witness serve` configuration: the one schema (flags, environment variables, config file keys,
 * defaults, help), and the checks between keys. Loading, flag parsing and help rendering are the
 * generic ones in `load-config.ts`.
 */
import { formatDuration } from './duration';
import {
  type CommandSpec,
  ConfigError,
  type ConfigSchema,
  configFileOption,
  loadConfig,
  type LogLevel,
  logLevelOption,
  renderHelp,
} from './load-config';
import { type TransportConfig, transportSchema, transportSettings } from './transport-options';

export { ConfigError, LOG_LEVELS, type LogLevel } from './load-config';

/** What `witness serve` runs with. Durations are milliseconds. */
export interface WitnessConfig extends TransportConfig {
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
  readonly logLevel: LogLevel;
  /** The config file that was read, or null. */
  readonly config: string | null;
}

/** The schema. Its order is the order of `witness serve --help`. */
export const witnessSchema: ConfigSchema<WitnessConfig> = {
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
      'long; 0 never forgets. A name used again gets epochs above every earlier one.',
    format: 'duration',
    default: '24h',
    max: '8760h',
    arg: 'forget-after',
    env: 'WITNESS_FORGET_AFTER',
  },
  ...transportSchema('WITNESS', 'the witness'),
  logLevel: logLevelOption('WITNESS'),
  config: configFileOption('WITNESS'),
};

const witnessCommand: CommandSpec<WitnessConfig> = {
  command: 'witness serve',
  schema: witnessSchema,
  fileKey: 'config',
};

/** Checks between keys, after each key is valid on its own. */
function checkWitnessConfig(config: WitnessConfig): void {
  if (config.defaultLease > config.lease) {
    throw new ConfigError(
      'defaultLease',
      `defaultLease (--default-lease) must not exceed lease (--lease); ` +
        `got defaultLease ${formatDuration(config.defaultLease)} and lease ${formatDuration(config.lease)}`,
    );
  }
  transportSettings(config);
}

/**
 * `witness serve`'s configuration from `argv` (the options after `serve`) and `env`:
 * defaults < config file < environment < flags. Throws `ConfigError`.
 */
export function loadWitnessConfig(argv: string[], env: NodeJS.ProcessEnv): WitnessConfig {
  const config = loadConfig(witnessCommand, argv, env);
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
