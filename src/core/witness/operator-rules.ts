/**
 * What an operator may ask of a group, as rules in the manner of rules.ts (design §9.6). An
 * operator sets intent only; the intent reaches the nodes in the witness's answers and the
 * arbitration rules and the sidecars' rows carry it out, so no operator request can start a
 * workload or break a rule those keep. The first rule whose condition holds decides; a refusal
 * changes nothing and its reason is the error's message.
 */
import type { Rule } from './rules';

export interface OperatorContext {
  /** The node the request names; for a switchover or a break, the holder ('' when none). */
  readonly node: string;
  /** The node is a member of the group (heard since this witness started, its holder, in maintenance or removed). */
  readonly nodeKnown: boolean;
  /** Maintenance: on (true) or off. Removal: a removal (true) or a readmission. */
  readonly on: boolean;
  readonly force: boolean;
  /** The node named is the holder and its lease is live here. */
  readonly nodeActive: boolean;
  /** Someone holds the group with a lease live here. */
  readonly groupActive: boolean;
  /** The other node (of the one named; for a switchover, of the holder) was heard within the default lease. */
  readonly peerHealthy: boolean;
  /** The other node is in maintenance or removed (§9.6, §9.7): it would not take over. */
  readonly peerOutOfService: boolean;
  /** An operator removed the node named (§9.7). */
  readonly nodeRemoved: boolean;
  /** How many members of the group the witness knows (heard since it started, the holder, named by intent). */
  readonly membersKnown: number;
  /** With --max-sync-age, the peer (of the holder) would be refused a takeover as stale (design §21.4). */
  readonly peerStale: boolean;
  /** A break of the sync relationship only (design §21.5). */
  readonly syncOnly: boolean;
  /** Nobody holds a live lease, or a hand-over is asked of the holder: a takeover may be under way. */
  readonly takeoverInProgress: boolean;
}

export type OperatorOutcome =
  | { readonly kind: 'set-intent' }
  | { readonly kind: 'refuse'; readonly code: 'failed-precondition' | 'not-found'; readonly field: string };

export type OperatorRule = Omit<Rule, 'when' | 'outcome'> & {
  readonly when: (c: OperatorContext) => boolean;
  readonly outcome: OperatorOutcome;
};

const always = (): boolean => true;

export const MAINTENANCE_RULES: readonly OperatorRule[] = [
  {
    name: 'refuse-maintenance-of-unknown-node',
    when: (c) => !c.nodeKnown,
    outcome: { kind: 'refuse', code: 'not-found', field: 'node' },
    why: 'the node is not a member of the group: it has not sent a heartbeat since this witness started',
  },
  {
    name: 'refuse-maintenance-of-removed-node',
    when: (c) => c.on && c.nodeRemoved,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'node' },
    why: 'the node is removed from the group, which already keeps it from running: readmit it first',
  },
  {
    name: 'end-maintenance',
    when: (c) => !c.on,
    outcome: { kind: 'set-intent' },
    why: 'the node leaves maintenance: it may be granted again, and runs as the tables say',
  },
  {
    name: 'refuse-maintenance-of-active-node',
    when: (c) => c.nodeActive && (!c.peerHealthy || c.peerOutOfService) && !c.force,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'force' },
    why:
      'the node runs the workload and its peer could not take over (not heard within the default lease, ' +
      'in maintenance or removed); force it to stop the workload anyway',
  },
  {
    name: 'begin-maintenance',
    when: always,
    outcome: { kind: 'set-intent' },
    why: 'the node is granted nothing while in maintenance; if active, it stops, releases and hands the group to its peer',
  },
];

