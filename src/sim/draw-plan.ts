/**
 * One schedule's configuration (plan.ts), drawn from its seed (swarm testing). Some bugs only show
 * under one configuration or one mix of faults, never under the defaults, so every schedule draws
 * its own, and each fault kind is switched on for about half of the schedules.
 */
import { HEARTBEATS_OF_SLACK, settingsProblems, stopBudget } from '../core/sidecar/timing';
import type { SidecarSettings } from '../core/sidecar/types';
import type { ArbiterConfig } from '../core/witness/arbiter-config';
import { smallestAcceptedLeases } from './operator-settings';
import {
  EPISODE_KINDS,
  type EpisodeKind,
  type EpisodePlan,
  FAULT_KINDS,
  type FaultKind,
  FORGET_KINDS,
  FREEZE_KINDS,
  type LinkPlan,
  OPERATOR_KINDS,
  type Plan,
  type PlanOptions,
  RESTART_KINDS,
} from './plan';
import { atTheBounds } from './plan-bounds';
import { drawReplicas } from './plan-replicas';
import { drawFreshness, withFreshness } from './plan-freshness';
import { Rng } from './prng';

const GROUP = 'g';

/** Draws added after the swarm settled come from their own stream, so earlier schedules replay as they did. */
const LATER_DRAWS = 0x1a7e0d5a;
const OPERATOR_DRAWS = 0x09e7a70d;
const ACROSS_RUN_DRAWS = 0x3c1a55e5;
const LATE_TIMER_DRAWS = 0x7a3e71e5;
const BOUNDS_DRAWS = 0x0b0a7d55;
const RESTART_DRAWS = 0x5ec0a7ed;
const PAST_DEADLINE_DRAWS = 0x0d3ad11e;
const FREEZE_DRAWS = 0x0f4ee2e5;
const FORGET_DRAWS = 0x0f0e6e77;
const RECONFIGURE_DRAWS = 0x1ea5ec0f;

