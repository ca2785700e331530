/** The sidecar core's vocabulary: its settings, what it hears, and what it tells the shell to do. */
import type { DriftBounds } from '../lease';

export type NodeRole = 'primary' | 'secondary';
export type Mode = 'standard' | 'simple';
export type Failback = 'auto' | 'manual';

export interface SidecarSettings {
  readonly group: string;
  readonly node: string;
  readonly role: NodeRole;
  readonly mode: Mode;
  /** How often the sidecar heartbeats its peer and the witness. */
  readonly heartbeatMs: number;
  /** Silence after which the peer (or the witness) counts as gone. */
  readonly timeoutMs: number;
  /** The witness lease asked for. */
  readonly leaseMs: number;
  /** The peer lease granted to a running peer with each heartbeat answer. */
  readonly peerLeaseMs: number;
  /** SIGTERM to SIGKILL. */
  readonly stopTimeoutMs: number;
  readonly failback: Failback;
  /** How long the preferred primary sees the takeover node run before it asks for the group back. */
  readonly failbackDelayMs: number;
  /** Restarts of a workload that exits by itself, before the node gives the group up. */
  readonly maxRestarts: number;
  readonly restartBackoffMs: number;
  /** After giving up, the node does not ask for the group again for this long. */
  readonly failureCooldownMs: number;
  readonly bounds: DriftBounds;
  /**
   * This sidecar process among the node's processes, higher for a later one (the shell's wall
   * clock at start, in ms); 0n or absent: its peer states carry no order (design §9.5).
   */
  readonly incarnation?: bigint;
}

/** What the workload is doing, as the supervisor (watchdog) reports it. */
export type WorkloadPhase = 'stopped' | 'starting' | 'running' | 'stopping';

/** What a sidecar with --state-dir read from its epoch record at start (design §10.2); absent without one. */
export interface EpochRecordAtStart {
  /** The highest epoch this node had seen, on disk: everything it ran under is at most this. */
  readonly knownEpoch: bigint;
}

/** What the node tells its peer about itself, in heartbeats and in answers to heartbeats. */
export interface PeerState {
  readonly node: string;
  readonly role: NodeRole;
  readonly workload: WorkloadPhase;
  /** The epoch it runs (or last ran) under; 0n if never. */
  readonly epoch: bigint;
  readonly knownEpoch: bigint;
  /** It is waiting for, or asking, the witness for the group. */
  readonly acquiring: boolean;
  /** It can run the workload (not cooling down after repeated workload failures). */
  readonly eligible: boolean;
  /** The preferred primary asks the node that took over to hand the group back. */
  readonly handbackRequested: boolean;
  /**
   * A planned hand-over (design §9.5): the node has stopped its workload and released the group,
   * and asks for nothing more; its peer may take over at once.
   */
  readonly handingOver: boolean;
  /** The operator put the node in maintenance (design §9.6): it runs nothing until that ends. */
  readonly maintenance: boolean;
  /** It keeps the epochs it sees on disk (--state-dir), so it may take part in a cold start (§10.2). */
  readonly durableEpochs: boolean;
  /**
   * A stopped primary that cannot reach the witness proposes to start under this epoch (§10.2);
   * 0n when it proposes nothing. Its peer answers with a peer lease for it once it has recorded it.
   */
  readonly coldStartEpoch: bigint;
  /** The sending process (SidecarSettings.incarnation); 0n: an older sidecar, its states unordered. */
  readonly incarnation: bigint;
  /** This state's number among those the process has said, from 1: a later one is higher. */
  readonly statement: bigint;
}

export interface PeerReply {
  readonly state: PeerState;
  /** A peer lease for the epoch the heartbeat was sent under; 0 when none is granted. */
  readonly leaseMs: number;
  readonly leaseForEpoch: bigint;
}

/** The witness's answer, as the core needs it. */
export interface WitnessAnswer {
  readonly verdict: 'granted' | 'renewed' | 'acknowledged' | 'released' | 'refused';
  readonly holder: string;
  readonly epoch: bigint;
  readonly leaseMs: number;
  readonly retryAfterMs: number;
  /** The operator asked the holder to hand the group to its peer (a switchover, design §9.6). */
  readonly handOver: boolean;
  /** The operator put this node in maintenance: it runs nothing until that ends (§9.6). */
  readonly maintenance: boolean;
  /** The group's fail-back policy set by an operator (§9.4); absent: this sidecar's own. */
  readonly failback?: Failback;
  /** An operator asked this node to sync now, under this id (design §21.2); the core ignores it. */
  readonly syncNowId?: bigint;
}

/**
 * Why an Acquire came back without an answer (design §8.4). `timed-out` (its deadline passed) and
 * `failed` (anything else that may follow a decision: a reset connection, a malformed answer) may
 * hide a grant; `undecided` is a refusal the witness gives only before it decides anything.
 */
export type AcquireFailure = 'timed-out' | 'failed' | 'undecided';

/** `rule` names the row of decision-rules.ts that decided it; `why` is its reason, for the log. */
export type Action =
  | { readonly kind: 'start'; readonly rule: string; readonly epoch: bigint; readonly why: string }
  | { readonly kind: 'stop'; readonly rule: string; readonly why: string }
  | { readonly kind: 'acquire'; readonly rule: string; readonly why: string }
  | { readonly kind: 'release'; readonly rule: string; readonly epoch: bigint; readonly why: string };

/**
 * A run a sidecar process keeps for the next process on the same machine when it exits for a
 * restart (design §9.8): the watchdog goes on enforcing its deadline meanwhile, and the next
 * process adopts the run only through this record. Lease ends are monotonic ms of this machine,
 * whose origin every process shares.
 */
export interface KeptRun {
  readonly group: string;
  readonly node: string;
  readonly epoch: bigint;
  readonly knownEpoch: bigint;
  readonly witnessLeaseUntil: number;
  readonly peerLeaseUntil: number;
}

export interface SidecarView {
  readonly workload: WorkloadPhase;
  readonly epoch: bigint;
  readonly knownEpoch: bigint;
  readonly holding: boolean;
  readonly peerUp: boolean;
  readonly witnessUp: boolean;
  /** Time until the workload must begin stopping, when it runs; 0 otherwise. */
  readonly msUntilStop: number;
  readonly witnessLeaseMs: number;
  readonly peerLeaseMs: number;
  /** The reason of the last action (or standby verdict), and the row that decided it ('' before the first). */
  readonly lastDecision: string;
  readonly lastRule: string;
  /**
   * The preferred primary, stopped while its peer runs under auto fail-back: how long until it asks
   * for the group back, if it stays healthy (design §9.4); -1 when no fail-back is pending.
   */
  readonly failbackInMs: number;
}
