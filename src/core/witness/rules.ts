/**
 * The witness's arbitration rules, as data (design §6). For each request kind the
 * rules are tried in order and the first whose condition holds decides; its name and reason are
 * logged with every decision and printed by `witness rules`. Read this file against design §6:
 * every way the witness can answer is listed here, and nothing else decides.
 */
import { LEASE_WATCH_RULES } from './lease-watch';
import { SYNC_NOW_RULES } from './sync-now-rules';
import { SYNC_WATCH_RULES } from './sync-watch';
import {
  BREAK_RULES,
  FAILBACK_RULES,
  MAINTENANCE_RULES,
  type OperatorRule,
  REMOVAL_RULES,
  SWITCHOVER_RULES,
} from './operator-rules';
import type { RefusalReason } from './types';

/** What the witness knows about the group at the moment a request arrives. */
export interface RuleContext {
  /** The caller. */
  readonly node: string;
  /** Renew: the epoch the caller says it is active under. Release: the epoch it releases. */
  readonly callerEpoch: bigint;
  /** The highest epoch the caller says it has seen. */
  readonly callerKnownEpoch: bigint;
  /** The highest epoch the caller reported running under since this witness started; 0 if none. */
  readonly callerRanUnder: bigint;
  /** Recorded holder, '' when none, and the group's current epoch. */
  readonly holder: string;
  readonly epoch: bigint;
  /** The holder's lease has not yet run out at the witness (counted from receipt, with drift). */
  readonly holderLeaseLive: boolean;
  /** The witness started less than one (longest) lease ago. */
  readonly inStartupGrace: boolean;
  /** An operator put the caller in maintenance (design §9.6). */
  readonly callerInMaintenance: boolean;
  /** An operator removed the caller from the group (design §9.7). */
  readonly callerRemoved: boolean;
  /**
   * With --max-sync-age: the caller's last successful sync is older than that, or unknown, and it
   * is not the node that ran the group last (design §21.4). Always false without the option.
   */
  readonly callerStale: boolean;
  /** An operator forced the switchover now under way past the freshness gate (design §21.4). */
  readonly freshnessWaived: boolean;
}

export type Outcome =
  | { readonly kind: 'renew' }
  | { readonly kind: 'adopt' }
  | { readonly kind: 'acknowledge' }
  | { readonly kind: 'grant' }
  | { readonly kind: 'release' }
  | { readonly kind: 'refuse'; readonly reason: RefusalReason };

export interface Rule {
  readonly name: string;
  readonly when: (c: RuleContext) => boolean;
  readonly outcome: Outcome;
  /** One line for humans, logged with the decision and sent in the answer. */
  readonly why: string;
}

const refuse = (reason: RefusalReason): Outcome => ({ kind: 'refuse', reason });
const always = (): boolean => true;

/** Heartbeats (Renew, KeepAlive). None of these outcomes may start a workload (design §6.2). */
export const HEARTBEAT_RULES: readonly Rule[] = [
  {
    name: 'refuse-epoch-the-caller-knows-superseded',
    when: (c) => c.callerEpoch > 0n && c.callerKnownEpoch > c.callerEpoch,
    outcome: refuse('stale-epoch'),
    why:
      'the caller knows an epoch above the one it runs under, handed out after its own: its run is ' +
      'over, even where this witness lost the record of the newer one (a wiped store)',
  },
  {
    name: 'renew-holder',
    when: (c) => c.callerEpoch > 0n && c.holder === c.node && c.callerEpoch === c.epoch,
    outcome: { kind: 'renew' },
    why: 'the holder reports in under the current epoch: its lease is extended',
  },
  {
    name: 'adopt-higher-epoch',
    when: (c) => c.callerEpoch > c.epoch,
    outcome: { kind: 'adopt' },
    why:
      'the caller runs under an epoch this witness never recorded (its store was lost, or the pair ' +
      'started on peer leases while it was down); adopting starts nothing, and the highest epoch wins',
  },
  {
    name: 'refuse-released-epoch',
    when: (c) => c.callerEpoch > 0n && c.callerEpoch === c.epoch && c.holder === '',
    outcome: refuse('not-holder'),
    why: 'this epoch was released; the node must stop and acquire a new one to run again',
  },
  {
    name: 'refuse-superseded-epoch',
    when: (c) => c.callerEpoch > 0n,
    outcome: refuse('stale-epoch'),
    why: 'a newer epoch was handed out (or another node holds this one): the caller must stop',
  },
  {
    name: 'acknowledge-removed-node',
    when: (c) => c.callerRemoved,
    outcome: { kind: 'acknowledge' },
    why: 'an operator removed this node from the group: the answer tells it to run nothing and ask for nothing until readmitted',
  },
  {
    name: 'acknowledge-standby',
    when: always,
    outcome: { kind: 'acknowledge' },
    why: 'a node that holds nothing reports in: the witness is reachable',
  },
];

