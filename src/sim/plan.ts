/**
 * One schedule's configuration (drawn from its seed by drawPlan, draw-plan.ts): the sidecar
 * settings, the witness's bounds, the clocks, the network, and which faults happen at which rates;
 * and the fault kinds and parties it names.
 */
import type { SidecarSettings } from '../core/sidecar/types';
import type { ArbiterConfig } from '../core/witness/arbiter-config';
import type { BoundsFlavour } from './plan-bounds';
import type { ReplicaPlan } from './plan-replicas';
import type { FreshnessPlan } from './plan-freshness';

export const FAULT_KINDS = [
  'loss',
  'duplication',
  'reorder',
  'partition',
  'one-way',
  'blackhole',
  'isolate',
  'sidecar-crash',
  'sidecar-pause',
  'witness-crash',
  'witness-wipe',
  'crash-on-write',
  'workload-crash',
  'slow-stop',
  'write-failure',
  'sidecar-sigterm',
  'switchover',
  'maintenance',
  'failback-policy',
  'remove-node',
  'sidecar-restart',
  'machine-freeze',
  'witness-forget',
  'witness-clock-step',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Episode faults: each enabled kind recurs at its own rate during the fault phase. */
export const EPISODE_KINDS = [
  'partition',
  'one-way',
  'blackhole',
  'isolate',
  'sidecar-crash',
  'sidecar-pause',
  'witness-crash',
  'sidecar-sigterm',
  'switchover',
  'maintenance',
  'failback-policy',
  'remove-node',
  'sidecar-restart',
  'machine-freeze',
] as const satisfies readonly FaultKind[];
export type EpisodeKind = (typeof EPISODE_KINDS)[number];

/** Operators' requests (design §9.6, §9.7): drawn, and run, from streams of their own, so schedules without them replay as before. */
export const OPERATOR_KINDS: ReadonlySet<FaultKind> = new Set([
  'switchover',
  'maintenance',
  'failback-policy',
  'remove-node',
]);

/** A restart that keeps the workload (SIGUSR2, design §9.8): drawn, and run, from a stream of its own too. */
export const RESTART_KINDS: ReadonlySet<FaultKind> = new Set(['sidecar-restart']);

/**
 * A whole machine frozen (a paused VM: sidecar, watchdog and workload alike), its clock stopped or
 * running meanwhile (design §14): drawn, and run, from a stream of its own too.
 */
export const FREEZE_KINDS: ReadonlySet<FaultKind> = new Set(['machine-freeze']);

/**
 * The witness's janitor forgetting a silent group (`--forget-after`), and its wall clock stepped
 * back across a restart (an NTP step): drawn, and run, from a stream of their own too. Only over
 * one witness's own store.
 */
export const FORGET_KINDS: ReadonlySet<FaultKind> = new Set(['witness-forget', 'witness-clock-step']);

/** How the final failover probe takes the active node away ('sigterm': a planned hand-over, §9.5). */
export type ProbeKind = 'crash' | 'isolate' | 'pause' | 'sigterm';

/** Party indices: the two nodes and the witness. Directed link from a to b is `a * 3 + b`. */
export const PRIMARY = 0;
export const SECONDARY = 1;
export const WITNESS = 2;
export const PARTY_NAMES = ['P', 'S', 'W'] as const;

export interface LinkPlan {
  /** One-way delay: base + uniform(0, jitter), in real ms. */
  readonly baseDelayMs: number;
  readonly jitterMs: number;
  /** During the fault phase only (the quiet tail is clean). */
  readonly loss: number;
  readonly duplication: number;
  /** A duplicate is delivered up to this much later than the original, half the time (0: never). */
  readonly lateDuplicateMs: number;
  /** Probability that a message is held back (reordered behind later ones) by exp(spikeMeanMs). */
  readonly spike: number;
  readonly spikeMeanMs: number;
}

export interface EpisodePlan {
  /** Mean real time between two episodes. */
  readonly meanGapMs: number;
  /** Mean real duration of one episode. */
  readonly meanLengthMs: number;
}

export interface Plan {
  readonly seed: number;
  /** Settings of the primary and the secondary (identical but for node and role). */
  readonly primary: SidecarSettings;
  readonly secondary: SidecarSettings;
  readonly witness: ArbiterConfig;
  /** Configurations drawn and rejected by settingsProblems() before this one. */
  readonly rejectedConfigs: number;
  /** Actual clock-rate error bound, <= the configured rho; and each party's clock rate. */
  readonly rhoActual: number;
  readonly clockRates: readonly [number, number, number];
  /** gRPC deadline of every call, on the caller's clock. */
  readonly callDeadlineMs: number;
  /** Length of the fault phase; the quiet tail follows. */
  readonly faultPhaseMs: number;
  /** Indexed by from * 3 + to; the diagonal is unused. */
  readonly links: readonly LinkPlan[];
  readonly faults: ReadonlySet<FaultKind>;
  readonly episodes: Readonly<Partial<Record<EpisodeKind, EpisodePlan>>>;
  /** A witness crash wipes the store with this probability (witness-wipe). */
  readonly wipeProbability: number;
  /** Each durable write crashes the witness with this probability (crash-on-write). */
  readonly crashOnWriteProbability: number;
  /** An answer is held to just under its call's deadline, then its caller isolated (with `isolate`). */
  readonly lateAnswerProbability: number;
  /** An answer that arrives after the run it was asked in ended is held past the next start (with `isolate`). */
  readonly answerAcrossRunProbability: number;
  /**
   * An answer that arrived within its call's deadline is held past it instead, and the call does
   * not fail at the deadline (with `reorder`): a transport without firm deadlines (held-answers.ts).
   */
  readonly answerPastDeadlineProbability: number;
  /**
   * During the fault phase a sidecar's timers, its watchdog's and its supervisor's SIGKILL fire
   * late by up to this (real ms): the scheduling delay the margin is there to absorb (design §4.1).
   */
  readonly timerLateMs: number;
  /** The schedule runs at the bounds of the lease arithmetic, and how (see `atTheBounds`). */
  readonly atTheBounds: BoundsFlavour | undefined;
  /** A crashed witness is back within 0-10 ms (a supervisor that restarts it at once) with this probability. */
  readonly quickRestartProbability: number;
  /**
   * A restart comes up with this shorter longest lease (an operator lowered --lease), every other
   * restart with the first one's: the store keeps the longest lease handed out before, for the grace.
   */
  readonly shorterRestartLeaseMs: number | undefined;
  /** A restarted witness crashes again within 5 ms of opening its store with this probability. */
  readonly crashAfterOpenProbability: number;
  /**
   * An isolation of a node also crashes the witness with this probability (one failure, two
   * effects: a switch or a rack's power): 1/4 in most schedules, 1/2 to 1 in some (a site whose
   * witness shares the nodes' switch or power).
   */
  readonly isolationCrashesWitnessProbability: number;
  /** Such an isolation lasts one to three leases (the failed switch takes that long to replace). */
  readonly longIsolationWithWitnessCrash: boolean;
  /** Each durable write fails (a full disk) with this probability (write-failure). */
  readonly writeFailProbability: number;
  readonly writeDelayMaxMs: number;
  /** Workload: start time, mean lifetime before it crashes by itself, stop behaviour. */
  readonly startDelayMaxMs: number;
  readonly workloadMeanLifeMs: number;
  /** A SIGTERMed workload exits after uniform(0, stopTimeMaxMs) on its clock (> stop timeout: SIGKILL). */
  readonly stopTimeMaxMs: number;
  readonly ignoreSigtermProbability: number;
  /** The workload runs inside the sidecar's process (the library form): no watchdog. */
  readonly embedded: boolean;
  /**
   * Both sidecars keep their epochs on disk (--state-dir, design §10.2): their records outlive
   * their processes, and the primary may start with the witness down on the secondary's lease.
   */
  readonly stateDirs: boolean;
  /** The witness's first start comes this late (real ms): a pair that starts cold with it down. */
  readonly witnessFirstStartMs: number;
  readonly probe: ProbeKind;
  readonly replicas: ReplicaPlan | undefined;
  /** The sync schedule and the freshness gate (design §21.6); undefined in most schedules. */
  readonly freshness: FreshnessPlan | undefined;
  /** The witness's `--forget-after` (its monotonic ms; 0: it forgets nothing), with `witness-forget`. */
  readonly forgetAfterMs: number;
  /**
   * With `witness-clock-step`: the chance that a restart (not a wipe) finds the witness's wall
   * clock stepped back to about its last open, so that the open must move above the stored
   * generation on its own, and waits for the clock to reach it.
   */
  readonly wallStepBackProbability: number;
  /**
   * With `sidecar-restart`, in half of those schedules: the --lease of every process after a
   * node's first restart that keeps the workload (a rolling configuration change applied with
   * SIGUSR2, design §9.8), below the plan's; undefined: restarts keep the settings.
   */
  readonly restartLeaseMs: number | undefined;
}

export interface PlanOptions {
  /** Only these fault kinds may be drawn (all when undefined). */
  readonly allowFaults?: ReadonlySet<FaultKind>;
}
