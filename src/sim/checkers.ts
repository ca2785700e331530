/**
 * The checks of one schedule. S1: two workload processes of different nodes alive at one instant.
 * S2: an activation whose epoch is not above every earlier activation's. Liveness: once the
 * faults heal, no stretch without an active node longer than the bound the configuration
 * implies (plus a documented slack), and L1 on the final failover probe.
 */
import { RECORD_WRITE_MAX_MS } from './sidecar-node';
import { failoverBoundMs, stopBudget } from '../core/sidecar/timing';
import { emptyPastDeadlineCounts, type PastDeadlineLanding } from './held-answers';
import type { Network } from './network';
import type { NodeMachine } from './node-machine';
import { PARTY_NAMES } from './plan';
import type { SimWorkload } from './node-parts';
import type { KeptRestartOutcome, NodeObserver } from './node-parts';
import type { SidecarNode } from './sidecar-node';
import { ActivationHistory, isStale } from './stale-runs';
import { checkIsolatedVerdictBefore } from './standby-verdict';
import type { WitnessSite } from './witness-site';
import type { World } from './world';

/** How many sync cycles (and gap allowances) the gate may keep refusing after the heal before that is a violation. */
const STALE_FOREVER_CYCLES = 20;

/** The one stop a settled pair makes on purpose (design §9.4). */
const HAND_BACK_RULE = 'stop-to-hand-back';

export class Checkers implements NodeObserver {
  // S1 / S2
  private overlapping = false;
  private maxActivated = 0n;
  private maxActivatedBy = -1;
  private readonly activated = new ActivationHistory();
  activations = 0;

  // liveness
  activeCount = 0;
  private watchingQuiet = false;
  private gapStart = 0;
  private healAt = Number.NaN;
  lastWorkloadCrash = Number.NEGATIVE_INFINITY;
  private lastCrashNode: NodeMachine | undefined;
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
  readonly answersPastDeadline: Record<PastDeadlineLanding, number> = emptyPastDeadlineCounts();

  // the freshness gate (design §21.6)
  private lastGateRefusal = Number.NEGATIVE_INFINITY;
  /** When the stretch without an active node that the gate excuses began (NaN: none). */
  private excusedSince = Number.NaN;
  gateRefusals = 0;

  constructor(
    private readonly world: World,
    private readonly network: Network,
    private readonly witness: WitnessSite,
    private readonly nodes: () => readonly SidecarNode[],
    /** Ends the schedule after `afterMs` more real ms. */
    private readonly finish: (afterMs: number) => void,
  ) {}

  onStaleRunOutlived(node: NodeMachine, workload: SimWorkload): void {
    const other = this.nodes()[1 - node.index] as SidecarNode;
    const since = workload.frozenAt ?? Number.POSITIVE_INFINITY;
    const beside = other.procs.filter((p) => p.startedAt >= since);
    if (beside.length === 0 || this.overlapping) return;
    this.overlapping = true;
    const e = (x: bigint): string => this.world.trace.epoch(x);
    this.world.violate(
      'S1',
      'stale-run-outlived',
      `${node.name}'s workload of epoch ${e(workload.epoch)}, frozen with its machine at ${since.toFixed(3)}, still runs ` +
        `beside ${other.name}'s epoch ${e((beside[0] as SimWorkload).epoch)} at the end of its stale bound`,
    );
  }

