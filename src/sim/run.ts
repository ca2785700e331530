/** Runs many schedules and gathers what the report needs. */
import type { KeptRestartOutcome } from './node-parts';
import type { SimHooks } from './hooks';
import { drawPlan } from './draw-plan';
import { emptyPastDeadlineCounts, type PastDeadlineLanding } from './held-answers';
import { FAULT_KINDS, type FaultKind, type Plan, type PlanOptions } from './plan';
import { scheduleSeed } from './prng';
import { type ScheduleResult, Simulation, type TraceLevel, type Violation } from './simulation';

export interface RunConfig {
  readonly hooks?: SimHooks;
  readonly planOptions?: PlanOptions;
}

export function runSchedule(
  seed: number,
  config: RunConfig = {},
  trace: TraceLevel = 0,
): { plan: Plan; result: ScheduleResult } {
  const plan = drawPlan(seed, config.planOptions);
  const result = new Simulation(plan, { hooks: config.hooks, trace }).run();
  return { plan, result };
}

export interface Example {
  readonly seed: number;
  readonly violation: Violation;
}

export interface Summary {
  schedules: number;
  simulatedMs: number;
  events: number;
  activations: number;
  cpuMs: number;
  rejectedConfigs: number;
  /** Violations by kind ('S1', 'S2', 'liveness', 'error') and by kind/sub. */
  byKind: Record<string, number>;
  bySub: Record<string, number>;
  /** Schedules with at least one violation. */
  failingSchedules: number;
  /** The first schedule that showed each kind/sub. */
  examples: Map<string, Example>;
  probeFailoversMs: number[];
  /** Probes by SIGTERM (a planned hand-over, §9.5): not failovers, and not in the figures above. */
  handOversMs: number[];
  /** Probe failover divided by the schedule's lease, and by its printed bound. */
  probeLeaseRatios: number[];
  probeBoundRatios: number[];
  /** Probe failover / lease in schedules where the lease dominates (timeout and peer lease <= lease). */
  probeLeaseDominantRatios: number[];
  faultFailoversMs: number[];
  keptRestarts: Record<KeptRestartOutcome, number>;
  /** Schedules that draw answers past the deadline, and the answers that landed so, by what they landed on. */
  pastDeadline: { schedules: number; landed: Record<PastDeadlineLanding, number> };
  faultCoverage: Record<FaultKind, number>;
  /** Standby freshness (design §21.6): schedules with the sync schedule, with the gate, and what it refused. */
  freshness: { schedules: number; gated: number; refusals: number; refusingSchedules: number; probesRefused: number };
}

export function emptySummary(): Summary {
  const coverage = {} as Record<FaultKind, number>;
  for (const kind of FAULT_KINDS) coverage[kind] = 0;
  return {
    schedules: 0,
    simulatedMs: 0,
    events: 0,
    activations: 0,
    cpuMs: 0,
    rejectedConfigs: 0,
    byKind: {},
    bySub: {},
    failingSchedules: 0,
    examples: new Map(),
    probeFailoversMs: [],
    handOversMs: [],
    probeLeaseRatios: [],
    probeBoundRatios: [],
    probeLeaseDominantRatios: [],
    faultFailoversMs: [],
    keptRestarts: {
      adopted: 0,
      'stopped-before-adoption': 0,
      'nothing-to-keep': 0,
      'not-found': 0,
    },
    pastDeadline: { schedules: 0, landed: emptyPastDeadlineCounts() },
    faultCoverage: coverage,
    freshness: { schedules: 0, gated: 0, refusals: 0, refusingSchedules: 0, probesRefused: 0 },
  };
}

export function addResult(summary: Summary, plan: Plan, result: ScheduleResult): void {
  summary.schedules += 1;
  summary.simulatedMs += result.simulatedMs;
  summary.events += result.events;
  summary.activations += result.activations;
  summary.rejectedConfigs += plan.rejectedConfigs;
  for (const kind of plan.faults) summary.faultCoverage[kind] += 1;
  if (result.violations.length > 0) summary.failingSchedules += 1;
  for (const [key, n] of Object.entries(result.violationCounts)) {
    const kind = key.slice(0, key.indexOf('/'));
    summary.byKind[kind] = (summary.byKind[kind] ?? 0) + n;
    summary.bySub[key] = (summary.bySub[key] ?? 0) + n;
  }
  for (const v of result.violations) {
    const key = `${v.kind}/${v.sub}`;
    if (!summary.examples.has(key)) summary.examples.set(key, { seed: result.seed, violation: v });
  }
  if (result.probeFailoverMs !== undefined && plan.probe === 'sigterm') {
    summary.handOversMs.push(result.probeFailoverMs);
  } else if (result.probeFailoverMs !== undefined) {
    summary.probeFailoversMs.push(result.probeFailoverMs);
    summary.probeLeaseRatios.push(result.probeFailoverMs / result.leaseMs);
    summary.probeBoundRatios.push(result.probeFailoverMs / result.failoverBoundMs);
    const s = plan.primary;
    if (s.timeoutMs <= s.leaseMs && s.peerLeaseMs <= s.leaseMs) {
      summary.probeLeaseDominantRatios.push(result.probeFailoverMs / s.leaseMs);
    }
  }
  for (const f of result.faultFailoversMs) summary.faultFailoversMs.push(f);
  for (const [outcome, n] of Object.entries(result.keptRestarts))
    summary.keptRestarts[outcome as KeptRestartOutcome] += n;
  if (plan.answerPastDeadlineProbability > 0) summary.pastDeadline.schedules += 1;
  for (const [how, n] of Object.entries(result.answersPastDeadline))
    summary.pastDeadline.landed[how as PastDeadlineLanding] += n;
  const fresh = summary.freshness;
  if (plan.freshness !== undefined) fresh.schedules += 1;
  if (plan.witness.maxSyncAgeMs !== undefined) fresh.gated += 1;
  fresh.refusals += result.gateRefusals;
  if (result.gateRefusals > 0) fresh.refusingSchedules += 1;
  if (result.probeRefusedByGate) fresh.probesRefused += 1;
}

/** Runs schedules `first` .. `first + count - 1` of the run seeded `masterSeed`. */
export function runMany(
  masterSeed: number,
  count: number,
  config: RunConfig = {},
  first = 0,
  summary = emptySummary(),
): Summary {
  const started = process.cpuUsage();
  for (let i = first; i < first + count; i += 1) {
    const { plan, result } = runSchedule(scheduleSeed(masterSeed, i), config);
    addResult(summary, plan, result);
  }
  const used = process.cpuUsage(started);
  summary.cpuMs += (used.user + used.system) / 1000;
  return summary;
}

export function totalViolations(summary: Summary): number {
  let n = 0;
  for (const v of Object.values(summary.byKind)) n += v;
  return n;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
