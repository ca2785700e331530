/**
 * Mutants of the production shells the simulator runs: the sidecar's runtime (its one wake-up
 * timer, the watchdog it feeds) and the witness's service (a durable decision answered only once
 * its write settles; a group's requests held back while its write is pending). The same breaks
 * as the patched-build variants of test/sim/variants.ts, here in the TypeScript source.
 */
import { type Mutant, oneEdit } from './mutant';

const RUNTIME = 'src/sidecar/sidecar-runtime.ts';
const SERVICE = 'src/witness/arbitration-service.ts';
const GROUP_STATE = 'src/core/witness/group-state.ts';
const ACQUIRE_TIMING = 'src/sidecar/acquire-timing.ts';
const RULES = 'src/core/sidecar/decision-rules.ts';
const WITNESS_LINK = 'src/sidecar/witness-link.ts';
const UNDECIDED = 'src/wire/undecided-refusal.ts';
const STORE_ERROR_TO_WIRE = 'src/witness/store-error-to-wire.ts';

/** The Acquire's deadline, which ends a grant's use on the caller's clock, at twice the lease. */
const LONG_ACQUIRE_DEADLINE = {
  file: ACQUIRE_TIMING,
  find: 'return Math.max(1, Math.floor(usableLeaseMs(s, s.leaseMs)));',
  replace: 'return Math.max(1, 2 * s.leaseMs);',
};

const NO_HOLDBACK = oneEdit(
  'service-no-holdback',
  SERVICE,
  'const waiting = this.busy.get(group);\n    if (waiting === undefined) {\n      this.decide(',
  'const waiting = this.busy.get(group);\n    if (waiting === undefined || (true as boolean)) {\n      this.decide(',
  "service: a group's request is decided at once while the group's last decision waits for its write",
);

export const SHELL_MUTANTS: readonly Mutant[] = [
  oneEdit(
    'runtime-never-wakes',
    RUNTIME,
    'if (!Number.isFinite(at)) return;',
    'if (!Number.isFinite(at) || (true as boolean)) return;',
    "runtime: no wake-up timer at the core's nextWakeAt; it decides only at heartbeats and on inputs",
  ),
  oneEdit(
    'runtime-feeds-watchdog-late',
    RUNTIME,
    "view.workload === 'starting') this.parts.workload.feed(this.core.stopDeadline());",
    "view.workload === 'starting') this.parts.workload.feed(this.core.stopDeadline() + this.settings.heartbeatMs);",
    "runtime: the watchdog is fed a heartbeat past the core's stop deadline",
  ),
  {
    id: 'service-answers-before-durable',
    file: SERVICE,
    edits: [
      {
        find: '    this.busy.set(group, []);\n    this.parts.store.write(decision, (error) => {',
        replace:
          '    this.busy.set(group, []);\n    reply({ ok: true, answer });\n    this.parts.store.write(decision, (error) => {',
      },
      {
        find: '        this.announce(decision, node);\n        reply({ ok: true, answer });\n      } else {',
        replace: '        this.announce(decision, node);\n      } else {',
      },
    ],
    description: 'service: a durable decision is answered before its write settles (and rolled back if it fails)',
  },
  {
    id: 'acquire-deadline-doubled',
    file: ACQUIRE_TIMING,
    edits: [LONG_ACQUIRE_DEADLINE],
    description:
      "runtime: an Acquire's deadline is twice the lease, not the usable lease (a grant may come too late to use)",
  },
  {
    // With start-on-any-grant: is the core's grantUsable covered by the runtime's Acquire deadline?
    id: 'acquire-deadline-doubled-and-any-grant-starts',
    file: ACQUIRE_TIMING,
    edits: [
      LONG_ACQUIRE_DEADLINE,
      { file: RULES, find: 'when: (c) => c.grantArrived && c.grantUsable,', replace: 'when: (c) => c.grantArrived,' },
    ],
    description: 'runtime and core: an Acquire answered up to twice the lease later starts the workload, usable or not',
  },
  oneEdit(
    'failed-acquire-undecided',
    WITNESS_LINK,
    "return decidedNothing(error) ? 'undecided' : 'failed';",
    "return 'undecided';",
    'runtime: an Acquire that failed with no status or one the witness may give after deciding is asked again a heartbeat later, not kept in flight',
  ),
  oneEdit(
    'timed-out-acquire-undecided',
    WITNESS_LINK,
    "if (error?.code === grpc.status.DEADLINE_EXCEEDED) return 'timed-out';",
    "if (error?.code === grpc.status.DEADLINE_EXCEEDED) return 'undecided';",
    'runtime: an Acquire that timed out is asked again a heartbeat later, not kept in flight',
  ),
  oneEdit(
    'any-unavailable-undecided',
    UNDECIDED,
    'return status.code === grpc.status.UNAVAILABLE && (status.metadata?.get(LEADER_TRAILER).length ?? 0) > 0;',
    'return status.code === grpc.status.UNAVAILABLE;',
    'wire: an UNAVAILABLE without the leader trailer (a witness going down after its decision) counts as undecided',
  ),
  oneEdit(
    'unconfirmed-hold-without-trailer',
    STORE_ERROR_TO_WIRE,
    "return notLeading(error.message, '');",
    "return new WireError('unavailable', '', error.message);",
    'witness: a refusal given before deciding, because the store hold is unconfirmed, does not say so; the caller waits a lease',
  ),
  oneEdit(
    'failed-write-undecided',
    STORE_ERROR_TO_WIRE,
    `if (error instanceof StoreWriteError || error instanceof StoreHoldLostError) {
    return new WireError('unavailable', '', error.message);`,
    `if (error instanceof StoreWriteError || error instanceof StoreHoldLostError) {
    return notLeading(error.message, '');`,
    'witness: a store write that failed (and may have landed) is answered as decided-nothing; the caller asks again a heartbeat later',
  ),
  NO_HOLDBACK,
  {
    id: 'service-no-holdback-unasserted',
    file: SERVICE,
    edits: [
      ...NO_HOLDBACK.edits,
      {
        file: GROUP_STATE,
        find: '  if (group.pending !== undefined)\n    throw new Error(',
        replace: '  if ((false as boolean) && group.pending !== undefined)\n    throw new Error(',
      },
    ],
    description: `${NO_HOLDBACK.description}; and the Arbiter's check that a pending group gets no decision removed`,
  },
];