  onActivation(node: NodeMachine, w: SimWorkload, why: string): void {
    const world = this.world;
    this.activations += 1;
    const other = this.nodes()[1 - node.index] as SidecarNode;
    // S1: from the start action until the process is dead, a workload counts as running; but not
    // one that a freeze of its machine left stale (design §14), within its bound, nor one the
    // peer started since the freeze that left this start stale.
    const stale = isStale(w, world.t);
    const since = w.frozenAt ?? Number.POSITIVE_INFINITY;
    const running = other.procs.filter((p) => !isStale(p, world.t) && !(stale && p.startedAt >= since));
    if (running.length > 0 && !this.overlapping) {
      this.overlapping = true;
      const e = (x: bigint): string => world.trace.epoch(x);
      const them = running.map(
        (p) => `epoch ${e(p.epoch)} since ${p.startedAt.toFixed(3)}${p.terminating ? ' (stopping)' : ''}`,
      );
      world.violate(
        'S1',
        'two-running',
        `${node.name} starts epoch ${e(w.epoch)} while ${other.name} runs ${them.join(', ')}`,
      );
    }
    // S2: strictly above every epoch activated before in the group; a stale start, above every
    // one activated before the freeze that delayed it (its epoch was handed out before).
    const floor = stale ? this.activated.highestBefore(since) : { epoch: this.maxActivated, by: this.maxActivatedBy };
    this.activated.add(world.t, w.epoch, node.index);
    if (w.epoch <= floor.epoch) {
      const sameRestart = w.epoch === floor.epoch && floor.by === node.index;
      world.violate(
        'S2',
        sameRestart ? 'same-epoch-restart' : 'not-above-earlier',
        `${node.name} activates epoch ${world.trace.epoch(w.epoch)} (${why}), but epoch ${world.trace.epoch(floor.epoch)} ` +
          `was activated before by ${PARTY_NAMES[floor.by]}`,
      );
    } else if (w.epoch > this.maxActivated) {
      this.maxActivated = w.epoch;
      this.maxActivatedBy = node.index;
    }
    // Liveness: a stretch without an active node ends.
    this.activeCount += 1;
    this.excusedSince = Number.NaN;
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
      // A standby refused as stale by the freshness gate is owed a failover only from its last refusal.
      const refused = this.gateRefusedSince(this.probeAt);
      const allowed = this.probeAllowance() + (refused ? this.lastGateRefusal - this.probeAt : 0);
      const excused = refused ? this.gateAllowance(this.probeAt) : 0;
      if (this.probeFailover > allowed + excused) {
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

  onDeath(node: NodeMachine): void {
    if (node.procs.length === 0) this.overlapping = false;
  }

  onCrashReported(node: NodeMachine): void {
    this.lastWorkloadCrash = this.world.t;
    this.lastCrashNode = node;
  }

  /**
   * The failure cool-down after the last crash, in real ms: it runs on the crashed node's clock,
   * which a freeze that stopped it held back.
   */
  cooldownAfterCrash(): number {
    const stretch = 1 / (1 - this.world.plan.rhoActual);
    const heldBack = this.lastCrashNode?.clockStoppedMsSince(this.lastWorkloadCrash) ?? 0;
    return this.world.plan.primary.failureCooldownMs * stretch + heldBack;
  }

  onKeptRestart(outcome: KeptRestartOutcome): void {
    this.keptRestarts[outcome] += 1;
  }

  onAnswerPastDeadline(how: PastDeadlineLanding): void {
    this.answersPastDeadline[how] += 1;
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

  get probeStartedAt(): number {
    return this.probeAt;
  }

  /** The freshness gate refused an Acquire at or after `since`. */
  gateRefusedSince(since: number): boolean {
    return this.lastGateRefusal >= since;
  }

  /**
   * The freshness gate refused `node`'s Acquire (design §21.6). That is no liveness failure (the
   * gate is there to refuse a stale copy), but it must be right: in the quiet tail, where a sync
   * report reaches the witness within a heartbeat and two one-way delays, a node whose copy is
   * fresh well within --max-sync-age (as far as its sidecar can know) is never refused.
   */
  onStaleRefusal(node: SidecarNode): void {
    const world = this.world;
    const plan = world.plan;
    this.gateRefusals += 1;
    this.lastGateRefusal = world.t;
    if (this.activeCount === 0 && Number.isNaN(this.excusedSince)) this.excusedSince = world.t;
    const maxAgeMs = plan.witness.maxSyncAgeMs;
    if (maxAgeMs === undefined) {
      world.violate(
        'liveness',
        'gate-without-max-sync-age',
        `${node.name} refused as stale by a witness without a gate`,
      );
      return;
    }
    const rho = plan.rhoActual;
    const lagMs = (2 * node.settings.heartbeatMs) / (1 - rho) + 4 * this.network.maxTailDelay + plan.timerLateMs + 1;
    const truth = node.syncTruth;
    // A node that reports no sync is stale to the gate whatever its copy (design §21.4).
    // Not before the checkers heard of the heal: the heal's own turn still delivers the fault phase's answers.
    const quiet = world.healed && !Number.isNaN(this.healAt) && world.t >= this.healAt + lagMs;
    if (!truth.reports || !quiet || Number.isNaN(truth.freshSince)) return;
    if (world.t - truth.knownAt < lagMs) return;
    // The witness counts the age on two clocks, each off by at most rho.
    const seenAgeMs = ((world.t - truth.freshSince) * (1 + rho)) / (1 - rho);
    if (seenAgeMs + lagMs < maxAgeMs) {
      world.violate(
        'liveness',
        'gate-refused-fresh-standby',
        `${node.name} refused as stale, its copy fresh ${(world.t - truth.freshSince).toFixed(1)}ms ago (known since ` +
          `${truth.knownAt.toFixed(3)}); --max-sync-age ${maxAgeMs}ms`,
      );
    }
  }

  /**
   * How much longer a stretch without an active node may last because the gate refused: the
   * time until the standby's next successful sync and the heartbeat that reports it.
   */
  private gateAllowance(from: number): number {
    const plan = this.world.plan;
    const f = plan.freshness;
    if (f === undefined || !this.gateRefusedSince(from)) return 0;
    return (f.syncIntervalMs + f.syncDurationMaxMs + 2 * plan.primary.heartbeatMs) / (1 - plan.rhoActual);
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
    const cooldown = this.cooldownAfterCrash();
    if (gapStart - this.lastWorkloadCrash < cooldown + (failoverBoundMs(s) + slack) * stretch) allowed += cooldown;
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
      (plan.probe === 'sigterm'
        ? this.handOverAllowance()
        : (failoverBoundMs(s) + 4 * this.network.maxTailDelay + plan.writeDelayMaxMs) / (1 - plan.rhoActual)) +
      this.recordWriteAllowance();
    return this.withGraceLeft(this.probeAt, allowed, afterGrace);
  }

  /** With state dirs, a run's epoch is written before it starts (design §10.2): one more write. */
  private recordWriteAllowance(): number {
    const plan = this.world.plan;
    return plan.stateDirs ? RECORD_WRITE_MAX_MS / (1 - plan.rhoActual) : 0;
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

  /**
   * The stretch without an active node that is going on now is within its allowance. While the
   * freshness gate refuses the standby, the stretch counts from its last refusal (design §21.6),
   * but never for longer than STALE_FOREVER_CYCLES sync cycles and failover bounds.
   */
  checkGap(sub: string): boolean {
    const world = this.world;
    const healedStart = Math.max(this.gapStart, this.healAt);
    const refused = this.gateRefusedSince(healedStart);
    const start = refused ? Math.max(healedStart, this.lastGateRefusal) : healedStart;
    const gap = world.t - start;
    const allowed = this.gapAllowance(start) + this.gateAllowance(healedStart);
    if (refused && !Number.isNaN(this.excusedSince) && world.healed) {
      const f = world.plan.freshness;
      const cycle = (f?.syncIntervalMs ?? 0) + (f?.syncDurationMaxMs ?? 0);
      const limit = STALE_FOREVER_CYCLES * (cycle + this.gapAllowance(healedStart));
      const excused = world.t - Math.max(this.excusedSince, this.healAt);
      if (excused > limit) {
        world.violate(
          'liveness',
          'stale-forever',
          `the freshness gate has refused every takeover for ${excused.toFixed(1)}ms after the heal; allowed ${limit.toFixed(1)}ms`,
        );
        return false;
      }
    }
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
