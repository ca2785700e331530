/**
 * The schedules at the bounds of the lease arithmetic (drawPlan in draw-plan.ts): a drawn plan
 * moved to where a missing margin or drift term would show.
 */
import { settingsProblems } from '../core/sidecar/timing';
import type { SidecarSettings } from '../core/sidecar/types';
import type { Plan } from './plan';
import type { Rng } from './prng';

/**
 * A tenth of the schedules (outside the library form) run at the bounds the lease arithmetic is
 * written for (design §4.1, §8.2), in one of three ways, where the swarm meets the coincidence
 * that matters too rarely. In all three every stop takes its whole budget (SIGTERM ignored,
 * SIGKILL at the stop timeout, the process reaped KILL_SETTLE_MS after), the primary's timers fire
 * a full margin late and the secondary's on time, and the primary's clock is slow and the
 * secondary's and the witness's fast by the full rho (the secondary then waits a retry_after
 * exactly as long as the witness meant): a primary that holds the group and is cut off dies as
 * late as the arithmetic allows, and the secondary asks the moment it may.
 * - `hold`: the witness lease is 2-4 times the peer lease, so the witness's hold decides when the
 *   secondary may run (a missing margin in the hold shows);
 * - `grace`: the same, and every isolation of a node crashes the witness, which is back within
 *   10 ms with its longest lease the sidecars' own: the restored holder's hold is the start-up
 *   grace alone (a missing drift term in the grace shows);
 * - `across-run`: the peer lease is 2-4 times the witness lease, the workload exits by itself and
 *   restarts a heartbeat or so later, and every answer that outlives its run is held past the next
 *   start (SAFETY 2: a peer lease of the run before, whose promise the peer dropped when it heard
 *   that run stop, must not keep the new one going past the witness's hold).
 */
export type BoundsFlavour = 'hold' | 'grace' | 'across-run';

export function atTheBounds(plan: Plan, draws: Rng): Plan {
  const flavour = draws.pick(['hold', 'grace', 'across-run'] as const);
  const s = plan.primary;
  const longer = Math.round(Math.min(s.leaseMs, s.peerLeaseMs) * draws.range(2, 4));
  const leases =
    flavour === 'across-run'
      ? {
          peerLeaseMs: Math.max(s.peerLeaseMs, longer),
          maxRestarts: Math.max(1, s.maxRestarts),
          // Long enough for a heartbeat saying "stopped" to reach the peer, which then drops its
          // promise; short enough for the run's last answers to outlive it (deadline: the timeout).
          restartBackoffMs: Math.round(draws.range(1, 1.5) * s.heartbeatMs),
        }
      : { leaseMs: Math.max(s.leaseMs, longer) };
  const primary: SidecarSettings = { ...s, ...leases };
  const secondary: SidecarSettings = { ...plan.secondary, ...leases };
  // A longer lease only adds usable time; should the check ever disagree, the drawn plan stands.
  if (settingsProblems(primary).length > 0) return plan;
  const lease = Math.max(primary.leaseMs, primary.peerLeaseMs);
  const faults = new Set(plan.faults).add('isolate');
  if (flavour === 'across-run') faults.add('workload-crash');
  const episodes = {
    ...plan.episodes,
    isolate: plan.episodes.isolate ?? {
      meanGapMs: draws.range(0.5, 6) * lease,
      meanLengthMs: draws.range(0.5, 3) * lease,
    },
  };
  const maxLeaseMs = flavour === 'grace' ? primary.leaseMs : Math.max(plan.witness.maxLeaseMs, primary.leaseMs);
  const witness = { ...plan.witness, maxLeaseMs, defaultLeaseMs: Math.min(plan.witness.defaultLeaseMs, maxLeaseMs) };
  const byFlavour: Partial<Plan> =
    flavour === 'grace'
      ? {
          isolationCrashesWitnessProbability: 1,
          quickRestartProbability: 1,
          longIsolationWithWitnessCrash: true,
          shorterRestartLeaseMs: undefined,
          wipeProbability: 0,
        }
      : flavour === 'across-run'
        ? {
            answerAcrossRunProbability: 1,
            callDeadlineMs: Math.max(plan.callDeadlineMs, primary.timeoutMs),
            workloadMeanLifeMs: draws.range(0.3, 2) * lease,
          }
        : {};
  const rho = primary.bounds.rho;
  return {
    ...plan,
    ...byFlavour,
    primary,
    secondary,
    witness,
    faults,
    episodes,
    rhoActual: rho,
    clockRates: [1 - rho, 1 + rho, 1 + rho],
    ignoreSigtermProbability: 1,
    timerLateMs: primary.bounds.marginMs,
    atTheBounds: flavour,
  };
}
