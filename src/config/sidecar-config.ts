/**
 * `witness sidecar` configuration: the one schema and the checks between keys. Loading, flag
 * parsing and help rendering are the generic ones in `load-config.ts`. The workload command comes
 * after `--` and is split off by the CLI before these options are parsed.
 */
import { type CommandSpec, ConfigError, type ConfigSchema, loadConfig, type Setting } from './load-config';
import { configFileOption, type LogLevel, logLevelOption, metricsListenOption } from './shared-options';
import { renderHelp } from './render-help';
import { parseWitnessList } from './witness-list';
import { mapVolttronConfig, volttronConfigPath } from './volttron-config';
import { DEFAULT_TRUST_DOMAIN } from '../wire/spiffe-id';
import { ID_PATTERN, ID_RULE } from '../core/ids';
import { type TransportConfig, transportSchema, transportSettings } from './transport-options';

export interface SidecarConfig extends TransportConfig {
  readonly group: string;
  readonly node: string;
  readonly role: 'primary' | 'secondary';
  readonly listen: string;
  readonly peer: string;
  readonly peerNode: string;
  readonly witness: string;
  readonly zone: string;
  readonly mode: 'standard' | 'simple';
  readonly heartbeat: number;
  readonly timeout: number;
  readonly lease: number;
  readonly peerLease: number | null;
  readonly stopTimeout: number;
  readonly failback: 'auto' | 'manual';
  readonly failbackDelay: number;
  readonly failbackProbe: number;
  readonly maxRestarts: number;
  readonly restartBackoff: number;
  readonly failureCooldown: number;
  readonly clockDrift: number;
  readonly margin: number;
  readonly healthActiveOnly: 'true' | 'false';
  /** Shell command run for every event (design §18.4); '' for none. */
  readonly onEvent: string;
  readonly onEventTimeout: number;
  /** The standby's sync command (design §21.1); '' for none. */
  readonly syncCmd: string;
  readonly syncInterval: number;
  readonly syncTimeout: number;
  /** File holding the group key (design §17.3), the same on both nodes and at the witness, or null. */
  readonly groupKeyFile: string | null;
  /** Where this node keeps what outlives one sidecar process (design §9.8); null: nothing does. */
  readonly stateDir: string | null;
  readonly trustDomain: string;
  /** '': spiffe://TRUST-DOMAIN/group/GROUP/node/PEER-NODE. */
  readonly peerIdentity: string;
  readonly tlsServerName: string;
  readonly tlsPeerServerName: string;
  /** HTTP address of /metrics, /healthz, /readyz (design §19.1); '' serves none. */
  readonly metricsListen: string;
  readonly logLevel: LogLevel;
  readonly config: string | null;
  readonly volttronConfig: string | null;
  readonly startCmd: string;
  readonly stopCmd: string;
  readonly statusCmd: string;
}

const ID = { format: String, default: '' } as const;

