/** The witness core's own vocabulary; the gRPC shell maps wire messages to and from it. */
export type NodeRole = 'primary' | 'secondary';

/** A group's fail-back policy as an operator set it (design §9.4); absent: each sidecar's own. */
export type FailbackPolicy = 'auto' | 'manual';

/**
 * What must survive a restart of the witness: who holds each group, under which epoch, and what an
 * operator asked of it (design §9.6).
 */
export interface DurableGroup {
  readonly group: string;
  /** '' when nobody holds the group. */
  readonly holder: string;
  readonly epoch: bigint;
  /** The group's nodes in maintenance, sorted; absent or empty when none. */
  readonly maintenance?: readonly string[];
  /** A switchover is asked of the holder of this epoch; absent or 0n when none. */
  readonly switchoverEpoch?: bigint;
  /** Absent: each sidecar's own --failback. */
  readonly failback?: FailbackPolicy;
  /** The group's nodes an operator removed (design §9.7), sorted; absent or empty when none. */
  readonly removed?: readonly string[];
}

/** An operator's request: the intent it sets, checked by the operator rules (rules.ts). */
export type OperatorInput =
  | {
      readonly kind: 'maintenance';
      readonly group: string;
      readonly node: string;
      readonly on: boolean;
      readonly force: boolean;
    }
  /** `force`: past the freshness gate (design §21.4). */
  | { readonly kind: 'switchover'; readonly group: string; readonly force?: boolean }
  /** 'node': back to each sidecar's own --failback. */
  | { readonly kind: 'failback'; readonly group: string; readonly policy: FailbackPolicy | 'node' }
  /** A node leaves the group (design §9.7), or is readmitted (`readmit`). */
  | {
      readonly kind: 'remove';
      readonly group: string;
      readonly node: string;
      readonly readmit: boolean;
      readonly force: boolean;
    }
  /** Every member leaves the group: the pair is broken (design §9.7). */
  /** `syncOnly`: only the standby leaves, the sync relationship is broken (design §21.5). */
  | { readonly kind: 'break'; readonly group: string; readonly force: boolean; readonly syncOnly?: boolean };

/**
 * What a durable write requires the store to hold for its group right now: the record the decision
 * was made from (holder and epoch), or no record at all. A group's records never repeat (a grant
 * or an adoption raises the epoch, a release clears the holder under the same epoch), so a writer
 * whose memory of the group is stale always finds something else and its write fails.
 */
export type ExpectedRecord = Pick<DurableGroup, 'holder' | 'epoch'> | 'absent';

/** A record written only if the store still holds what the decision was based on. */
export interface DurableWrite {
  readonly record: DurableGroup;
  readonly expected: ExpectedRecord;
}

export type Verdict = 'granted' | 'renewed' | 'acknowledged' | 'released' | 'refused';
export type RefusalReason =
  'held-by-other' | 'startup-grace' | 'stale-epoch' | 'not-holder' | 'maintenance' | 'removed' | 'stale-standby';
export type EventKind = 'registered' | 'granted' | 'released' | 'adopted' | 'refused' | 'intent';

export interface HeartbeatInput {
  readonly group: string;
  readonly node: string;
  readonly role: NodeRole;
  /** The epoch the node is active under; 0n when it holds nothing. */
  readonly heldEpoch: bigint;
  readonly knownEpoch: bigint;
  /** 0 asks for the witness's default lease. */
  readonly leaseMs: number;
  /** How fresh the node's copy is; absent when its sidecar runs without --sync-cmd (design §21.1). */
  readonly sync?: SyncReport;
}

/** One finished run of a sidecar's --sync-cmd, as it reports it. */
export interface SyncRun {
  /** The "sync now" request it answers; 0n for a scheduled run. */
  readonly requestId: bigint;
  readonly ok: boolean;
  /** -1 when killed or not started. */
  readonly exitCode: number;
  readonly durationMs: number;
  readonly outputTail: string;
  readonly error: string;
}

/** A node's freshness as its heartbeat tells it (design §21.1). */
export interface SyncReport {
  readonly synced: boolean;
  /** Since the last successful sync (or run of the workload), on the node's clock, when it sent the heartbeat. */
  readonly ageMs: number;
  readonly lastRun: SyncRun | undefined;
}

export interface AcquireInput {
  readonly group: string;
  readonly node: string;
  readonly knownEpoch: bigint;
  readonly leaseMs: number;
  /** How fresh the node's copy is as it asks; absent without --sync-cmd (design §21.4). */
  readonly sync?: SyncReport;
}

export interface ReleaseInput {
  readonly group: string;
  readonly node: string;
  readonly epoch: bigint;
  readonly knownEpoch: bigint;
}

export interface LeaseAnswer {
  readonly group: string;
  readonly verdict: Verdict;
  readonly reason: RefusalReason | undefined;
  readonly message: string;
  readonly holder: string;
  readonly epoch: bigint;
  readonly leaseMs: number;
  readonly holderLeaseRemainingMs: number;
  readonly retryAfterMs: number;
  /** The operator asks the caller, active under `epoch`, to hand the group over (§9.6). */
  readonly handOver: boolean;
  /** The caller is in maintenance: it must not run. */
  readonly maintenance: boolean;
  /** The group's fail-back policy; absent: the sidecar's own. */
  readonly failback?: FailbackPolicy;
}

/** One arbitration step: the answer, the rule that produced it, and what must be on disk first. */
export interface Decision {
  readonly answer: LeaseAnswer;
  readonly rule: string;
  /**
   * When set, the shell makes this durable BEFORE the answer leaves the witness, then calls
   * `Arbiter.commit` (or `abort` when the write fails, its precondition included, and answers an
   * error instead).
   */
  readonly persist: DurableWrite | undefined;
  /** When set, the store's generation is raised to this first (src/core/epoch.ts). */
  readonly generation: bigint | undefined;
  /** When set, an event worth logging and sending to Admin.Watch subscribers. */
  readonly event: EventKind | undefined;
}

export interface NodeView {
  readonly node: string;
  readonly role: NodeRole;
  readonly lastSeenMsAgo: number;
  readonly holds: boolean;
  readonly maintenance: boolean;
  readonly removed: boolean;
  /** The node's sync as last reported, its age counted on to now; absent without --sync-cmd. */
  readonly sync?: SyncReport;
}

export interface GroupView {
  readonly group: string;
  readonly holder: string;
  readonly epoch: bigint;
  readonly holderLeaseRemainingMs: number;
  readonly nodes: readonly NodeView[];
  readonly inStartupGrace: boolean;
  /** A switchover is asked of the holder of this epoch; 0n when none. */
  readonly switchoverEpoch: bigint;
  /** undefined: each sidecar's own --failback. */
  readonly failback: FailbackPolicy | undefined;
  /** The nodes an operator removed, sorted, also those not heard since this witness started. */
  readonly removed: readonly string[];
}

/** A held group as the lease watch sees it (Arbiter.forEachDue, Arbiter.holdingOf). */
export interface HoldingSnapshot {
  readonly group: string;
  readonly holder: string;
  readonly epoch: bigint;
  /** Witness-side end of the holder's lease. */
  readonly holdUntil: number;
  /** When the holder was last heard, or the witness started when it has not been since. */
  readonly heardAt: number;
  /** undefined when the holder has not been heard since the witness started. */
  readonly role: NodeRole | undefined;
}
