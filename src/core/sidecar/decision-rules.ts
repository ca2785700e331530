/**
 * Every decision the sidecar core makes, as ordered rule lists in the manner of the witness's
 * (src/core/witness/rules.ts). `decide(now)` picks one list by mode and workload phase, builds that
 * list's inputs from its leases, timers and what it last heard, and the first row whose condition
 * holds decides; the action carries the row's name (`rule`) and its reason (`why`). Nothing else
 * decides: `witness tables` prints these lists, and the VOLTTRON tables in behaviour-tables.ts are
 * the view of them users know (test/unit/sidecar-rule-lists.test.ts checks the two agree).
 *
 * Outcomes: an action (start, stop, acquire, release), or none of them: `keep-running`,
 * `stay-stopped` (a verdict of the standby table, reported by the view) or `wait` (nothing to do
 * until an answer, a timer or the peer changes; not reported).
 */
import { ACTIVE_TABLE, type Link, lookup, SIMPLE_TABLE, STANDBY_TABLE, type TableRow } from './behaviour-tables';
import type { NodeRole, WorkloadPhase } from './types';

export type RowOutcome = 'start' | 'stop' | 'acquire' | 'release' | 'keep-running' | 'stay-stopped' | 'wait';

export interface DecisionRow<Inputs> {
  readonly name: string;
  readonly when: (c: Inputs) => boolean;
  readonly outcome: RowOutcome;
  /** One line for humans, printed by `witness tables`; also the action's reason unless `says` is given. */
  readonly why: string;
  /** The action's reason when it names more than the row does (an epoch, a count). */
  readonly says?: (c: Inputs) => string;
}

/** The node whose workload is starting, running or stopping (standard mode). */
export interface ActiveInputs {
  readonly workload: WorkloadPhase;
  /** Why the witness refused this node's epoch, once it has. */
  readonly supersededBecause: string | undefined;
  /** Each lease counts as up only while it outlasts the stop budget (SAFETY 1). */
  readonly peerLeaseUp: boolean;
  readonly witnessLeaseUp: boolean;
  /** The stopped, preferred primary asks this secondary for the group back (auto fail-back). */
  readonly handbackAsked: boolean;
  /** A planned stop of this node (SIGTERM): it hands the group over (§9.5). */
  readonly leaving: boolean;
  /** The witness asked this run to hand the group over: a switchover, or maintenance (§9.6). */
  readonly handOverAsked: boolean;
  readonly epoch: bigint;
}

/** The node whose workload is stopped (standard mode). */
export interface StoppedInputs {
  readonly role: NodeRole;
  readonly epoch: bigint;
  /** A grant arrived since the last decision, and whether its lease still outlasts the stop budget. */
  readonly grantArrived: boolean;
  readonly grantUsable: boolean;
  /** The workload exited by itself while the node held the group, and may run again. */
  readonly restartWanted: boolean;
  readonly restarts: number;
  readonly maxRestarts: number;
  readonly inRestartBackoff: boolean;
  readonly acquireInFlight: boolean;
  /** The witness refused the last acquire and its retry wait has not ended. */
  readonly inRefusalWait: boolean;
  /** The witness may still record this node as holder. */
  readonly holding: boolean;
  readonly releaseInFlight: boolean;
  readonly inReleaseRetryWait: boolean;
  /** Cooling down after giving the group up. */
  readonly ineligible: boolean;
  /** A peer lease this node granted may still be counted on (SAFETY 3). */
  readonly promiseOutstanding: boolean;
  /** Less than one peer lease since this sidecar started: it may have forgotten promises (SAFETY 3). */
  readonly inQuietPeriod: boolean;
  /** The peer was heard within the timeout (counted from this node's start). */
  readonly peerUp: boolean;
  readonly witnessUp: boolean;
  /** What the peer last said of itself; undefined before it was heard. */
  readonly peerWorkload: WorkloadPhase | undefined;
  readonly peerEligible: boolean;
  /** The peer, stopped and heard within the timeout, hands the group over (a planned stop, §9.5). */
  readonly peerHandsOver: boolean;
  /** A planned stop of this node: it releases what it holds and asks for nothing more. */
  readonly leaving: boolean;
  /** The operator put this node in maintenance (§9.6). */
  readonly inMaintenance: boolean;
  /** This node released the group and tells its peer to take it (a switchover, §9.6). */
  readonly handingOver: boolean;
  /**
   * A cold start with the witness down (§10.2) may begin now: the peer vouched for the epoch this
   * primary proposed, with a lease that outlasts the stop budget, and the epoch is on this disk too.
   */
  readonly coldStartReady: boolean;
  /** The epoch proposed for it (0n: none). */
  readonly coldStartEpoch: bigint;
}

