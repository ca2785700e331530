/**
 * What one decision tells its caller (design §6): the verdict, the rule's name and reason, the
 * holding, the lease, when to ask again, and the operator's intent for this node. Pure.
 */
import { remainingMs } from '../lease';
import { holderRemaining, type Holding } from './group-state';
import { asksHandOver, type Intent, outOfService } from './operator-intent';
import type { OperatorRule } from './operator-rules';
import { messageOf, VERDICT_OF } from './rule-messages';
import type { Rule } from './rules';
import type { Decision, EventKind, LeaseAnswer } from './types';

/** What a decision changes beside its answer: the lease handed out, the event it is logged as. */
export interface DecisionEffect {
  readonly leaseMs?: number;
  readonly event?: EventKind | undefined;
}

export interface DecisionFacts {
  readonly group: string;
  /** The caller (or, for an operator's request, the node it concerns). */
  readonly node: string;
  /** The holding the answer tells of. */
  readonly holding: Holding;
  readonly rule: Rule | OperatorRule;
  readonly now: number;
  readonly effect: DecisionEffect;
  readonly intent: Intent;
  /** When the witness's start-up grace ends (a refusal for it says how long is left). */
  readonly graceUntil: number;
}

export function decisionOf(d: DecisionFacts): Decision {
  const { holding, intent, node, rule, now } = d;
  const renewed = rule.outcome.kind === 'renew' || rule.outcome.kind === 'adopt';
  const answer: LeaseAnswer = {
    group: d.group,
    verdict: VERDICT_OF[rule.outcome.kind],
    reason: rule.outcome.kind === 'refuse' && 'reason' in rule.outcome ? rule.outcome.reason : undefined,
    message: messageOf(rule),
    holder: holding.holder,
    epoch: holding.epoch,
    leaseMs: d.effect.leaseMs ?? 0,
    holderLeaseRemainingMs: holderRemaining(holding, now),
    retryAfterMs: retryAfter(rule, holding, now, d.graceUntil),
    // Told only with a renewal: the holder hands over while its lease still runs (L2).
    handOver: renewed && holding.holder === node && asksHandOver(intent, node, holding.epoch),
    // A removed node is told as a node in maintenance is: it runs nothing and asks for nothing.
    maintenance: outOfService(intent, node),
    ...(intent.failback === undefined ? {} : { failback: intent.failback }),
  };
  return { answer, rule: rule.name, persist: undefined, generation: undefined, event: d.effect.event };
}

/** When a refused caller may succeed: the grace's or the holder's remaining time; 0 otherwise. */
function retryAfter(rule: Rule | OperatorRule, holding: Holding, now: number, graceUntil: number): number {
  if (rule.outcome.kind !== 'refuse' || !('reason' in rule.outcome)) return 0;
  if (rule.outcome.reason === 'startup-grace') return remainingMs(graceUntil, now);
  if (rule.outcome.reason === 'held-by-other') return holderRemaining(holding, now);
  return 0;
}
