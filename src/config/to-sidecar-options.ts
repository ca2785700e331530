/** The sidecar's options (what `startSidecar` and the runtime take) from its checked configuration. */
import type { SidecarOptions } from '../sidecar/sidecar-options';
import { nodeCommonName, nodeSpiffeId } from '../wire/spiffe-id';
import { readConfiguredSecret } from './secret-file';
import type { SidecarConfig } from './sidecar-config';
import { transportSettings } from './transport-options';
import { parseWitnessList } from './witness-list';

export function toSidecarOptions(c: SidecarConfig): SidecarOptions {
  return {
    group: c.group,
    node: c.node,
    role: c.role,
    listen: c.listen,
    peer: c.peer,
    peerNode: c.peerNode,
    witness: c.mode === 'simple' ? [] : parseWitnessList(c.witness),
    zone: c.zone,
    mode: c.mode,
    heartbeatMs: c.heartbeat,
    timeoutMs: c.timeout,
    leaseMs: c.lease,
    peerLeaseMs: c.peerLease ?? c.lease,
    stopTimeoutMs: c.stopTimeout,
    failback: c.failback,
    failbackDelayMs: c.failbackDelay,
    failbackProbeMs: c.failbackProbe,
    maxRestarts: c.maxRestarts,
    restartBackoffMs: c.restartBackoff,
    failureCooldownMs: c.failureCooldown,
    clockDrift: c.clockDrift,
    marginMs: c.margin,
    healthActiveOnly: c.healthActiveOnly === 'true',
    onEvent: c.onEvent === '' ? undefined : { command: c.onEvent, timeoutMs: c.onEventTimeout },
    sync: c.syncCmd === '' ? undefined : { command: c.syncCmd, intervalMs: c.syncInterval, timeoutMs: c.syncTimeout },
    groupKey:
      c.groupKeyFile === null ? undefined : readConfiguredSecret(c.groupKeyFile, 'groupKeyFile', '--group-key-file'),
    trustDomain: c.trustDomain,
    peerIdentity: c.peerIdentity === '' ? nodeSpiffeId(c.trustDomain, c.group, c.peerNode) : c.peerIdentity,
    logLevel: c.logLevel,
    metricsListen: c.metricsListen,
    transport: transportSettings(c),
    witnessServerName: c.tlsServerName === '' ? undefined : c.tlsServerName,
    peerServerName: c.tlsPeerServerName === '' ? nodeCommonName(c.group, c.peerNode) : c.tlsPeerServerName,
  };
}