/** Simple mode: no witness, no leases. */
export interface SimpleInputs {
  readonly role: NodeRole;
  readonly peerUp: boolean;
  readonly workload: WorkloadPhase;
  readonly inRestartBackoff: boolean;
}

const always = (): boolean => true;
const tableWhy = (table: readonly TableRow<string>[], peer: Link, witness: Link): string =>
  lookup(table, peer, witness).why;
/** Both releases of a stopped workload say this (operators and tests know it). */
const RELEASE_AFTER_STOP_SAYS = 'the workload has stopped: hand the group back';

export const ACTIVE_RULES: readonly DecisionRow<ActiveInputs>[] = [
  {
    name: 'wait-while-stopping',
    when: (c) => c.workload === 'stopping',
    outcome: 'wait',
    why: 'the workload is stopping: nothing more to decide until the supervisor reports it stopped',
  },
  {
    name: 'stop-to-hand-over',
    when: (c) => c.leaving,
    outcome: 'stop',
    why: 'a planned stop (SIGTERM): stop, release, and tell the peer to take over at once',
  },
  {
    name: 'stop-to-hand-over-on-request',
    when: (c) => c.handOverAsked,
    outcome: 'stop',
    why: 'the operator asked for a switchover or maintenance: stop, release, and tell the peer to take over at once',
  },
  {
    name: 'stop-superseded-by-witness',
    when: (c) => c.supersededBecause !== undefined,
    outcome: 'stop',
    why: "the witness refused this node's epoch: a newer one exists, this run must end",
    says: (c) => c.supersededBecause ?? '',
  },
  {
    name: 'stop-lost-peer-and-witness',
    when: (c) => !c.peerLeaseUp && !c.witnessLeaseUp,
    outcome: 'stop',
    why: tableWhy(ACTIVE_TABLE, 'down', 'down'),
  },
  {
    name: 'stop-to-hand-back',
    when: (c) => c.handbackAsked,
    outcome: 'stop',
    why: 'the preferred primary asks for the group back (auto fail-back)',
  },
  {
    name: 'run-both-leases-hold',
    when: (c) => c.peerLeaseUp && c.witnessLeaseUp,
    outcome: 'keep-running',
    why: tableWhy(ACTIVE_TABLE, 'up', 'up'),
  },
  {
    name: 'run-on-peer-lease',
    when: (c) => c.peerLeaseUp,
    outcome: 'keep-running',
    why: tableWhy(ACTIVE_TABLE, 'up', 'down'),
  },
  {
    name: 'run-on-witness-lease',
    when: always,
    outcome: 'keep-running',
    why: tableWhy(ACTIVE_TABLE, 'down', 'up'),
  },
];

