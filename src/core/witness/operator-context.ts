/**
 * What an operator's request is decided from (design §9.6, §9.7): the rule table for its kind and
 * the group as those rules see it.
 */
import { membersOf, type GroupState } from './group-state';
import { asksHandOver, isRemoved, outOfService } from './operator-intent';
import { tooStale } from './sync-age';
import {
  BREAK_RULES,
  FAILBACK_RULES,
  MAINTENANCE_RULES,
  type OperatorContext,
  type OperatorRule,
  REMOVAL_RULES,
  SWITCHOVER_RULES,
} from './operator-rules';
import type { OperatorInput } from './types';

export const OPERATOR_RULES: Record<OperatorInput['kind'], readonly OperatorRule[]> = {
  maintenance: MAINTENANCE_RULES,
  switchover: SWITCHOVER_RULES,
  failback: FAILBACK_RULES,
  remove: REMOVAL_RULES,
  break: BREAK_RULES,
};

/** The node an operator's request is about: the one it names, else the holder. */
export function namedNode(input: OperatorInput, holder: string): string {
  return input.kind === 'maintenance' || input.kind === 'remove' ? input.node : holder;
}

/** The group as the operator rules see it, for this request at `now`. */
export function operatorContext(
  group: GroupState,
  input: OperatorInput,
  now: number,
  defaultLeaseMs: number,
  maxSyncAgeMs: number | undefined,
): OperatorContext {
  const { holder, holdUntil } = group.holding;
  const groupActive = holder !== '' && now < holdUntil;
  const node = namedNode(input, holder);
  const peer = [...group.nodes].find(([name]) => name !== node);
  return {
    node,
    nodeKnown: node !== '' && membersOf(group).includes(node),
    on: (input.kind === 'maintenance' && input.on) || (input.kind === 'remove' && !input.readmit),
    force: 'force' in input && input.force === true,
    nodeRemoved: isRemoved(group.intent, node),
    nodeActive: groupActive && holder === node,
    groupActive,
    peerHealthy: peer !== undefined && now - peer[1].lastSeen < defaultLeaseMs,
    peerOutOfService: peer !== undefined && outOfService(group.intent, peer[0]),
    membersKnown: membersOf(group).length,
    peerStale: maxSyncAgeMs !== undefined && peer !== undefined && tooStale(peer[1], now, maxSyncAgeMs),
    syncOnly: input.kind === 'break' && input.syncOnly === true,
    takeoverInProgress:
      !groupActive || group.intent.switchoverEpoch !== 0n || asksHandOver(group.intent, holder, group.holding.epoch),
  };
}
