/**
 * The .proto enums and the cores' words for them, each table written once and read both ways.
 * Reading a wire value is validation: the other side is another process and may be broken, and
 * proto-loader hands over an unknown enum number as a number.
 */
import type { WorkloadPhase } from '../core/sidecar/types';
import type { LeaseWatchKind } from '../core/witness/lease-watch';
import type { SyncWatchKind } from '../core/witness/sync-watch';
import type { EventKind, FailbackPolicy, NodeRole, RefusalReason, Verdict } from '../core/witness/types';
import type { FailbackPolicy__Output as WireFailbackPolicy } from '../gen/witness/v1/FailbackPolicy';
import type { EventKind__Output as WireEventKind } from '../gen/witness/v1/EventKind';
import type { RefusalReason__Output as WireRefusalReason } from '../gen/witness/v1/RefusalReason';
import type { Role__Output as WireRole } from '../gen/witness/v1/Role';
import type { Verdict__Output as WireVerdict } from '../gen/witness/v1/Verdict';
import type { WorkloadPhase__Output as WireWorkloadPhase } from '../gen/witness/v1/WorkloadPhase';
import { invalid } from './wire-error';

const FAILBACK = {
  auto: 'FAILBACK_POLICY_AUTO',
  manual: 'FAILBACK_POLICY_MANUAL',
} as const satisfies Record<FailbackPolicy, WireFailbackPolicy>;

const ROLE = {
  primary: 'ROLE_PRIMARY',
  secondary: 'ROLE_SECONDARY',
} as const satisfies Record<NodeRole, WireRole>;

const VERDICT = {
  granted: 'VERDICT_GRANTED',
  renewed: 'VERDICT_RENEWED',
  acknowledged: 'VERDICT_ACKNOWLEDGED',
  released: 'VERDICT_RELEASED',
  refused: 'VERDICT_REFUSED',
} as const satisfies Record<Verdict, WireVerdict>;

const REASON = {
  'held-by-other': 'REFUSAL_REASON_HELD_BY_OTHER',
  'startup-grace': 'REFUSAL_REASON_STARTUP_GRACE',
  'stale-epoch': 'REFUSAL_REASON_STALE_EPOCH',
  'not-holder': 'REFUSAL_REASON_NOT_HOLDER',
  maintenance: 'REFUSAL_REASON_MAINTENANCE',
  removed: 'REFUSAL_REASON_REMOVED',
  'stale-standby': 'REFUSAL_REASON_STALE_STANDBY',
} as const satisfies Record<RefusalReason, WireRefusalReason>;

const EVENT = {
  registered: 'EVENT_KIND_REGISTERED',
  granted: 'EVENT_KIND_GRANTED',
  released: 'EVENT_KIND_RELEASED',
  adopted: 'EVENT_KIND_ADOPTED',
  refused: 'EVENT_KIND_REFUSED',
  intent: 'EVENT_KIND_INTENT',
  'holder-silent': 'EVENT_KIND_HOLDER_SILENT',
  'holder-returned': 'EVENT_KIND_HOLDER_RETURNED',
  'lease-expired': 'EVENT_KIND_LEASE_EXPIRED',
  'sync-stale': 'EVENT_KIND_SYNC_STALE',
  'sync-recovered': 'EVENT_KIND_SYNC_RECOVERED',
} as const satisfies Record<EventKind | LeaseWatchKind | SyncWatchKind, WireEventKind>;

const PHASE = {
  stopped: 'WORKLOAD_PHASE_STOPPED',
  starting: 'WORKLOAD_PHASE_STARTING',
  running: 'WORKLOAD_PHASE_RUNNING',
  stopping: 'WORKLOAD_PHASE_STOPPING',
} as const satisfies Record<WorkloadPhase, WireWorkloadPhase>;

export function toWireRole(role: NodeRole): (typeof ROLE)[NodeRole] {
  return ROLE[role];
}

export function fromWireRole(field: string, role: unknown): NodeRole {
  return fromWire(ROLE, field, role, 'must be ROLE_PRIMARY or ROLE_SECONDARY');
}

export function toWireVerdict(verdict: Verdict): WireVerdict {
  return VERDICT[verdict];
}

export function fromWireVerdict(field: string, verdict: unknown): Verdict {
  return fromWire(
    VERDICT,
    field,
    verdict,
    'must be one of VERDICT_GRANTED, _RENEWED, _ACKNOWLEDGED, _RELEASED, _REFUSED',
  );
}

/** A refusal's reason; REFUSAL_REASON_UNSPECIFIED when the answer is no refusal. */
export function toWireReason(reason: RefusalReason | undefined): WireRefusalReason {
  return reason === undefined ? 'REFUSAL_REASON_UNSPECIFIED' : REASON[reason];
}

export function fromWireReason(field: string, reason: unknown): RefusalReason | undefined {
  if (reason === 'REFUSAL_REASON_UNSPECIFIED') return undefined;
  return fromWire(REASON, field, reason, 'must be a RefusalReason the witness sends');
}

/** FAILBACK_POLICY_UNSPECIFIED: each sidecar's own --failback. */
export function toWireFailback(policy: FailbackPolicy | undefined): WireFailbackPolicy {
  return policy === undefined ? 'FAILBACK_POLICY_UNSPECIFIED' : FAILBACK[policy];
}

export function fromWireFailback(field: string, policy: unknown): FailbackPolicy | undefined {
  if (policy === 'FAILBACK_POLICY_UNSPECIFIED') return undefined;
  return fromWire(FAILBACK, field, policy, 'must be FAILBACK_POLICY_UNSPECIFIED, _AUTO or _MANUAL');
}

export function toWireEventKind(kind: EventKind | LeaseWatchKind | SyncWatchKind): WireEventKind {
  return EVENT[kind];
}

export function toWirePhase(phase: WorkloadPhase): WireWorkloadPhase {
  return PHASE[phase];
}

export function fromWirePhase(field: string, phase: unknown): WorkloadPhase {
  return fromWire(PHASE, field, phase, 'must be one of WORKLOAD_PHASE_STOPPED, _STARTING, _RUNNING, _STOPPING');
}

/** Each table read backwards, built once: decoding is on every renewal's path. */
const REVERSED = new WeakMap<object, ReadonlyMap<unknown, string>>();

function fromWire<Core extends string>(
  table: Readonly<Record<Core, string>>,
  field: string,
  value: unknown,
  accepted: string,
): Core {
  let reversed = REVERSED.get(table);
  if (reversed === undefined) {
    reversed = new Map(Object.entries(table).map(([core, wire]) => [wire, core]));
    REVERSED.set(table, reversed);
  }
  const core = reversed.get(value);
  if (core === undefined) throw invalid(field, accepted);
  return core as Core;
}