export const STOPPED_RULES: readonly DecisionRow<StoppedInputs>[] = [
  {
    name: 'release-grant-when-leaving',
    when: (c) => c.grantArrived && c.leaving,
    outcome: 'release',
    why: 'a grant that reaches a node handing the group over is handed back at once',
    says: (c) => `grant of epoch ${c.epoch} arrived during a planned stop`,
  },
  {
    name: 'start-on-grant',
    when: (c) => c.grantArrived && c.grantUsable,
    outcome: 'start',
    why: 'the witness granted a new epoch whose lease outlasts the stop budget (SAFETY 1)',
    says: (c) => `granted epoch ${c.epoch} by the witness`,
  },
  {
    name: 'release-late-grant',
    when: (c) => c.grantArrived,
    outcome: 'release',
    why: 'a grant too late to use is handed back at once: unrenewed, the witness would refuse the peer a lease more',
    says: (c) => `grant of epoch ${c.epoch} arrived too late to use`,
  },
  {
    name: 'wait-restart-backoff',
    when: (c) => c.restartWanted && c.inRestartBackoff,
    outcome: 'wait',
    why: 'the workload exited by itself: back off before running it again',
  },
  {
    name: 'wait-restart-acquire-in-flight',
    when: (c) => c.restartWanted && c.acquireInFlight,
    outcome: 'wait',
    why: 'the restart asked the witness for a new epoch: wait for the answer (SAFETY 4)',
  },
  {
    name: 'wait-restart-after-refusal',
    when: (c) => c.restartWanted && c.inRefusalWait,
    outcome: 'wait',
    why: 'the witness refused the restart: ask again when it said to',
  },
  {
    name: 'acquire-restart',
    when: (c) => c.restartWanted,
    outcome: 'acquire',
    why: 'every run gets its own epoch (S2): the holder asks again, and the witness grants the holder at once',
    says: (c) => `restart ${c.restarts} of ${c.maxRestarts} after the workload exited`,
  },
  {
    name: 'wait-release-answer',
    when: (c) => c.holding && c.releaseInFlight,
    outcome: 'wait',
    why: 'the release was sent: wait for its answer',
  },
  {
    name: 'wait-release-retry',
    when: (c) => c.holding && c.inReleaseRetryWait,
    outcome: 'wait',
    why: 'the release failed: ask again a heartbeat later, not in a loop',
  },
  {
    name: 'release-after-giving-up',
    when: (c) => c.holding && c.ineligible,
    outcome: 'release',
    why: 'the workload exited more than max-restarts times: the group goes to the peer',
    says: () => RELEASE_AFTER_STOP_SAYS,
  },
  {
    name: 'release-after-stop',
    when: (c) => c.holding,
    outcome: 'release',
    why: 'the workload has stopped: hand the group back, so the peer need not wait out the lease',
    says: () => RELEASE_AFTER_STOP_SAYS,
  },
  {
    name: 'wait-while-leaving',
    when: (c) => c.leaving,
    outcome: 'wait',
    why: 'a planned stop: the group is released and handed over; this node asks for nothing more',
  },
  {
    name: 'wait-in-maintenance',
    when: (c) => c.inMaintenance,
    outcome: 'wait',
    why: 'the operator put this node in maintenance: it asks for nothing until that ends',
  },
  {
    name: 'wait-while-handing-over',
    when: (c) => c.handingOver && c.peerUp && !c.peerHandsOver,
    outcome: 'wait',
    why: 'a switchover: the group is released and the peer takes it; this node asks for nothing for one timeout (unless the peer hands it back)',
  },
  {
    name: 'wait-acquire-in-flight',
    when: (c) => c.acquireInFlight,
    outcome: 'wait',
    why: 'an acquire is in flight until answered or until a grant it carries could no longer be used (SAFETY 4)',
  },
  {
    name: 'wait-after-refusal',
    when: (c) => c.inRefusalWait,
    outcome: 'wait',
    why: 'the witness refused: ask again when it said to (at most a timeout later; a heartbeat later for an error it gives before deciding)',
  },
  {
    name: 'wait-failure-cooldown',
    when: (c) => c.ineligible,
    outcome: 'wait',
    why: 'the node gave the group up after repeated workload failures: it does not ask during the cooldown',
  },
  {
    name: 'wait-promise-to-peer',
    when: (c) => c.promiseOutstanding,
    outcome: 'wait',
    why: 'a peer lease this node granted may still stand: never ask the witness meanwhile (SAFETY 3)',
  },
  {
    name: 'wait-quiet-after-start',
    when: (c) => c.inQuietPeriod,
    outcome: 'wait',
    why: 'a restarted sidecar has forgotten its promises: it asks nothing for one peer lease (SAFETY 3)',
  },
  {
    name: 'acquire-peer-gone',
    when: (c) => !c.peerUp && c.witnessUp,
    outcome: 'acquire',
    why: tableWhy(STANDBY_TABLE, 'down', 'up'),
  },
  {
    name: 'stay-stopped-nobody-confirms',
    when: (c) => !c.peerUp,
    outcome: 'stay-stopped',
    why: tableWhy(STANDBY_TABLE, 'down', 'down'),
  },
  {
    name: 'start-cold-on-peer-lease',
    when: (c) => c.coldStartReady,
    outcome: 'start',
    why: 'a cold start with the witness down: the stopped secondary recorded the epoch this primary proposed, above all either knows, and vouches with its peer lease (both keep their epochs on disk)',
    says: (c) => `cold start under epoch ${c.coldStartEpoch} on the secondary's peer lease; the witness is down`,
  },
  {
    name: 'wait-witness-down-peer-up',
    when: (c) => !c.witnessUp,
    outcome: 'wait',
    why: tableWhy(STANDBY_TABLE, 'up', 'down'),
  },
  {
    name: 'wait-peer-not-stopped',
    when: (c) => c.peerWorkload !== 'stopped',
    outcome: 'wait',
    why: 'the peer is up and runs, starts or stops its workload (or has not said yet: not heard since this sidecar started)',
  },
  {
    name: 'acquire-peer-hands-over',
    when: (c) => c.peerHandsOver,
    outcome: 'acquire',
    why: 'the peer stopped its workload, released the group and hands it over (a planned stop): take over now',
  },
  {
    name: 'acquire-preferred-primary',
    when: (c) => c.role === 'primary',
    outcome: 'acquire',
    why: 'both nodes are up and stopped: the preferred primary takes the group',
  },
  {
    name: 'acquire-primary-gave-up',
    when: (c) => !c.peerEligible,
    outcome: 'acquire',
    why: 'the primary gave the group up after repeated workload failures',
  },
  {
    name: 'wait-for-preferred-primary',
    when: always,
    outcome: 'wait',
    why: 'both nodes are up and stopped: the secondary leaves the group to the preferred primary',
  },
];

