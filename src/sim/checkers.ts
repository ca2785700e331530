/**
 * The checks of one schedule. S1: two workload processes of different nodes alive at one instant.
 * S2: an activation whose epoch is not above every earlier activation's. Liveness: once the
 * faults heal, no stretch without an active node longer than the bound the configuration
 * implies (plus a documented slack), and L1 on the final failover probe.
 */
import { failoverBoundMs, stopBudget } from '../core/sidecar/timing';
import type { Network } from './network';
import { PARTY_NAMES } from './plan';
import type { SimWorkload } from './node-parts';
import type { KeptRestartOutcome, NodeObserver } from './node-parts';
import type { SidecarNode } from './sidecar-node';
import { checkIsolatedVerdictBefore } from './standby-verdict';
import type { WitnessSite } from './witness-site';
import type { World } from './world';

/** The one stop a settled pair makes on purpose (design §9.4). */
const HAND_BACK_RULE = 'stop-to-hand-back';

export class Checkers implements NodeObserver {
  // S1 / S2
  private overlapping = false;
  private maxActivated = 0n;
  private maxActivatedBy = -1;
  activations = 0;

  // liveness
  activeCount = 0;
  private watchingQuiet = false;
  private gapStart = 0;
  private healAt = Number.NaN;
  lastWorkloadCrash = Number.NEGATIVE_INFINITY;
  private probeAt = Number.NaN;
  private probeVictim = -1;
  probeFailover: number | undefined;
  private faultCandidate: { node: number; at: number } | undefined;
  readonly faultFailovers: number[] = [];
  readonly keptRestarts: Record<KeptRestartOutcome, number> = {
    adopted: 0,
    'stopped-before-adoption': 0,
    'nothing-to-keep': 0,
    'not-found': 0,
  };

  constructor(
    private readonly world: World,
    private readonly network: Network,
    private readonly witness: WitnessSite,
    private readonly nodes: () => readonly SidecarNode[],
    /** Ends the schedule after `afterMs` more real ms. */
    private readonly finish: (afterMs: number) => void,
  ) {}

  onActivation(node: SidecarNode, w: SimWorkload, why: string): void {
    const world = this.world;
    this.activations += 1;
    const other = this.nodes()[1 - node.index] as SidecarNode;
    // S1: from the start action until the process is dead, a workload counts as running.
    if (other.procs.length > 0 && !this.overlapping) {
      this.overlapping = true;
      const e = (x: bigint): string => world.trace.epoch(x);
      const them = other.procs.map(
        (p) => `epoch ${e(p.epoch)} since ${p.startedAt.toFixed(3)}${p.terminating ? ' (stopping)' : ''}`,
      );
      world.violate(
        'S1',
        'two-running',
        `${node.name} starts epoch ${e(w.epoch)} while ${other.name} runs ${them.join(', ')}`,
      );
    }
    // S2: strictly above every epoch activated before in the group.
    if (w.epoch <= this.maxActivated) {
      const sameRestart = w.epoch === this.maxActivated && this.maxActivatedBy === node.index;
      world.violate(
        'S2',
        sameRestart ? 'same-epoch-restart' : 'not-above-earlier',
        `${node.name} activates epoch ${world.trace.epoch(w.epoch)} (${why}), but epoch ${world.trace.epoch(this.maxActivated)} ` +
          `was activated before by ${PARTY_NAMES[this.maxActivatedBy]}`,
      );
    } else {
      this.maxActivated = w.epoch;
      this.maxActivatedBy = node.index;
    }
    // Liveness: a stretch without an active node ends.
    this.activeCount += 1;
    if (this.activeCount === 1 && world.healed) this.checkGap('gap-after-heal');
    // Failover times.
    if (this.faultCandidate !== undefined && this.faultCandidate.node !== node.index && !world.healed) {
      this.faultFailovers.push(world.t - this.faultCandidate.at);
    }
    this.faultCandidate = undefined;
    if (this.probeVictim >= 0 && node.index !== this.probeVictim && this.probeFailover === undefined) {
      this.probeFailover = world.t - this.probeAt;
      if (world.trace.on1)
        world.trace.log(1, 'sim', `probe: ${node.name} took over after ${this.probeFailover.toFixed(1)}ms`);
      const allowed = this.probeAllowance();
      if (this.probeFailover > allowed) {
        world.violate(
          'liveness',
          'failover-probe',
          `${node.name} took over ${this.probeFailover.toFixed(1)}ms after the active node was lost; bound ${allowed.toFixed(1)}ms`,
        );
      }
      const s = node.settings;
      const afterMs = Math.max(s.leaseMs, s.peerLeaseMs, stopBudget(s)) * 1.5;
      this.finish(afterMs);
      // The node the probe cut off for good reports the standby table's verdict (standby-verdict.ts).
      const victim = this.nodes()[this.probeVictim];
      if (world.plan.probe === 'isolate' && victim !== undefined)
        checkIsolatedVerdictBefore(world, victim, this.probeAt, world.t + afterMs);
    }
  }

  onDeactivation(w: SimWorkload, rule: string | undefined): void {
    this.activeCount -= 1;
    if (this.activeCount === 0) this.gapStart = this.world.t;
    if (!this.watchingQuiet) return;
    this.watchingQuiet = false;
    if (rule === HAND_BACK_RULE) return;
    this.world.violate(
      'liveness',
      'stop-while-quiet',
      `workload ${this.world.trace.epoch(w.epoch)} stopped (${rule ?? 'by the watchdog or by its death'}) with everything up and connected`,
    );
  }