export function drawPlan(seed: number, options: PlanOptions = {}): Plan {
  const rng = new Rng(seed);
  const later = new Rng(seed ^ LATER_DRAWS);
  const operatorDraws = new Rng(seed ^ OPERATOR_DRAWS);
  const acrossRun = new Rng(seed ^ ACROSS_RUN_DRAWS);
  const lateTimers = new Rng(seed ^ LATE_TIMER_DRAWS);
  const restartDraws = new Rng(seed ^ RESTART_DRAWS);
  const pastDeadline = new Rng(seed ^ PAST_DEADLINE_DRAWS);
  const freezeDraws = new Rng(seed ^ FREEZE_DRAWS);
  const forgetDraws = new Rng(seed ^ FORGET_DRAWS);
  const drawsFor = (kind: FaultKind): Rng =>
    OPERATOR_KINDS.has(kind)
      ? operatorDraws
      : RESTART_KINDS.has(kind)
        ? restartDraws
        : FREEZE_KINDS.has(kind)
          ? freezeDraws
          : FORGET_KINDS.has(kind)
            ? forgetDraws
            : rng;
  let rejected = 0;
  let settings: SidecarSettings;
  for (;;) {
    settings = drawSettings(rng);
    if (settingsProblems(settings).length === 0) break;
    rejected += 1;
  }
  // A witness lease several times the peer lease (a witness across a WAN, whose lease rides out
  // its blips, beside a peer on the LAN with a short peer lease): the holder isolated from both
  // runs on its witness lease long after the standby's promise has run out, and only the witness's
  // hold and start-up grace keep the standby waiting. A longer lease only adds usable time, so
  // settingsProblems() still accepts the configuration.
  const longWitnessLease = later.chance(0.25);
  if (longWitnessLease) settings = { ...settings, leaseMs: Math.round(settings.peerLeaseMs * later.range(2, 4)) };
  const primary: SidecarSettings = { ...settings, node: 'p', role: 'primary' };
  const secondary: SidecarSettings = { ...settings, node: 's', role: 'secondary' };
  const rho = settings.bounds.rho;
  const lease = Math.max(settings.leaseMs, settings.peerLeaseMs);

  // The witness's bounds are the sidecars'; its longest lease is usually at least the one asked
  // for, and now and then below it (an operator who lowered --lease at the witness only): the
  // witness caps the lease, never below what leaves the sidecars a usable lease.
  const shortestUsable = Math.ceil((stopBudget(settings) + HEARTBEATS_OF_SLACK * settings.heartbeatMs) / (1 - rho));
  const maxLeaseMs = rng.pick([
    settings.leaseMs,
    settings.leaseMs,
    Math.round(settings.leaseMs * rng.range(1, 3)),
    Math.round(settings.leaseMs * rng.range(1, 3)),
    Math.max(shortestUsable, Math.round(settings.leaseMs * rng.range(0.5, 1))),
  ]);
  const witness: ArbiterConfig = {
    bounds: settings.bounds,
    defaultLeaseMs: Math.min(maxLeaseMs, Math.round(rng.range(0.5, 1) * maxLeaseMs) || 1),
    maxLeaseMs,
  };

  // Clocks: often at the extremes of the allowed rate error, where lease bugs show.
  const rhoActual = rho * rng.pick([1, 1, 1, rng.next()]);
  // Holders slow and grantors fast is where a lease shortfall shows; nodes apart stresses peer leases.
  const rate = (): number => (rng.chance(0.6) ? 1 + rng.pick([-1, 1]) * rhoActual : 1 + rng.range(-1, 1) * rhoActual);
  const slow = 1 - rhoActual;
  const fast = 1 + rhoActual;
  const apart = rng.chance(0.5) ? -1 : 1;
  const clocks = rng.pick(['random', 'witness-fast', 'witness-slow', 'nodes-apart'] as const);
  const clockRates: [number, number, number] =
    clocks === 'witness-fast'
      ? [slow, slow, fast]
      : clocks === 'witness-slow'
        ? [fast, fast, slow]
        : clocks === 'nodes-apart'
          ? [1 + apart * rhoActual, 1 - apart * rhoActual, rate()]
          : [rate(), rate(), rate()];

  const hb = settings.heartbeatMs;
  const drawnDeadlineMs = rng.pick([2 * hb, settings.timeoutMs, rng.range(hb, 3 * hb)]);

  const faults = new Set<FaultKind>();
  if (!rng.chance(0.05)) {
    for (const kind of FAULT_KINDS) {
      const draws = drawsFor(kind);
      if ((options.allowFaults === undefined || options.allowFaults.has(kind)) && draws.chance(0.5)) faults.add(kind);
    }
  }

  const lan = rng.chance(0.6);
  const links: LinkPlan[] = [];
  for (let i = 0; i < 9; i += 1) {
    const base = lan ? rng.range(0.05, 2) : rng.range(1, 20);
    links.push({
      baseDelayMs: base,
      jitterMs: rng.range(0, base),
      loss: faults.has('loss') && rng.chance(0.7) ? rng.pick([rng.range(0, 0.1), rng.range(0.1, 0.6)]) : 0,
      duplication: faults.has('duplication') && rng.chance(0.7) ? rng.range(0, 0.3) : 0,
      lateDuplicateMs: faults.has('duplication') && rng.chance(0.3) ? rng.range(1, 3) * lease : 0,
      spike: faults.has('reorder') && rng.chance(0.7) ? rng.range(0.005, 0.2) : 0,
      spikeMeanMs: rng.pick([rng.range(0.2, 2) * hb, rng.range(0.2, 1.5) * lease]),
    });
  }

  // A deadline shorter than a round trip would fail every call even on a clean network.
  let slowest = 0;
  for (const l of links) slowest = Math.max(slowest, l.baseDelayMs + l.jitterMs);
  const callDeadlineMs = Math.round(Math.max(drawnDeadlineMs, 4 * slowest));

  const episodes: Partial<Record<EpisodeKind, EpisodePlan>> = {};
  for (const kind of EPISODE_KINDS) {
    if (!faults.has(kind)) continue;
    const draws = drawsFor(kind);
    episodes[kind] = {
      meanGapMs: draws.range(0.5, 6) * lease,
      meanLengthMs: draws.pick([draws.range(0.05, 0.5), draws.range(0.5, 3)]) * lease,
    };
  }

  // The library form (the workload inside the sidecar's process) has no watchdog: the runtime's
  // own wake-up is all that stops it at the deadline. A freeze would stop both alike (only the
  // fencing epoch covers that, design §14), so those schedules draw no pause, and the
  // embedded deactivate is held to its contract of finishing within the stop timeout.
  const embedded = rng.chance(0.25);
  if (embedded) {
    faults.delete('sidecar-pause');
    delete episodes['sidecar-pause'];
    // Nor a restart that keeps the workload: without a watchdog nothing outlives the process.
    faults.delete('sidecar-restart');
    delete episodes['sidecar-restart'];
  }

  const stateDirs = !embedded && restartDraws.chance(0.5);
  const witnessCrashes = faults.has('witness-crash') || faults.has('crash-on-write');
  // A quarter of the schedules with both isolations and witness crashes make them one failure more
  // often, and a long one (see faults.ts, 'isolate').
  const crashWithIsolation = faults.has('isolate') && faults.has('witness-crash');
  const correlated = crashWithIsolation && later.chance(0.25);
  const faultPhaseMs = Math.round(Math.max(rng.range(10_000, 25_000), rng.range(4, 8) * lease));
  const plan: Plan = {
    seed,
    primary,
    secondary,
    witness,
    rejectedConfigs: rejected,
    rhoActual,
    clockRates,
    callDeadlineMs,
    faultPhaseMs,
    links,
    faults,
    episodes,
    wipeProbability: faults.has('witness-wipe') ? rng.range(0.2, 1) : 0,
    crashOnWriteProbability: faults.has('crash-on-write') ? rng.range(0.05, 0.5) : 0,
    lateAnswerProbability: faults.has('isolate') && rng.chance(0.5) ? rng.range(0.002, 0.03) : 0,
    answerAcrossRunProbability: faults.has('isolate') && acrossRun.chance(0.5) ? acrossRun.range(0.3, 1) : 0,
    // Half the schedules that hold messages back: a transport that lets a call outlive its deadline.
    answerPastDeadlineProbability:
      faults.has('reorder') && pastDeadline.chance(0.5) ? pastDeadline.range(0.02, 0.2) : 0,
    timerLateMs: lateTimers.chance(0.3) ? settings.bounds.marginMs : 0,
    atTheBounds: undefined,
    quickRestartProbability: witnessCrashes && rng.chance(0.5) ? rng.range(0.2, 0.8) : 0,
    crashAfterOpenProbability: witnessCrashes && rng.chance(0.3) ? rng.range(0.1, 0.5) : 0,
    isolationCrashesWitnessProbability: correlated ? later.range(0.5, 1) : crashWithIsolation ? 0.25 : 0,
    longIsolationWithWitnessCrash: correlated,
    shorterRestartLeaseMs:
      witnessCrashes && rng.chance(0.3)
        ? Math.min(maxLeaseMs, Math.max(shortestUsable, Math.round(maxLeaseMs * rng.range(0.5, 0.95))))
        : undefined,
    writeDelayMaxMs: rng.pick([rng.range(0.05, 2), rng.range(2, 30)]),
    startDelayMaxMs: rng.pick([rng.range(0, 5), rng.range(5, 2 * hb)]),
    workloadMeanLifeMs: rng.range(0.3, 5) * lease,
    stopTimeMaxMs: faults.has('slow-stop')
      ? settings.stopTimeoutMs * (embedded ? 1 : rng.range(0.8, 1.5))
      : Math.min(settings.stopTimeoutMs, rng.range(0, 20)),
    ignoreSigtermProbability: faults.has('slow-stop') && !embedded ? rng.range(0, 0.5) : 0,
    probe: embedded
      ? rng.pick(['crash', 'isolate', 'sigterm'] as const)
      : rng.pick(['crash', 'isolate', 'pause', 'sigterm'] as const),
    embedded,
    stateDirs,
    witnessFirstStartMs: stateDirs && restartDraws.chance(0.3) ? restartDraws.range(0.5, 4) * lease : 0,
    writeFailProbability: faults.has('write-failure') ? rng.range(0.05, 0.5) : 0,
    replicas: undefined,
    freshness: undefined,
    // Short enough that a group goes silent often (both sidecars down or cut off from the witness),
    // never shorter than the sidecars' --timeout, which a standby heartbeats only three times:
    // shorter, the witness would forget groups whose standby is alive (design §7.4).
    forgetAfterMs: faults.has('witness-forget')
      ? Math.round(Math.max(settings.timeoutMs, forgetDraws.range(0.5, 3) * lease))
      : 0,
    wallStepBackProbability: faults.has('witness-clock-step') && witnessCrashes ? forgetDraws.range(0.3, 1) : 0,
    restartLeaseMs: faults.has('sidecar-restart') ? lowerRestartLease(settings, shortestUsable, seed) : undefined,
  };
  const drawn = correlated ? withWitnessLeaseChanges(plan, later, shortestUsable) : plan;
  const bounds = new Rng(seed ^ BOUNDS_DRAWS);
  const settled = !embedded && bounds.chance(0.1) ? atTheBounds(drawn, bounds) : drawn;
  const replicas = drawReplicas(settled);
  // The replicas share one store over etcd, whose janitor and clock steps are not modelled.
  const withReplicas =
    replicas === undefined
      ? settled
      : {
          ...settled,
          replicas,
          faults: withoutKinds(settled.faults, FORGET_KINDS),
          forgetAfterMs: 0,
          wallStepBackProbability: 0,
        };
  return withFreshness(withReplicas, drawFreshness(withReplicas));
}

