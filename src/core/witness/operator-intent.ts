/**
 * What operators asked of a group (design §9.6, §9.7): nodes in maintenance, a switchover asked of
 * the holder of one epoch, the group's fail-back policy (§9.4) and the nodes removed from it.
 * Durable with the group's record, so it survives a restart of the witness.
 */
import type { DurableGroup, FailbackPolicy, OperatorInput } from './types';

export interface Intent {
  /** Sorted, so that a record's bytes depend only on its content. */
  readonly maintenance: readonly string[];
  /** A switchover is asked of the holder of this epoch; 0n when none. */
  readonly switchoverEpoch: bigint;
  /** undefined: each sidecar's own --failback. */
  readonly failback: FailbackPolicy | undefined;
  /** Sorted. A removed node is never in maintenance too: removal supersedes it. */
  readonly removed: readonly string[];
}

export const NO_INTENT: Intent = { maintenance: [], switchoverEpoch: 0n, failback: undefined, removed: [] };

export function intentOf(record: DurableGroup): Intent {
  const maintenance = [...(record.maintenance ?? [])].sort();
  const switchoverEpoch = record.switchoverEpoch ?? 0n;
  const failback = record.failback;
  const removed = [...(record.removed ?? [])].sort();
  return maintenance.length === 0 && switchoverEpoch === 0n && failback === undefined && removed.length === 0
    ? NO_INTENT
    : { maintenance, switchoverEpoch, failback, removed };
}

/** The record's intent fields, present only when set (records without intent keep their old form). */
export function intentFields(
  intent: Intent,
): Pick<DurableGroup, 'maintenance' | 'switchoverEpoch' | 'failback' | 'removed'> {
  return {
    ...(intent.maintenance.length > 0 ? { maintenance: intent.maintenance } : {}),
    ...(intent.switchoverEpoch !== 0n ? { switchoverEpoch: intent.switchoverEpoch } : {}),
    ...(intent.failback !== undefined ? { failback: intent.failback } : {}),
    ...(intent.removed.length > 0 ? { removed: intent.removed } : {}),
  };
}

export function inMaintenance(intent: Intent, node: string): boolean {
  return intent.maintenance.includes(node);
}

export function isRemoved(intent: Intent, node: string): boolean {
  return intent.removed.includes(node);
}

/** In maintenance or removed: the node must not run, is granted nothing and, if active, hands over. */
export function outOfService(intent: Intent, node: string): boolean {
  return inMaintenance(intent, node) || isRemoved(intent, node);
}

/** The holder of `epoch` is asked to hand the group over: it is out of service, or a switchover is asked of it. */
export function asksHandOver(intent: Intent, holder: string, epoch: bigint): boolean {
  return holder !== '' && (outOfService(intent, holder) || (epoch !== 0n && intent.switchoverEpoch === epoch));
}

/**
 * The intent once an operator's request that the rules allowed takes effect; `members` are the
 * nodes a break removes.
 */
export function withRequest(
  intent: Intent,
  input: OperatorInput,
  holderEpoch: bigint,
  members: readonly string[],
): Intent {
  switch (input.kind) {
    case 'switchover':
      return { ...intent, switchoverEpoch: holderEpoch };
    case 'failback':
      return { ...intent, failback: input.policy === 'node' ? undefined : input.policy };
    case 'maintenance':
      return { ...intent, maintenance: setMembership(intent.maintenance, input.node, input.on) };
    case 'remove':
      return input.readmit
        ? { ...intent, removed: setMembership(intent.removed, input.node, false) }
        : removing(intent, [input.node]);
    case 'break':
      return removing(intent, members);
  }
}

function removing(intent: Intent, nodes: readonly string[]): Intent {
  const removed = [...new Set([...intent.removed, ...nodes])].sort();
  return { ...intent, removed, maintenance: intent.maintenance.filter((n) => !nodes.includes(n)) };
}

function setMembership(names: readonly string[], node: string, member: boolean): readonly string[] {
  const others = names.filter((n) => n !== node);
  return member ? [...others, node].sort() : others;
}

/** A new epoch was granted: a switchover asked of an earlier one is done (or moot). */
export function afterGrant(intent: Intent): Intent {
  return intent.switchoverEpoch === 0n ? intent : { ...intent, switchoverEpoch: 0n };
}

export function sameIntent(a: Intent, b: Intent): boolean {
  return (
    a.switchoverEpoch === b.switchoverEpoch &&
    a.failback === b.failback &&
    sameNames(a.maintenance, b.maintenance) &&
    sameNames(a.removed, b.removed)
  );
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => b[i] === n);
}
