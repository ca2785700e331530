/**
 * `--volttron-config FILE`: start from a VOLTTRON failover agent's config (its keys as in the
 * agent's documentation) and map it onto the sidecar's options. The mapped values sit just above
 * the defaults, so flags, environment and --config still override them. Every mapping is reported.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type Setting } from './load-config';

const KEY = 'volttronConfig';

export interface VolttronMapping {
  readonly settings: Setting[];
  /** One line per key: what it was and what it became. */
  readonly report: string[];
}

export function mapVolttronConfig(file: string): VolttronMapping {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(KEY, `volttron-config: cannot read ${file} as JSON: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(KEY, `volttron-config: ${file} must hold a JSON object`);
  }
  const config = raw as Record<string, unknown>;
  const settings: Setting[] = [];
  const report: string[] = [];
  const origin = `${file} (VOLTTRON)`;
  const set = (key: string, value: unknown, from: string): void => {
    settings.push({ key, value, origin });
    report.push(`${from} -> ${key} ${JSON.stringify(value)}`);
  };

  const agentId = config.agent_id;
  if (agentId !== undefined) {
    if (agentId !== 'primary' && agentId !== 'secondary') {
      throw new ConfigError(
        KEY,
        `volttron-config: agent_id must be "primary" or "secondary"; got ${JSON.stringify(agentId)}`,
      );
    }
    set('role', agentId, `agent_id ${JSON.stringify(agentId)}`);
    set('node', agentId, `agent_id ${JSON.stringify(agentId)}`);
    // VOLTTRON names the two agents after their roles, so the peer is the other role.
    set('peerNode', agentId === 'primary' ? 'secondary' : 'primary', `agent_id ${JSON.stringify(agentId)}`);
  }
  if (config.simple_behavior !== undefined) {
    if (typeof config.simple_behavior !== 'boolean') {
      throw new ConfigError(KEY, 'volttron-config: simple_behavior must be true or false');
    }
    set('mode', config.simple_behavior ? 'simple' : 'standard', `simple_behavior ${config.simple_behavior}`);
  }
  if (config.remote_vip !== undefined) {
    const match = typeof config.remote_vip === 'string' ? /^tcp:\/\/(.+:\d+)$/.exec(config.remote_vip) : null;
    if (match === null) {
      throw new ConfigError(
        KEY,
        `volttron-config: remote_vip must look like tcp://host:port; got ${JSON.stringify(config.remote_vip)}`,
      );
    }
    set('peer', match[1], `remote_vip ${JSON.stringify(config.remote_vip)}`);
  }
  if (typeof config.agent_vip_identity === 'string' && config.agent_vip_identity !== '') {
    set('group', config.agent_vip_identity, `agent_vip_identity ${JSON.stringify(config.agent_vip_identity)}`);
  }
  const seconds = (name: string): number | undefined => {
    const value = config[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !(value > 0)) {
      throw new ConfigError(KEY, `volttron-config: ${name} must be a positive number of seconds`);
    }
    return Math.round(value * 1000);
  };
  const heartbeat = seconds('heartbeat_period');
  if (heartbeat !== undefined) set('heartbeat', heartbeat, `heartbeat_period ${heartbeat / 1000}s`);
  const timeout = seconds('timeout');
  if (timeout !== undefined) {
    // VOLTTRON's one timeout is how long a silent platform is still considered alive: the leases.
    set('timeout', timeout, `timeout ${timeout / 1000}s`);
    set('lease', timeout, `timeout ${timeout / 1000}s`);
    set('peerLease', timeout, `timeout ${timeout / 1000}s`);
  }
  if (config.remote_serverkey !== undefined)
    report.push('remote_serverkey -> not used (the peer link has no CURVE keys)');
  return { settings, report };
}

/** The file named by --volttron-config (flag or WITNESS_SIDECAR_VOLTTRON_CONFIG), if any. */
export function volttronConfigPath(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  let path = env.WITNESS_SIDECAR_VOLTTRON_CONFIG || undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--volttron-config') path = argv[i + 1];
    else if (arg.startsWith('--volttron-config=')) path = arg.slice('--volttron-config='.length);
  }
  return path;
}