/**
 * In the schedules where an isolation often crashes the witness, half also set the witness's
 * longest lease below the one the sidecars ask for (an operator who lowered --lease at the
 * witness only: it caps what is asked), and half have every other restart come up with a shorter
 * longest lease (an operator lowering it with a restart): the restarted witness's grace must then
 * still cover what the holder it cannot hear was given before. Both are configurations the rest
 * of the swarm draws too, only more rarely together with the failure that makes them matter.
 */
function withWitnessLeaseChanges(plan: Plan, later: Rng, shortestUsable: number): Plan {
  let witness = plan.witness;
  if (later.chance(0.5)) {
    const capped = Math.max(shortestUsable, Math.round(plan.primary.leaseMs * later.range(0.5, 0.9)));
    if (capped < witness.maxLeaseMs)
      witness = { ...witness, maxLeaseMs: capped, defaultLeaseMs: Math.min(witness.defaultLeaseMs, capped) };
  }
  let shorter = plan.shorterRestartLeaseMs;
  if (shorter !== undefined) shorter = Math.min(shorter, witness.maxLeaseMs);
  else if (later.chance(0.5))
    shorter = Math.min(
      witness.maxLeaseMs,
      Math.max(shortestUsable, Math.round(witness.maxLeaseMs * later.range(0.5, 0.95))),
    );
  // Half put the witness's and the secondary's clocks fast and the primary's slow, at the bounds of
  // rho: the primary's lease lasts longest in real time and the witness's grace shortest, so a
  // grace without the drift term ends while the lease runs, and a standby that counts fast asks
  // as soon as it ends.
  const r = plan.rhoActual;
  const clockRates: Plan['clockRates'] = later.chance(0.5) ? [1 - r, 1 + r, 1 + r] : plan.clockRates;
  return { ...plan, witness, shorterRestartLeaseMs: shorter, clockRates };
}

