/**
 * What operators asked of a group (design §9.6): nodes in maintenance, a switchover asked of the
 * holder of one epoch, and the group's fail-back policy (§9.4). Durable with the group's record, so
 * it survives a restart of the witness.
 */
import type { DurableGroup, FailbackPolicy, OperatorInput } from './types';

export interface Intent {
  /** Sorted, so that a record's bytes depend only on its content. */
  readonly maintenance: readonly string[];
  /** A switchover is asked of the holder of this epoch; 0n when none. */
  readonly switchoverEpoch: bigint;
  /** undefined: each sidecar's own --failback. */
  readonly failback: FailbackPolicy | undefined;
}

export const NO_INTENT: Intent = { maintenance: [], switchoverEpoch: 0n, failback: undefined };

export function intentOf(record: DurableGroup): Intent {
  const maintenance = [...(record.maintenance ?? [])].sort();
  const switchoverEpoch = record.switchoverEpoch ?? 0n;
  const failback = record.failback;
  return maintenance.length === 0 && switchoverEpoch === 0n && failback === undefined
    ? NO_INTENT
    : { maintenance, switchoverEpoch, failback };
}

/** The record's intent fields, present only when set (records without intent keep their old form). */
export function intentFields(intent: Intent): Pick<DurableGroup, 'maintenance' | 'switchoverEpoch' | 'failback'> {
  return {
    ...(intent.maintenance.length > 0 ? { maintenance: intent.maintenance } : {}),
    ...(intent.switchoverEpoch !== 0n ? { switchoverEpoch: intent.switchoverEpoch } : {}),
    ...(intent.failback !== undefined ? { failback: intent.failback } : {}),
  };
}

export function inMaintenance(intent: Intent, node: string): boolean {
  return intent.maintenance.includes(node);
}

/** The holder of `epoch` is asked to hand the group over: it is in maintenance, or a switchover is asked of it. */
export function asksHandOver(intent: Intent, holder: string, epoch: bigint): boolean {
  return holder !== '' && (inMaintenance(intent, holder) || (epoch !== 0n && intent.switchoverEpoch === epoch));
}

/** The intent once an operator's request that the rules allowed takes effect. */
export function withRequest(intent: Intent, input: OperatorInput, holderEpoch: bigint): Intent {
  if (input.kind === 'switchover') return { ...intent, switchoverEpoch: holderEpoch };
  if (input.kind === 'failback') return { ...intent, failback: input.policy === 'node' ? undefined : input.policy };
  const others = intent.maintenance.filter((n) => n !== input.node);
  return { ...intent, maintenance: input.on ? [...others, input.node].sort() : others };
}

/** A new epoch was granted: a switchover asked of an earlier one is done (or moot). */
export function afterGrant(intent: Intent): Intent {
  return intent.switchoverEpoch === 0n ? intent : { ...intent, switchoverEpoch: 0n };
}

export function sameIntent(a: Intent, b: Intent): boolean {
  return (
    a.switchoverEpoch === b.switchoverEpoch &&
    a.failback === b.failback &&
    a.maintenance.length === b.maintenance.length &&
    a.maintenance.every((n, i) => b.maintenance[i] === n)
  );
}
