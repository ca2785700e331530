/** What a sidecar runs with: from `witness sidecar` flags or from a program embedding it. */
import type { Failback, Mode, NodeRole, SidecarSettings } from '../core/sidecar/types';
import type { TransportSettings } from '../grpc/tls-files';

export interface WitnessEndpoint {
  readonly address: string;
  /** Endpoints in the sidecar's own zone are tried first. */
  readonly zone: string;
}

export interface SidecarOptions {
  readonly group: string;
  readonly node: string;
  readonly role: NodeRole;
  /** This sidecar's gRPC address (peer link and status). */
  readonly listen: string;
  readonly peer: string;
  /** The peer's node name: the only sender whose heartbeats this sidecar answers. */
  readonly peerNode: string;
  /** Ordered; every endpoint must serve the same store. Empty in simple mode. */
  readonly witness: readonly WitnessEndpoint[];
  readonly zone: string;
  readonly mode: Mode;
  readonly heartbeatMs: number;
  readonly timeoutMs: number;
  readonly leaseMs: number;
  readonly peerLeaseMs: number;
  readonly stopTimeoutMs: number;
  readonly failback: Failback;
  readonly failbackDelayMs: number;
  readonly failbackProbeMs: number;
  readonly maxRestarts: number;
  readonly restartBackoffMs: number;
  readonly failureCooldownMs: number;
  readonly clockDrift: number;
  readonly marginMs: number;
  /** Health reports SERVING only while the workload is active (readiness probes). */
  readonly healthActiveOnly: boolean;
  /** `--on-event`: run for every event (design §18.4); undefined for none. */
  readonly onEvent?: { readonly command: string; readonly timeoutMs: number };
  /** `--sync-cmd` and its schedule (design §21.1); undefined: this node reports no sync. */
  readonly sync?: { readonly command: string; readonly intervalMs: number; readonly timeoutMs: number };
  /**
   * The group key (design §17.3): sent with every call to the witness and the peer, and required
   * of every Peer and Sidecar call this sidecar answers. Never logged, never in GetState.
   */
  readonly groupKey?: string;
  /** The trust domain of certificate identities (design §17.1). */
  readonly trustDomain: string;
  /** With mTLS, the identity the peer's certificate must name for its Peer calls to be accepted. */
  readonly peerIdentity: string;
  readonly logLevel: string;
  /** HTTP address of /metrics, /healthz, /readyz (design §19.1); '' serves none. */
  readonly metricsListen: string;
  /** TLS on this sidecar's port and on its calls to the witness and the peer; or plaintext. */
  readonly transport: TransportSettings;
  /** With TLS: the name checked in the witness's certificate; undefined: the endpoint's host. */
  readonly witnessServerName: string | undefined;
  /** With TLS: the name checked in the peer's certificate. */
  readonly peerServerName: string;
}

export function toSettings(o: SidecarOptions): SidecarSettings {
  return {
    group: o.group,
    node: o.node,
    role: o.role,
    mode: o.mode,
    heartbeatMs: o.heartbeatMs,
    timeoutMs: o.timeoutMs,
    leaseMs: o.leaseMs,
    peerLeaseMs: o.peerLeaseMs,
    stopTimeoutMs: o.stopTimeoutMs,
    failback: o.failback,
    failbackDelayMs: o.failbackDelayMs,
    maxRestarts: o.maxRestarts,
    restartBackoffMs: o.restartBackoffMs,
    failureCooldownMs: o.failureCooldownMs,
    bounds: { rho: o.clockDrift, marginMs: o.marginMs },
    // Later processes of the node say later states (design §9.5); a wall clock set back across a
    // restart only costs that order.
    incarnation: BigInt(Date.now()),
  };
}