export const sidecarSchema: ConfigSchema<SidecarConfig> = {
  group: {
    ...ID,
    doc: 'The group (pair) this node belongs to.',
    arg: 'group',
    env: 'WITNESS_SIDECAR_GROUP',
    metavar: 'ID',
  },
  node: {
    ...ID,
    doc: "This node's name, unique in its group.",
    arg: 'node',
    env: 'WITNESS_SIDECAR_NODE',
    metavar: 'ID',
  },
  role: {
    doc: 'primary (preferred) or secondary.',
    format: ['primary', 'secondary'],
    default: 'primary',
    arg: 'role',
    env: 'WITNESS_SIDECAR_ROLE',
    metavar: 'primary|secondary',
  },
  listen: {
    doc: "This sidecar's gRPC address: the peer link and its status (GetState, health).",
    format: 'host-port',
    default: '127.0.0.1:7101',
    arg: 'listen',
    env: 'WITNESS_SIDECAR_LISTEN',
  },
  peer: {
    doc: "The other sidecar's gRPC address.",
    format: 'host-port',
    default: '127.0.0.1:7102',
    arg: 'peer',
    env: 'WITNESS_SIDECAR_PEER',
  },
  peerNode: {
    ...ID,
    doc: "The other sidecar's --node name: heartbeats from any other node are refused.",
    arg: 'peer-node',
    env: 'WITNESS_SIDECAR_PEER_NODE',
    metavar: 'ID',
  },
  witness: {
    doc: 'Witness endpoints in order of preference, host:port[@zone] separated by ";" (all must share one store).',
    format: String,
    default: '127.0.0.1:50051',
    arg: 'witness',
    env: 'WITNESS_SIDECAR_WITNESS',
    metavar: 'LIST',
  },
  zone: {
    doc: "This node's zone: witness endpoints labelled with it are tried first.",
    format: String,
    default: '',
    arg: 'zone',
    env: 'WITNESS_SIDECAR_ZONE',
    metavar: 'NAME',
  },
  mode: {
    doc: 'standard (the witness confirms every takeover) or simple (no witness; CAN RUN BOTH during a partition).',
    format: ['standard', 'simple'],
    default: 'standard',
    arg: 'mode',
    env: 'WITNESS_SIDECAR_MODE',
    metavar: 'standard|simple',
  },
  heartbeat: dur(
    'How often the peer is heartbeaten; the witness at most this often (design §4.6).',
    'heartbeat',
    '200ms',
    '10ms',
    '1m',
  ),
  timeout: dur('Silence after which the peer or the witness counts as gone.', 'timeout', '1s', '20ms', '10m'),
  lease: dur('Witness lease asked for (the witness may cap it).', 'lease', '2s', '50ms', '10m'),
  peerLease: {
    ...dur('Peer lease granted to a running peer; defaults to --lease.', 'peer-lease', '2s', '50ms', '10m'),
    nullable: true,
    default: null,
  },
  stopTimeout: dur('SIGTERM to SIGKILL when stopping the workload.', 'stop-timeout', '1s', '0', '10m'),
  failback: {
    doc: 'auto: the primary takes the group back after a takeover, once it has been healthy for --failback-delay; manual: never by itself.',
    format: ['auto', 'manual'],
    default: 'auto',
    arg: 'failback',
    env: 'WITNESS_SIDECAR_FAILBACK',
    metavar: 'auto|manual',
  },
  failbackDelay: dur(
    'How long the primary waits, healthy, before asking for the group back.',
    'failback-delay',
    '30s',
    '0',
    '1440m',
  ),
  failbackProbe: dur(
    'While on a later witness endpoint, how often the first is probed.',
    'failback-probe',
    '30s',
    '100ms',
    '1440m',
  ),
  maxRestarts: {
    doc: 'Restarts of a workload that exits by itself before the node gives the group up.',
    format: 'nat',
    default: 3,
    arg: 'max-restarts',
    env: 'WITNESS_SIDECAR_MAX_RESTARTS',
    metavar: 'N',
  },
  restartBackoff: dur('First restart delay; doubles with each restart.', 'restart-backoff', '500ms', '0', '10m'),
  failureCooldown: dur(
    'After giving the group up, how long the node does not ask for it again.',
    'failure-cooldown',
    '60s',
    '0',
    '1440m',
  ),
  clockDrift: {
    doc: 'Assumed bound on clock-rate error between machines, as a fraction (0.01 = 1%).',
    format: 'decimal',
    default: 0.01,
    min: 0,
    max: 0.1,
    arg: 'clock-drift',
    env: 'WITNESS_SIDECAR_CLOCK_DRIFT',
  },
  margin: dur('Safety margin on the conservative side of every lease.', 'margin', '50ms', '0', '10s'),
  healthActiveOnly: {
    doc: 'true: health answers SERVING only while the workload is active (for readiness probes).',
    format: ['true', 'false'],
    default: 'false',
    arg: 'health-active-only',
    env: 'WITNESS_SIDECAR_HEALTH_ACTIVE_ONLY',
    metavar: 'true|false',
  },
  onEvent: {
    doc:
      'A shell command run for each event (start, stop, peer-lost, failback-scheduled...), one at a time, ' +
      'with WITNESS_EVENT, WITNESS_GROUP, WITNESS_NODE, WITNESS_ROLE, WITNESS_EPOCH, WITNESS_RULE, WITNESS_REASON set.',
    format: String,
    default: '',
    arg: 'on-event',
    env: 'WITNESS_SIDECAR_ON_EVENT',
    metavar: 'CMD',
  },
  onEventTimeout: dur(
    'How long one run of --on-event may take before it is killed.',
    'on-event-timeout',
    '10s',
    '100ms',
    '10m',
  ),
  syncCmd: {
    doc:
      "A shell command that brings this node's copy up to date from the active one (rsync, a backup pull...), " +
      'run every --sync-interval while this node is the standby, never while it runs the workload (design §21.1); ' +
      'WITNESS_GROUP, WITNESS_NODE, WITNESS_ROLE are set. The time since its last success goes to the witness.',
    format: String,
    default: '',
    arg: 'sync-cmd',
    env: 'WITNESS_SIDECAR_SYNC_CMD',
    metavar: 'CMD',
  },
  syncInterval: dur('How long after one run of --sync-cmd ends the next begins.', 'sync-interval', '1m', '10ms', '24h'),
  syncTimeout: dur('How long one run of --sync-cmd may take before it is killed.', 'sync-timeout', '1h', '10ms', '24h'),
  groupKeyFile: {
    doc: "File holding the group's key: sent to the witness and the peer, and required of the peer's calls.",
    format: 'path',
    nullable: true,
    default: null,
    arg: 'group-key-file',
    env: 'WITNESS_SIDECAR_GROUP_KEY_FILE',
    metavar: 'FILE',
  },
  stateDir: {
    doc: "Directory of this node alone for what outlives one sidecar process: its epoch record (the pair may start with the witness down) and its watchdog's socket (SIGUSR2 restarts the sidecar keeping its workload).",
    format: 'path',
    nullable: true,
    default: null,
    arg: 'state-dir',
    env: 'WITNESS_SIDECAR_STATE_DIR',
    metavar: 'DIR',
  },
  trustDomain: {
    doc: 'SPIFFE trust domain of identities in certificates (spiffe://DOMAIN/group/G/node/N).',
    format: 'trust-domain',
    default: DEFAULT_TRUST_DOMAIN,
    arg: 'trust-domain',
    env: 'WITNESS_SIDECAR_TRUST_DOMAIN',
    metavar: 'DOMAIN',
  },
  peerIdentity: {
    doc: "With mTLS: the identity the peer's client certificate must name; default spiffe://DOMAIN/group/GROUP/node/PEER-NODE.",
    format: String,
    default: '',
    arg: 'peer-identity',
    env: 'WITNESS_SIDECAR_PEER_IDENTITY',
    metavar: 'URI',
  },
  ...transportSchema('WITNESS_SIDECAR', 'the sidecar'),
  tlsServerName: {
    doc: "With TLS: the name checked in the witness's certificate; default the host of its --witness endpoint.",
    format: String,
    default: '',
    arg: 'tls-server-name',
    env: 'WITNESS_SIDECAR_TLS_SERVER_NAME',
    metavar: 'NAME',
  },
  tlsPeerServerName: {
    doc: "With TLS: the name checked in the peer's certificate; default PEER-NODE.GROUP (the CN `witness certs init` gives it).",
    format: String,
    default: '',
    arg: 'tls-peer-server-name',
    env: 'WITNESS_SIDECAR_TLS_PEER_SERVER_NAME',
    metavar: 'NAME',
  },
  metricsListen: metricsListenOption('WITNESS_SIDECAR', 'the sidecar'),
  logLevel: logLevelOption('WITNESS_SIDECAR'),
  config: configFileOption('WITNESS_SIDECAR'),
  startCmd: {
    doc: 'Instead of a command after --: a shell command that starts the service (e.g. systemctl start x); needs --stop-cmd.',
    format: String,
    default: '',
    arg: 'start-cmd',
    env: 'WITNESS_SIDECAR_START_CMD',
    metavar: 'CMD',
  },
  stopCmd: {
    doc: 'The shell command that stops it; must finish within --stop-timeout.',
    format: String,
    default: '',
    arg: 'stop-cmd',
    env: 'WITNESS_SIDECAR_STOP_CMD',
    metavar: 'CMD',
  },
  statusCmd: {
    doc: 'Optional: a shell command that exits 0 while the service runs, polled every heartbeat (at least 1s apart).',
    format: String,
    default: '',
    arg: 'status-cmd',
    env: 'WITNESS_SIDECAR_STATUS_CMD',
    metavar: 'CMD',
  },
  volttronConfig: {
    doc: "A VOLTTRON failover agent's JSON config to start from (agent_id, simple_behavior, remote_vip, heartbeat_period, timeout); other options override it.",
    format: 'path',
    nullable: true,
    default: null,
    arg: 'volttron-config',
    env: 'WITNESS_SIDECAR_VOLTTRON_CONFIG',
    metavar: 'FILE',
  },
};