export const SWITCHOVER_RULES: readonly OperatorRule[] = [
  {
    name: 'refuse-switchover-nobody-active',
    when: (c) => !c.groupActive,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: 'nobody holds the group with a live lease: there is nothing to switch over',
  },
  {
    name: 'refuse-switchover-peer-unhealthy',
    when: (c) => !c.peerHealthy,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: "the active node's peer was not heard within the default lease: it could not take over",
  },
  {
    name: 'refuse-switchover-to-maintenance',
    when: (c) => c.peerOutOfService,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why: "the active node's peer is in maintenance or removed: take it out, or readmit it, first",
  },
  {
    name: 'refuse-switchover-to-stale-peer',
    when: (c) => c.peerStale && !c.force,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'force' },
    why:
      "the active node's peer has not synced within --max-sync-age (or reported no sync), so its " +
      'Acquire would be refused: force the switchover to hand over to it anyway',
  },
  {
    name: 'force-switchover-to-stale-peer',
    when: (c) => c.peerStale,
    outcome: { kind: 'set-intent' },
    why:
      'forced: the active node hands the group to its peer, whose copy is older than --max-sync-age; ' +
      'its Acquire is granted past the freshness gate (design §21.4)',
  },
  {
    name: 'ask-switchover',
    when: always,
    outcome: { kind: 'set-intent' },
    why: 'the active node is asked to stop, release and hand the group to its peer, which takes over at once',
  },
];

/**
 * A removed node keeps its place in the group: a new node could not see the peer leases the
 * remaining member may still be granted by, or grant to, the removed one (design §9.7).
 */
export const REMOVAL_RULES: readonly OperatorRule[] = [
  {
    name: 'refuse-removal-of-unknown-node',
    when: (c) => !c.nodeKnown,
    outcome: { kind: 'refuse', code: 'not-found', field: 'node' },
    why: 'the node is not a member of the group: it has not sent a heartbeat since this witness started',
  },
  {
    name: 'readmit-node',
    when: (c) => !c.on,
    outcome: { kind: 'set-intent' },
    why: 'the node is a member again: it may be granted, and runs as the tables say',
  },
  {
    name: 'refuse-removal-of-active-node',
    when: (c) => c.nodeActive && !c.force,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'force' },
    why:
      'the node runs the workload: hand it over first (switchover or maintenance), or force it, ' +
      'which stops the workload and hands it to the peer if the peer can take it',
  },
  {
    name: 'remove-node',
    when: always,
    outcome: { kind: 'set-intent' },
    why: 'the node is granted nothing and runs nothing until readmitted; if active, it stops, releases and hands over',
  },
];

/** Breaking a group removes every member (§9.7): nothing of the pair runs until one is readmitted. */
export const BREAK_RULES: readonly OperatorRule[] = [
  {
    name: 'refuse-break-of-partly-known-group',
    when: (c) => c.membersKnown < 2,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why:
      'the witness knows fewer than two members of the group (the others have not reported in since it ' +
      'started), so a break could not remove them: remove the known one with RemoveNode, or wait',
  },
  {
    name: 'refuse-sync-break-during-takeover',
    when: (c) => c.syncOnly && c.takeoverInProgress,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'group' },
    why:
      'a takeover may be under way (nobody holds a live lease, or a hand-over is asked): the sync ' +
      'relationship can be broken only while one node runs the group steadily',
  },
  {
    name: 'break-sync-relationship',
    when: (c) => c.syncOnly,
    outcome: { kind: 'set-intent' },
    why:
      'the standby is removed: it stops syncing and takes nothing over until readmitted; the active ' +
      'node runs on untouched (design §21.5)',
  },
  {
    name: 'refuse-break-while-active',
    when: (c) => c.groupActive && !c.force,
    outcome: { kind: 'refuse', code: 'failed-precondition', field: 'force' },
    why: 'a node runs the workload: stop it first, or force the break, which stops it',
  },
  {
    name: 'break-group',
    when: always,
    outcome: { kind: 'set-intent' },
    why: 'every member is removed: the active node stops and releases, and no node is granted until one is readmitted',
  },
];

/**
 * The policy only decides whether the preferred primary asks for the group back; the hand-back is
 * a planned hand-over under the same rules as any (design §9.4), so no state of the group makes
 * setting it unsafe.
 */
export const FAILBACK_RULES: readonly OperatorRule[] = [
  {
    name: 'set-failback-policy',
    when: always,
    outcome: { kind: 'set-intent' },
    why: "the group's fail-back policy overrides each sidecar's own --failback from the nodes' next heartbeat",
  },
];