  /** The settled pair asks the witness nothing: one node runs, the other hears it and stands by (design §2.2). */
  onAcquire(node: SidecarNode): void {
    if (!this.watchingQuiet) return;
    this.world.violate('liveness', 'needless-acquire', `${node.name} asks the witness while the pair is settled`);
  }

  /**
   * L2 (design §3.4) in the quiet tail: from the moment the pair has settled until the probe,
   * nothing stops the active workload but a hand-back (the planned stop of auto fail-back), and
   * nobody asks the witness for the group. A configuration without slack between a renewal and
   * the stop shows here: a renewal answered a little late stops a healthy workload.
   */
  watchQuiet(on: boolean): void {
    this.watchingQuiet = on;
  }

  onDeath(node: SidecarNode): void {
    if (node.procs.length === 0) this.overlapping = false;
  }

  onCrashReported(): void {
    this.lastWorkloadCrash = this.world.t;
  }

  onKeptRestart(outcome: KeptRestartOutcome): void {
    this.keptRestarts[outcome] += 1;
  }

  /** The active node is crashed, frozen or isolated: time the failover, if one follows. */
  noteLoss(node: SidecarNode): void {
    if (node.activeWorkload() !== undefined) this.faultCandidate = { node: node.index, at: this.world.t };
  }

  /** The faults have healed at `healAt` (when the last message of the fault phase has landed). */
  healed(healAt: number): void {
    this.healAt = healAt;
    if (this.activeCount === 0) this.gapStart = this.world.t;
  }

  probeStarted(victim: SidecarNode): void {
    this.probeVictim = victim.index;
    this.probeAt = this.world.t;
  }

  /**
   * The liveness allowance for a stretch without an active node (real ms). The bound the sidecar
   * prints (failoverBoundMs: the longest of timeout, promise and witness hold, plus two heartbeats)
   * plus a slack for what that bound leaves out: the stop of a node handing the group over (stop
   * budget), one more heartbeat and one call deadline (an answer lost just before the heal), four
   * one-way delays (two round trips) and one durable write at the witness, all stretched by the
   * slowest clock. A witness restarted near the heal adds what is left of its start-up grace (its
   * longest lease may exceed the sidecar's), stretched by the ratio of the witness's clock to the
   * node's (the node waits `retryAfterMs` of witness time on its own clock); a workload that
   * crashed by itself shortly before adds the failure cool-down.
   */
  gapAllowance(gapStart: number): number {
    const plan = this.world.plan;
    const s = plan.primary;
    const rho = plan.rhoActual;
    const stretch = 1 / (1 - rho);
    const slack =
      stopBudget(s) + s.heartbeatMs + plan.callDeadlineMs + 4 * this.network.maxTailDelay + plan.writeDelayMaxMs;
    let allowed = this.withGraceLeft(gapStart, (failoverBoundMs(s) + slack) * stretch, slack * stretch);
    if (gapStart - this.lastWorkloadCrash < (s.failureCooldownMs + failoverBoundMs(s) + slack) * stretch) {
      allowed += s.failureCooldownMs * stretch;
    }
    return allowed;
  }

  /**
   * L1 for the probe: the printed bound plus two round trips and one durable write at the witness
   * (the bound's second heartbeat stands for "one round trip"; a short heartbeat does not cover a
   * slow link or fsync), stretched by the slowest clock. Inside the witness's start-up grace, one
   * heartbeat more: a refused Acquire is asked again no sooner than a heartbeat later, even when
   * the grace ends sooner.
   */
  probeAllowance(): number {
    const plan = this.world.plan;
    const s = plan.primary;
    const afterGrace = (s.heartbeatMs + 4 * this.network.maxTailDelay + plan.writeDelayMaxMs) / (1 - plan.rhoActual);
    const allowed =
      plan.probe === 'sigterm'
        ? this.handOverAllowance()
        : (failoverBoundMs(s) + 4 * this.network.maxTailDelay + plan.writeDelayMaxMs) / (1 - plan.rhoActual);
    return this.withGraceLeft(this.probeAt, allowed, afterGrace);
  }

  /**
   * A witness that restarted less than its start-up grace before `from` grants nothing until the
   * grace ends (design §6.5), not even after a hand-over: the allowance is at least what is left
   * of the grace on the witness's clock, seen on the slowest node's, plus `slack` (real ms). A probe
   * that found the pair unsettled after every attempt can begin inside the grace.
   */
  private withGraceLeft(from: number, allowed: number, slack: number): number {
    const rho = this.world.plan.rhoActual;
    const graceLeft = this.witness.graceEnd - from;
    if (graceLeft <= 0) return allowed;
    return Math.max(allowed, (graceLeft * (1 + rho)) / (1 - rho) + slack);
  }

  /**
   * A planned hand-over (§9.5) waits out no lease and no timeout: the workload's stop (the stop
   * budget, on the leaving node's clock), the release's round trip and write, the one heartbeat
   * that says so, and the Acquire's round trip and write; one more write for a request held back
   * behind another of the group's.
   */
  private handOverAllowance(): number {
    const plan = this.world.plan;
    return stopBudget(plan.primary) / (1 - plan.rhoActual) + 5 * this.network.maxTailDelay + 3 * plan.writeDelayMaxMs;
  }

  /** The stretch without an active node that is going on now is within its allowance. */
  checkGap(sub: string): boolean {
    const world = this.world;
    const start = Math.max(this.gapStart, this.healAt);
    const gap = world.t - start;
    const allowed = this.gapAllowance(start);
    if (gap > allowed) {
      world.violate(
        'liveness',
        sub,
        `no node active for ${gap.toFixed(1)}ms after ${start.toFixed(3)} (everything up and connected); allowed ${allowed.toFixed(1)}ms`,
      );
      return false;
    }
    return true;
  }
}
