/**
 * `witness status` and `witness events` configuration: the one schema of the operator commands
 * (where the witness is, how to reach it securely, what to show). Loading, flag parsing and help
 * are the generic ones in load-config.ts.
 */
import {
  type CommandSpec,
  ConfigError,
  type ConfigSchema,
  loadConfig,
  optionalFileOption,
  type OptionSchema,
  parseHostPort,
  renderHelp,
} from './load-config';

export interface OperatorConfig {
  /** The witness's gRPC address, `host:port`. */
  readonly witness: string;
  readonly tlsCa: string | null;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  /** The name the witness's certificate must carry, when not the host of `witness`. */
  readonly serverName: string;
  /** File holding an operator bearer token, or null. */
  readonly tokenFile: string | null;
  /** Only this group; '' for every group. */
  readonly group: string;
  readonly json: 'true' | 'false';
  /** status: print again at every event; events: go on printing new events. */
  readonly follow: 'true' | 'false';
  /** events: how many of the latest events to print first. */
  readonly limit: number;
}

const file = (doc: string, arg: string): OptionSchema => optionalFileOption(doc, arg, 'WITNESS_OPERATOR');

const flag = (doc: string, arg: string) => ({
  doc,
  format: ['true', 'false'],
  default: 'false',
  arg,
  env: `WITNESS_OPERATOR_${arg.toUpperCase()}`,
  flag: true,
});

function schema(followDoc: string, followArg: string): ConfigSchema<OperatorConfig> {
  return {
    witness: {
      doc: "The witness's gRPC address.",
      format: 'host-port',
      default: '127.0.0.1:50051',
      arg: 'witness',
      env: 'WITNESS_OPERATOR_WITNESS',
      metavar: 'HOST:PORT',
    },
    tlsCa: file('PEM CA bundle the witness certificate is checked against. Enables TLS.', 'tls-ca'),
    tlsCert: file('PEM operator certificate, for a witness that requires one (mTLS).', 'tls-cert'),
    tlsKey: file('PEM private key of --tls-cert.', 'tls-key'),
    serverName: {
      doc: "The name in the witness's certificate, when it is not the host of --witness.",
      format: String,
      default: '',
      arg: 'server-name',
      env: 'WITNESS_OPERATOR_SERVER_NAME',
      metavar: 'NAME',
    },
    tokenFile: file(
      'File holding an operator bearer token (--admin-token-file or --admin-read-token-file).',
      'token-file',
    ),
    group: {
      doc: 'Only this group (default: every group).',
      format: String,
      default: '',
      arg: 'group',
      env: 'WITNESS_OPERATOR_GROUP',
      metavar: 'GROUP',
    },
    json: flag('Print JSON, one object a line, instead of text.', 'json'),
    follow: flag(followDoc, followArg),
    limit: {
      doc: 'events: how many of the latest events to print first (at most 1000).',
      format: 'nat',
      default: 20,
      arg: 'limit',
      env: 'WITNESS_OPERATOR_LIMIT',
      metavar: 'N',
    },
  };
}

export const STATUS_COMMAND: CommandSpec<OperatorConfig> = {
  command: 'witness status',
  schema: schema('Print again whenever an event changes a group (until Ctrl-C).', 'watch'),
};

export const EVENTS_COMMAND: CommandSpec<OperatorConfig> = {
  command: 'witness events',
  schema: schema('After the latest events, print new ones as they happen (until Ctrl-C).', 'follow'),
};

export function loadOperatorConfig(
  spec: CommandSpec<OperatorConfig>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): OperatorConfig {
  const config = loadConfig(spec, argv, env);
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    throw new ConfigError('tlsCert', 'tlsCert (--tls-cert) and tlsKey (--tls-key) go together');
  }
  if (config.tlsCert !== null && config.tlsCa === null) {
    throw new ConfigError('tlsCa', 'tlsCa (--tls-ca) is needed with --tls-cert: the witness is reached over TLS');
  }
  if (config.limit > 1000) throw new ConfigError('limit', `limit (--limit) must be at most 1000; got ${config.limit}`);
  if (parseHostPort(config.witness) === undefined)
    throw new ConfigError('witness', 'witness (--witness) must be HOST:PORT');
  return config;
}

const EXIT_CODES =
  'Exit status: 0 when the witness answered; 1 when it could not be reached or refused the call (the\n' +
  'gRPC status is printed); 2 for a bad option.';

export function statusHelp(): string {
  return renderHelp(STATUS_COMMAND, {
    usage: 'witness status [--group G] [--watch] [--json] [options]',
    description:
      'Prints every group the witness knows, one line per node: role, whether it holds the group, the\n' +
      "epoch, when the witness last heard it and how long the holder's lease still runs there, like\n" +
      "pg_autoctl show state. --json prints the witness's GroupStatus messages, one a line.",
    notes: [EXIT_CODES],
  });
}

export function eventsHelp(): string {
  return renderHelp(EVENTS_COMMAND, {
    usage: 'witness events [--group G] [--follow] [--json] [--limit N] [options]',
    description:
      'Prints the latest arbitration events the witness keeps (grants, releases, adoptions, refusals,\n' +
      'registrations), oldest first, with the rule that decided each; --follow then prints new ones.',
    notes: [EXIT_CODES],
  });
}