export const SIMPLE_RULES: readonly DecisionRow<SimpleInputs>[] = [
  {
    name: 'simple-start-primary',
    when: (c) => c.role === 'primary' && c.workload === 'stopped' && !c.inRestartBackoff,
    outcome: 'start',
    why: SIMPLE_TABLE.primary.why,
  },
  {
    name: 'simple-start-primary-down',
    when: (c) => c.role === 'secondary' && !c.peerUp && c.workload === 'stopped' && !c.inRestartBackoff,
    outcome: 'start',
    why: SIMPLE_TABLE.secondaryPeerDown.why,
  },
  {
    name: 'simple-stop-primary-up',
    when: (c) => c.role === 'secondary' && c.peerUp && (c.workload === 'running' || c.workload === 'starting'),
    outcome: 'stop',
    why: SIMPLE_TABLE.secondaryPeerUp.why,
  },
  {
    name: 'simple-wait-restart-backoff',
    when: (c) => c.workload === 'stopped' && (c.role === 'primary' || !c.peerUp),
    outcome: 'wait',
    why: 'the workload exited by itself: back off before running it again',
  },
  {
    name: 'simple-keep-running',
    when: (c) => c.workload === 'running' || c.workload === 'starting',
    outcome: 'keep-running',
    why: 'simple mode: the table says run (the primary; or the secondary while the primary is down)',
  },
  {
    name: 'simple-wait',
    when: always,
    outcome: 'wait',
    why: 'the workload is stopping, or the secondary stays stopped while the primary is up',
  },
];

export const RULE_LISTS = {
  active: ACTIVE_RULES,
  stopped: STOPPED_RULES,
  simple: SIMPLE_RULES,
} as const;

export const RULE_NAMES: ReadonlySet<string> = new Set(
  [...ACTIVE_RULES, ...STOPPED_RULES, ...SIMPLE_RULES].map((row) => row.name),
);
