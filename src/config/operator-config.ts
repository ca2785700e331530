/**
 * `witness status`, `events`, `maintenance`, `switchover`, `failback`, `remove-node`,
 * `readmit-node` and `break-group` configuration: the one schema of the operator commands (where the witness is, how to reach it securely, what to show or ask). Loading, flag parsing and help
 * are the generic ones in load-config.ts.
 */
import { type CommandSpec, ConfigError, type ConfigSchema, loadConfig, type OptionSchema } from './load-config';
import { optionalFileOption } from './shared-options';
import { parseHostPort } from './config-formats';
import { renderHelp } from './render-help';

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

/** What `witness switchover` asks, beside the connection: a group. */
export type SwitchoverConfig = Omit<OperatorConfig, 'follow' | 'limit'>;

/** What `witness readmit-node` asks: a group and a node. */
export interface NodeConfig extends SwitchoverConfig {
  readonly node: string;
}

/** What `witness maintenance` and `witness remove-node` ask: a group, a node, and whether to force it. */
export interface MaintenanceConfig extends NodeConfig {
  /** Go ahead although the node is active (each command says what that stops). */
  readonly force: 'true' | 'false';
}

/** What `witness break-group` asks: a group, whether to force it, and whether only the sync relationship breaks. */
export interface BreakGroupConfig extends SwitchoverConfig {
  readonly force: 'true' | 'false';
  readonly syncOnly: 'true' | 'false';
}