function dur(doc: string, arg: string, def: string, min: string, max: string) {
  const env = `WITNESS_SIDECAR_${arg.toUpperCase().replace(/-/g, '_')}`;
  return { doc, format: 'duration', default: def, min, max, arg, env };
}

const SIDECAR_USAGE = 'witness sidecar [options] -- COMMAND [ARGS...]';

const sidecarCommand: CommandSpec<SidecarConfig> = {
  command: 'witness sidecar',
  schema: sidecarSchema,
  fileKey: 'config',
  argumentsHint: `the workload's command goes after --: ${SIDECAR_USAGE}`,
};

/**
 * `base`: settings just above the defaults (a program's own options when embedding). A VOLTTRON
 * config, when named, is mapped above those, and its mapping reported through `report`.
 */
export function loadSidecarConfig(
  argv: string[],
  env: NodeJS.ProcessEnv,
  base: readonly Setting[] = [],
  report: (line: string) => void = () => undefined,
): SidecarConfig {
  const volttron = volttronConfigPath(argv, env);
  const mapping = volttron === undefined ? undefined : mapVolttronConfig(volttron);
  for (const line of mapping?.report ?? []) report(`volttron-config: ${line}`);
  const config = loadConfig(sidecarCommand, argv, env, [...base, ...(mapping?.settings ?? [])]);
  for (const key of ['group', 'node', 'peerNode'] as const) {
    if (!ID_PATTERN.test(config[key])) {
      const flag = sidecarSchema[key].arg;
      throw new ConfigError(key, `${key} (--${flag}): required, ${ID_RULE}; got ${JSON.stringify(config[key])}`);
    }
  }
  if (config.peerNode === config.node) {
    throw new ConfigError(
      'peerNode',
      `peerNode (--peer-node) must differ from node (--node): a group has two nodes; both are ${config.node}`,
    );
  }
  parseWitnessList(config.witness);
  if (config.listen === config.peer) {
    throw new ConfigError('peer', `peer (--peer) must differ from listen (--listen); both are ${config.listen}`);
  }
  transportSettings(config);
  return config;
}

export function sidecarHelp(): string {
  return renderHelp(sidecarCommand, {
    usage: SIDECAR_USAGE,
    description:
      'Runs beside one copy of a workload: heartbeats the peer sidecar and the witness, starts the\n' +
      'command (under a watchdog) only when this node holds the group, and stops it whenever it has\n' +
      `lost both the peer and the witness. The workload gets WITNESS_EPOCH, WITNESS_GROUP, WITNESS_NODE.`,
    notes: [
      'Durations: 200ms, 1s, 1.5s, 2m, or plain milliseconds (250).',
      "Everything after -- is the workload's command line, passed on untouched.",
    ],
  });
}