/** Heartbeat, timeout shorter or longer than the peer lease, leases, stop budget tight or loose. */
function drawSettings(rng: Rng): SidecarSettings {
  // rho 0 (and so no drift term) a third of the time: where a missing margin alone shows.
  const rho = rng.pick([0, 0, 0, 0.001, 0.01, 0.01, 0.02, 0.05, 0.1]);
  const marginMs = rng.pick([0, 1, 5, 10, 25, 50]);
  const heartbeatMs = Math.round(rng.pick([rng.range(50, 100), rng.range(100, 300), rng.range(300, 600)]));
  const stopTimeoutMs = Math.round(
    rng.pick([rng.range(10, 2 * heartbeatMs), rng.range(heartbeatMs, 6 * heartbeatMs), rng.range(0, 1000)]),
  );
  const budget = stopTimeoutMs + 100 + marginMs;
  const minLease = (budget + 3 * heartbeatMs) / (1 - rho);
  // Tight leases sit just above the minimum; now and then just below it (rejected, drawn again).
  const lease = (): number =>
    Math.round(minLease * rng.pick([rng.range(0.97, 1.15), rng.range(1.15, 2), rng.range(2, 3)]));
  const leaseMs = lease();
  const peerLeaseMs = rng.chance(0.3) ? leaseMs : lease();
  const promise = peerLeaseMs * (1 + rho) + marginMs;
  const timeoutMs = Math.round(
    rng.chance(0.5)
      ? rng.range(2 * heartbeatMs, Math.max(2 * heartbeatMs, peerLeaseMs)) // shorter than the peer lease
      : rng.range(promise, 2 * promise), // at least the promise
  );
  const failback = rng.chance(0.5) ? 'auto' : 'manual';
  const drawn: SidecarSettings = {
    group: GROUP,
    node: '',
    role: 'primary',
    mode: 'standard',
    heartbeatMs,
    timeoutMs,
    leaseMs,
    peerLeaseMs,
    stopTimeoutMs,
    failback,
    failbackDelayMs: Math.round(rng.pick([0, rng.range(0, 2) * leaseMs, rng.range(0, 5000)])),
    maxRestarts: rng.int(4),
    restartBackoffMs: Math.round(rng.pick([0, rng.range(0, 2 * heartbeatMs)])),
    failureCooldownMs: Math.round(rng.range(0, 3) * leaseMs),
    bounds: { rho, marginMs },
  };
  // A fifth of the time the operator's pick: the smallest leases the validator accepts. Drawn from
  // a stream of its own, seeded by this draw, so that every other draw of the schedule stays put.
  const own = new Rng(Math.round(leaseMs * 7919 + peerLeaseMs * 104729 + heartbeatMs * 31 + stopTimeoutMs));
  return own.chance(0.2) ? smallestAcceptedLeases(drawn, own.pick(['both', 'lease', 'peer-lease'] as const)) : drawn;
}

/**
 * A lower --lease for the processes after a restart that keeps the workload, in half the schedules
 * that draw such restarts (their own stream): the kept run's leases came from the longer one, and
 * the new process renews it with the shorter. Never below what settingsProblems() accepts.
 */
function lowerRestartLease(settings: SidecarSettings, shortestUsable: number, seed: number): number | undefined {
  const draws = new Rng(seed ^ RECONFIGURE_DRAWS);
  if (!draws.chance(0.5)) return undefined;
  const lowered = Math.max(shortestUsable, Math.round(settings.leaseMs * draws.range(0.3, 0.9)));
  if (lowered >= settings.leaseMs || settingsProblems({ ...settings, leaseMs: lowered }).length > 0) return undefined;
  return lowered;
}

function withoutKinds(faults: ReadonlySet<FaultKind>, kinds: ReadonlySet<FaultKind>): Set<FaultKind> {
  return new Set([...faults].filter((kind) => !kinds.has(kind)));
}