/** Acquire: "the primary is down, may I take over?" */
export const ACQUIRE_RULES: readonly Rule[] = [
  {
    name: 'refuse-removed-node',
    when: (c) => c.callerRemoved,
    outcome: refuse('removed'),
    why: 'an operator removed this node from the group: it is granted nothing until readmitted',
  },
  {
    name: 'refuse-node-in-maintenance',
    when: (c) => c.callerInMaintenance,
    outcome: refuse('maintenance'),
    why: 'an operator put this node in maintenance: it is granted nothing until taken out',
  },
  {
    name: 'refuse-during-startup-grace',
    when: (c) => c.inStartupGrace,
    outcome: refuse('startup-grace'),
    why: 'this witness started less than one lease ago: a lease it handed out before may still run',
  },
  {
    name: 'refuse-while-holder-lease-live',
    when: (c) => c.holder !== '' && c.holder !== c.node && c.holderLeaseLive,
    outcome: refuse('held-by-other'),
    why: "the holder's lease has not run out at the witness: its workload may still be running",
  },
  {
    name: 'refuse-late-acquire-by-holder',
    when: (c) => c.holder === c.node && c.callerKnownEpoch < c.epoch,
    outcome: refuse('stale-epoch'),
    why:
      'the holder asks without knowing its own current epoch: a request delayed past the grant it ' +
      'predates; granting it would supersede the run that grant started, which may still go on ' +
      "on a peer lease after the holder's lease ran out here; the answer tells the epoch",
  },
  {
    name: 'refuse-acquire-older-than-callers-run',
    when: (c) => c.callerKnownEpoch < c.callerRanUnder,
    outcome: refuse('stale-epoch'),
    why:
      'the caller reported running under an epoch this request does not know: a request delayed ' +
      'past that run, which the witness may have failed to record; granting it would supersede ' +
      'the run; the answer tells the epoch',
  },
  {
    name: 'grant-stale-standby-on-forced-switchover',
    when: (c) => c.callerStale && c.freshnessWaived,
    outcome: { kind: 'grant' },
    why:
      "an operator forced the switchover (witness switchover --force): the caller's copy is older than " +
      '--max-sync-age, and it is granted anyway; a new, higher epoch, on disk before this answer',
  },
  {
    name: 'refuse-stale-standby',
    when: (c) => c.callerStale,
    outcome: refuse('stale-standby'),
    why:
      "the caller's last successful sync is older than --max-sync-age, or it reported none: its copy is " +
      'too stale to take over (an operator may force a switchover to it)',
  },
  {
    name: 'grant-new-epoch',
    when: always,
    outcome: { kind: 'grant' },
    why: 'no other node holds a live lease: a new, higher epoch is handed out, on disk before this answer',
  },
];

/** Release: the holder stopped its workload and hands the group back. */
export const RELEASE_RULES: readonly Rule[] = [
  {
    name: 'release-holder',
    when: (c) => c.holder !== '' && c.holder === c.node && c.callerEpoch === c.epoch,
    outcome: { kind: 'release' },
    why: 'the holder has stopped and hands the group back; the peer need not wait out the lease',
  },
  {
    name: 'refuse-release-of-old-epoch',
    when: (c) => c.callerEpoch < c.epoch,
    outcome: refuse('stale-epoch'),
    why: 'the epoch being released has been superseded; nothing changes',
  },
  {
    name: 'refuse-release-by-non-holder',
    when: always,
    outcome: refuse('not-holder'),
    why: 'only the holder of the current epoch can release it; nothing changes',
  },
];

export function firstMatchingRule<Context, R extends { readonly when: (c: Context) => boolean }>(
  rules: readonly R[],
  context: Context,
): R {
  for (const rule of rules) if (rule.when(context)) return rule;
  // Every table ends with a rule that always matches.
  throw new Error('rule table without a final catch-all rule');
}

/** The tables as text, for `witness rules` and the docs. */
export function describeRules(): string {
  const table = (title: string, rules: readonly (Rule | Omit<OperatorRule, 'when'>)[]): string =>
    `${title}\n` +
    rules
      .map((r) => {
        const outcome =
          r.outcome.kind !== 'refuse'
            ? r.outcome.kind
            : 'reason' in r.outcome
              ? `refuse (${r.outcome.reason})`
              : `refuse (${r.outcome.code})`;
        return `  ${r.name.padEnd(30)} -> ${outcome.padEnd(24)} ${r.why}`;
      })
      .join('\n');
  return [
    table('Heartbeat (Renew, KeepAlive)', HEARTBEAT_RULES),
    table('Acquire', ACQUIRE_RULES),
    table('Release', RELEASE_RULES),
    table('Operator: maintenance on/off (Admin.SetMaintenance)', MAINTENANCE_RULES),
    table('Operator: switchover (Admin.Switchover)', SWITCHOVER_RULES),
    table('Operator: fail-back policy (Admin.SetFailback)', FAILBACK_RULES),
    table('Operator: remove or readmit a node (Admin.RemoveNode, Admin.ReadmitNode)', REMOVAL_RULES),
    table('Operator: break the group (Admin.BreakGroup)', BREAK_RULES),
    table('Operator: sync now (Admin.SyncNow; design §21.2)', SYNC_NOW_RULES),
    `Lease watch (events only, between requests; design §18.2)\n` +
      Object.values(LEASE_WATCH_RULES)
        .map((r) => `  ${r.name.padEnd(30)} -> ${`event ${r.kind}`.padEnd(24)} ${r.why}`)
        .join('\n'),
    `Sync watch (events only, between requests; design §21.3)\n` +
      Object.values(SYNC_WATCH_RULES)
        .map((r) => `  ${r.name.padEnd(30)} -> ${`event ${r.kind}`.padEnd(24)} ${r.why}`)
        .join('\n'),
  ].join('\n\n');
}
