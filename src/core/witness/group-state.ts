/**
 * What the witness core keeps per group (design §6): who holds it, what operators asked of it, the
 * decision waiting for its write, and the nodes heard since this witness started; and how a group
 * is shown to operators.
 */
import { remainingMs } from '../lease';
import { inMaintenance, type Intent, isRemoved, NO_INTENT } from './operator-intent';
import { syncAt } from './sync-age';
import type { GroupView, NodeRole, NodeView, SyncReport } from './types';

export interface NodeState {
  role: NodeRole;
  lastSeen: number;
  /** The highest epoch the node reported running under (held_epoch) since this witness started. */
  ranUnder: bigint;
  /** The node's latest sync report and when it was heard (design §21.1): soft state, like lastSeen. */
  sync: SyncReport | undefined;
  syncHeardAt: number;
}

/** Who holds a group: what a durable decision changes. */
export interface Holding {
  readonly holder: string;
  readonly epoch: bigint;
  /** Witness-side end of the holder's lease (receipt + lease*(1+rho) + eps). */
  readonly holdUntil: number;
}

export interface GroupState {
  holding: Holding;
  /** What operators asked of the group; durable with the record. */
  intent: Intent;
  /** Whether the store has a record of the group: a durable write expects none until one is committed. */
  recorded: boolean;
  /**
   * A decision waiting for its store write. It is applied by `commit` once the write is durable and
   * dropped by `abort` when the write fails, so nothing is ever decided from a holding the disk does
   * not have. While it is set, the shell holds back the group's other requests.
   */
  pending: { readonly next: Holding; readonly intent: Intent; readonly generation: bigint | undefined } | undefined;
  /** Highest epoch any caller reported; a grant goes above it even if the grantee knows less. */
  highestHeard: bigint;
  /** When a node was last heard, or the group was loaded; what `forgettable` measures silence from. */
  lastActivity: number;
  /** Volatile: rebuilt from heartbeats after a restart. */
  nodes: Map<string, NodeState>;
  /**
   * A forced switchover (design §21.4) asked of the holder of this epoch: its peer's Acquire passes
   * the freshness gate until the next grant. Volatile: a restart of the witness forgets it.
   */
  freshnessWaivedFor: bigint;
  /** A forced switchover's waiver, waiting for its write: it counts only once committed. */
  freshnessWaiverPending?: bigint;
}

export function newGroup(now: number): GroupState {
  return {
    holding: { holder: '', epoch: 0n, holdUntil: 0 },
    intent: NO_INTENT,
    recorded: false,
    pending: undefined,
    highestHeard: 0n,
    lastActivity: now,
    nodes: new Map(),
    freshnessWaivedFor: 0n,
  };
}

/**
 * The group's members: heard since this witness started, its holder, or named by an operator's
 * durable intent (a node in maintenance or removed keeps its place after a restart).
 */
export function membersOf(group: GroupState): string[] {
  const names = new Set(group.nodes.keys());
  if (group.holding.holder !== '') names.add(group.holding.holder);
  for (const node of group.intent.maintenance) names.add(node);
  for (const node of group.intent.removed) names.add(node);
  return [...names].sort();
}

export function holderRemaining(holding: Holding, now: number): number {
  return holding.holder === '' ? 0 : remainingMs(holding.holdUntil, now);
}

/** The shell's half of the contract: a group with a write in flight gets no other decision. */
export function assertNotPending(groupName: string, group: GroupState): void {
  if (group.pending !== undefined)
    throw new Error(`group ${groupName} was asked for a decision while its last one waits for its write`);
}

/** The group as GetGroup and ListGroups show it. */
export function groupView(name: string, group: GroupState, now: number, inStartupGrace: boolean): GroupView {
  // What the disk has: a decision still on its way there is not shown.
  const { holder, epoch } = group.holding;
  return {
    group: name,
    holder,
    epoch,
    holderLeaseRemainingMs: holderRemaining(group.holding, now),
    inStartupGrace,
    switchoverEpoch: group.intent.switchoverEpoch,
    failback: group.intent.failback,
    removed: group.intent.removed,
    nodes: [...group.nodes].map(([node, state]) =>
      withSync(state, now, {
        node,
        role: state.role,
        lastSeenMsAgo: Math.max(0, Math.round(now - state.lastSeen)),
        holds: holder === node,
        maintenance: inMaintenance(group.intent, node),
        removed: isRemoved(group.intent, node),
      }),
    ),
  };
}

/** A node's view, with its sync when it reports one. */
function withSync(state: NodeState, now: number, view: Omit<NodeView, 'sync'>): NodeView {
  const sync = syncAt(state, now);
  return sync === undefined ? view : { ...view, sync };
}