/** What `witness switchover` asks: a group, and whether past the freshness gate (design §21.4). */
export interface ForcedSwitchoverConfig extends SwitchoverConfig {
  readonly force: 'true' | 'false';
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
    ...connection(),
    group: {
      doc: 'Only this group (default: every group).',
      format: String,
      default: '',
      arg: 'group',
      env: 'WITNESS_OPERATOR_GROUP',
      metavar: 'GROUP',
    },
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

export function switchoverSchema(): ConfigSchema<SwitchoverConfig> {
  return {
    ...connection(),
    group: {
      doc: 'The group (required).',
      format: String,
      default: '',
      arg: 'group',
      env: 'WITNESS_OPERATOR_GROUP',
      metavar: 'GROUP',
    },
  };
}

function nodeSchema(nodeDoc: string): ConfigSchema<NodeConfig> {
  return {
    ...switchoverSchema(),
    node: { doc: nodeDoc, format: String, default: '', arg: 'node', env: 'WITNESS_OPERATOR_NODE', metavar: 'NODE' },
  };
}

/**
 * `envPrefix` names the variables of --node and --force of a command that removes: a variable
 * exported for one command must never force, or name the node of, another.
 */
function forcedNodeSchema(
  nodeDoc: string,
  forceDoc: string,
  envPrefix = 'WITNESS_OPERATOR',
): ConfigSchema<MaintenanceConfig> {
  const schema = nodeSchema(nodeDoc);
  return {
    ...schema,
    node: { ...schema.node, env: `${envPrefix}_NODE` },
    force: { ...flag(forceDoc, 'force'), env: `${envPrefix}_FORCE` },
  };
}

function connection(): ConfigSchema<Omit<OperatorConfig, 'group' | 'follow' | 'limit'>> {
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
    json: flag('Print JSON, one object a line, instead of text.', 'json'),
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

export const MAINTENANCE_COMMAND: CommandSpec<MaintenanceConfig> = {
  command: 'witness maintenance',
  schema: forcedNodeSchema(
    'The node to put in or take out of maintenance (required).',
    'maintenance on: stop an active node even though its peer was not heard within the default lease (nobody takes over).',
  ),
};

export const REMOVE_NODE_COMMAND: CommandSpec<MaintenanceConfig> = {
  command: 'witness remove-node',
  schema: forcedNodeSchema(
    'The node to remove from the group (required).',
    'Remove the node although it is active: its workload stops, and its peer takes over if it can.',
    'WITNESS_OPERATOR_REMOVE',
  ),
};

export const READMIT_NODE_COMMAND: CommandSpec<NodeConfig> = {
  command: 'witness readmit-node',
  schema: nodeSchema('The removed node to readmit (required).'),
};

export const BREAK_GROUP_COMMAND: CommandSpec<BreakGroupConfig> = {
  command: 'witness break-group',
  schema: {
    ...switchoverSchema(),
    force: {
      ...flag('Break the group although a node is active: its workload stops.', 'force'),
      env: 'WITNESS_OPERATOR_BREAK_FORCE',
    },
    syncOnly: {
      ...flag(
        'Break only the sync relationship (design §21.5): the standby is removed and stops syncing, the active node runs on.',
        'sync-only',
      ),
      env: 'WITNESS_OPERATOR_BREAK_SYNC_ONLY',
    },
  },
};

export const SWITCHOVER_COMMAND: CommandSpec<ForcedSwitchoverConfig> = {
  command: 'witness switchover',
  schema: {
    ...switchoverSchema(),
    force: {
      ...flag(
        "Switch over although the peer's last sync is older than the witness's --max-sync-age (design §21.4).",
        'force',
      ),
      env: 'WITNESS_OPERATOR_SWITCHOVER_FORCE',
    },
  },
};

export const FAILBACK_COMMAND: CommandSpec<SwitchoverConfig> = {
  command: 'witness failback',
  schema: switchoverSchema(),
};

/** `witness switchover ...`: the group is required. */
export function loadSwitchoverConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ForcedSwitchoverConfig {
  return loadGroupConfig(SWITCHOVER_COMMAND, argv, env);
}

/** A command about one group (`failback`, `sync`...): the group is required. */
export function loadGroupConfig<C extends SwitchoverConfig>(
  spec: CommandSpec<C>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): C {
  return requireGroup(checkConnection(loadConfig(spec, argv, env)));
}

/** `witness maintenance on|off ...`, `remove-node`, `readmit-node`: the group and the node are required. */
export function loadNodeConfig<C extends NodeConfig>(
  spec: CommandSpec<C>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): C {
  const config = requireGroup(checkConnection(loadConfig(spec, argv, env)));
  if (config.node === '') throw new ConfigError('node', 'node (--node) is required');
  return config;
}

/** `witness break-group ...`: the group is required. */
export function loadBreakGroupConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BreakGroupConfig {
  return requireGroup(checkConnection(loadConfig(BREAK_GROUP_COMMAND, argv, env)));
}

function requireGroup<C extends SwitchoverConfig>(config: C): C {
  if (config.group === '') throw new ConfigError('group', 'group (--group) is required');
  return config;
}

export function loadOperatorConfig(
  spec: CommandSpec<OperatorConfig>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): OperatorConfig {
  const config = checkConnection(loadConfig(spec, argv, env));
  if (config.limit > 1000) throw new ConfigError('limit', `limit (--limit) must be at most 1000; got ${config.limit}`);
  return config;
}

function checkConnection<C extends Omit<OperatorConfig, 'group' | 'follow' | 'limit'>>(config: C): C {
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    throw new ConfigError('tlsCert', 'tlsCert (--tls-cert) and tlsKey (--tls-key) go together');
  }
  if (config.tlsCert !== null && config.tlsCa === null) {
    throw new ConfigError('tlsCa', 'tlsCa (--tls-ca) is needed with --tls-cert: the witness is reached over TLS');
  }
  if (parseHostPort(config.witness) === undefined)
    throw new ConfigError('witness', 'witness (--witness) must be HOST:PORT');
  return config;
}

export const EXIT_CODES_TEXT =
  'Exit status: 0 when the witness answered; 1 when it could not be reached or refused the call (the\n' +
  'gRPC status is printed); 2 for a bad option.';

export function statusHelp(): string {
  return renderHelp(STATUS_COMMAND, {
    usage: 'witness status [--group G] [--watch] [--json] [options]',
    description:
      'Prints every group the witness knows, one line per node: role, whether it holds the group, the\n' +
      "epoch, when the witness last heard it and how long the holder's lease still runs there, like\n" +
      "pg_autoctl show state. --json prints the witness's GroupStatus messages, one a line.",
    notes: [EXIT_CODES_TEXT],
  });
}

export function eventsHelp(): string {
  return renderHelp(EVENTS_COMMAND, {
    usage: 'witness events [--group G] [--follow] [--json] [--limit N] [options]',
    description:
      'Prints the latest arbitration events the witness keeps (grants, releases, adoptions, refusals,\n' +
      'registrations), oldest first, with the rule that decided each; --follow then prints new ones.',
    notes: [EXIT_CODES_TEXT],
  });
}

export function maintenanceHelp(): string {
  return renderHelp(MAINTENANCE_COMMAND, {
    usage: 'witness maintenance on|off --group G --node N [--force] [options]',
    description:
      'Puts a node in maintenance, or takes it out (design §9.6). A node in maintenance is granted\n' +
      'nothing; an active one stops, releases and hands the group to its peer, which takes over at\n' +
      "once. Refused for an active node whose peer was not heard within the witness's default lease,\n" +
      'unless --force (then the workload stops and nobody takes over). Durable at the witness: it\n' +
      'survives a restart. Needs the operator write role. Prints the group as `witness status` does.',
    notes: [EXIT_CODES_TEXT],
  });
}

export function removeNodeHelp(): string {
  return renderHelp(REMOVE_NODE_COMMAND, {
    usage: 'witness remove-node --group G --node N [--force] [options]',
    description:
      'Removes a node from its group (design §9.7): it is granted nothing and runs nothing until\n' +
      '`witness readmit-node`, and keeps its place, so no other node joins in its stead. Refused\n' +
      'while the node is active, unless --force (it then stops, releases and hands the group to its\n' +
      'peer, which takes over at once if it can). Durable at the witness. Needs the operator write\n' +
      'role. Prints the group as `witness status` does.',
    notes: [EXIT_CODES_TEXT],
  });
}

export function readmitNodeHelp(): string {
  return renderHelp(READMIT_NODE_COMMAND, {
    usage: 'witness readmit-node --group G --node N [options]',
    description:
      'Undoes `witness remove-node` or `witness break-group` for one node (design §9.7): it may be\n' +
      'granted again and runs as the tables say. Durable at the witness. Needs the operator write\n' +
      'role. Prints the group as `witness status` does.',
    notes: [EXIT_CODES_TEXT],
  });
}

export function breakGroupHelp(): string {
  return renderHelp(BREAK_GROUP_COMMAND, {
    usage: 'witness break-group --group G [--force | --sync-only] [options]',
    description:
      'Breaks the pair (design §9.7): both members are removed, so nothing of the group runs until\n' +
      'a node is readmitted (`witness readmit-node`). Refused until both members have reported in\n' +
      'since the witness started, and while a node is active unless --force (its workload then\n' +
      'stops). With --sync-only, only the sync relationship breaks (design §21.5): the standby is\n' +
      'removed, stops syncing and takes nothing over, the active node runs on untouched; refused\n' +
      'while a takeover may be under way. Durable at the witness. Needs the operator write role.\n' +
      'Prints the group as `witness status` does.',
    notes: [EXIT_CODES_TEXT],
  });
}

export function failbackHelp(): string {
  return renderHelp(FAILBACK_COMMAND, {
    usage: 'witness failback auto|manual|node --group G [options]',
    description:
      "Sets the group's fail-back policy at the witness (design §9.4), overriding each sidecar's own\n" +
      '--failback from their next heartbeat: auto, the preferred primary takes the group back once\n' +
      'healthy for its --failback-delay (a hand-over, no lease waited out); manual, never by itself\n' +
      "(as pg_auto_failover and Patroni do); node, each sidecar's own --failback again. Durable at the\n" +
      'witness. Needs the operator write role. Prints the group as `witness status` does.',
    notes: [EXIT_CODES_TEXT],
  });
}

export function switchoverHelp(): string {
  return renderHelp(SWITCHOVER_COMMAND, {
    usage: 'witness switchover --group G [--force] [options]',
    description:
      'Asks the active node of the group to hand it to its peer (design §9.6): it stops, releases\n' +
      'and tells its peer, which takes over at once, without waiting out a lease. Refused when\n' +
      "nobody is active, or the peer was not heard within the witness's default lease or is in\n" +
      'maintenance. With --failback auto a switchover away from the primary is undone by fail-back\n' +
      "after the delay; put the primary in maintenance to keep it off. With the witness's\n" +
      "--max-sync-age, refused while the peer's copy is older than that, unless --force (design §21.4).\n" +
      'Needs the operator write role.',
    notes: [EXIT_CODES_TEXT],
  });
}
