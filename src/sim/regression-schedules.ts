/**
 * Schedules that once showed a violation, each with what it found: a fault of the production
 * cores (a "finding" of README.md) or a gap of the model or its checks, since fixed. They replay
 * clean on the code as it is (test/sim/simulator.test.ts), and a mutation hunt runs them before
 * the swarm (mutants/hunt.ts): a guard a fixed fault depended on is caught by the schedule that
 * found the fault, however rarely the swarm draws it again.
 */
import { FAULT_KINDS, FORGET_KINDS, type FaultKind } from './plan';
import type { RunConfig } from './run';

export interface RegressionSchedule {
  readonly seed: number;
  /**
   * The fault kinds it may draw: those it was found with. A kind added since would change its
   * plan (each kind is drawn on for half the schedules); without it, the plan is the one it was.
   */
  readonly faults: readonly FaultKind[];
  /** What it found, in a few words. */
  readonly found: string;
}

/** The default swarm before forgotten groups and wall-clock steps were drawn. */
const SWARM_BEFORE_FORGETTING: readonly FaultKind[] = FAULT_KINDS.filter((kind) => !FORGET_KINDS.has(kind));

const RESTART_FAULTS: readonly FaultKind[] = [
  'workload-crash',
  'reorder',
  'duplication',
  'blackhole',
  'one-way',
  'partition',
  'isolate',
  'loss',
];

const RESTART_UNDER_RELEASE = 'S1: a workload restarted under an epoch whose Release is in flight (finding 1)';

/** Finding 1, with the fault kinds that found it and with the default swarm (a paused sidecar). */
export const RESTART_UNDER_RELEASE_SCHEDULES: readonly RegressionSchedule[] = [
  ...[0xf94cabfe, 0xf81cee60, 0x7d577032, 0xaf7243a9].map((seed) => ({
    seed,
    faults: RESTART_FAULTS,
    found: RESTART_UNDER_RELEASE,
  })),
  ...[0x57b2e4cd, 0x9a3a3b9f, 0xf88b2365].map((seed) => ({
    seed,
    faults: SWARM_BEFORE_FORGETTING,
    found: RESTART_UNDER_RELEASE,
  })),
];

const STALE_COPY = 'freshness: a kept run that stopped before the next process decided left its copy stale';

/** Schedules of the default swarm that replay with no violation at all. */
export const CLEAN_REPLAY_SCHEDULES: readonly RegressionSchedule[] = [
  { seed: 0xe07712ef, found: STALE_COPY },
  { seed: 0x340045aa, found: STALE_COPY },
  {
    seed: 0x032c47a5,
    found: 'S1: a wiped witness re-adopted a thawed run whose holder knew a newer epoch (finding 16)',
  },
  { seed: 0xe76eeb46, found: 'check gap: a cold start on a peer lease asked before a clock-stopping freeze' },
  { seed: 0x90111da6, found: "check gap: the failure cool-down counted on the crashed node's clock" },
  { seed: 0x574548a8, found: 'check gap: self-superseded counted a frozen, unrenewed run as healthy' },
  { seed: 0xaa9112f6, found: 'model gap: the sync truth counted a run the schedule cancelled' },
].map((schedule) => ({ ...schedule, faults: SWARM_BEFORE_FORGETTING }));

/** Schedules that caught a mutant no other did: paths the swarm reaches rarely, kept as they are. */
export const MUTANT_CATCHING_SCHEDULES: readonly RegressionSchedule[] = [
  {
    seed: 0x93cbc0e2,
    faults: FAULT_KINDS,
    found: 'a group forgotten, the witness restarted on a clock stepped back (open-reuses-stored-generation)',
  },
];

export const REGRESSION_SCHEDULES: readonly RegressionSchedule[] = [
  ...RESTART_UNDER_RELEASE_SCHEDULES,
  ...CLEAN_REPLAY_SCHEDULES,
  ...MUTANT_CATCHING_SCHEDULES,
];

/** The run configuration that replays one. */
export function regressionRunConfig(schedule: RegressionSchedule): RunConfig {
  return { planOptions: { allowFaults: new Set(schedule.faults) } };
}
