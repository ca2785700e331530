/**
 * The sidecar's decisions: pure and synchronous, the clock passed in (design §2, §4, §8). The shell
 * feeds it what it hears (witness answers, peer heartbeats and replies, workload reports) with
 * the time on the sidecar's monotonic clock, calls `decide(now)` and carries out the actions, and
 * calls `decide` again at `nextWakeAt(now)` if nothing else happens first. The simulator drives
 * the same object. What the core knows and how inputs change it is sidecar-memory.ts and the
 * classes it names, up to sidecar-state.ts; which action follows is the rule lists of
 * decision-rules.ts, applied here.
 *
 * Safety rests on four rules, each marked SAFETY here and in those classes:
 *  1. The workload runs only between a grant (a new epoch from the witness) and the moment its
 *     last lease would lapse less the stop budget; it starts stopping then, whatever else happens.
 *  2. A lease is counted from when the request was SENT, shortened by the drift bound; and only
 *     answers to requests sent for the current epoch (peer leases: during the current run) count.
 *  3. A node grants peer leases only while it holds nothing (a running node always holds) and is
 *     not asking the witness, and then asks the witness only once every promise it made has run
 *     out (and one peer lease after its own start, since a restarted sidecar has forgotten its
 *     promises). No run starts while a promise stands.
 *  4. An acquire counts as in flight until its answer arrives or a grant it might carry could no
 *     longer be used; no promise is made in between.
 */
import { assert } from '../assert';
import { maxEpoch } from '../epoch';
import {
  ACTIVE_RULES,
  type ActiveInputs,
  type DecisionRow,
  RULE_NAMES,
  SIMPLE_RULES,
  type SimpleInputs,
  STOPPED_RULES,
  type StoppedInputs,
} from './decision-rules';
import { NEVER } from './sidecar-memory';
import { SidecarState } from './sidecar-state';
import { stopBudget } from './timing';
import type { Action } from './types';
import { WakeTimes } from './wake-times';

export class SidecarCore extends SidecarState {
  /** The row that decided the latest `decide`, acting or not (for tests that watch the rows). */
  protected latestRow = '';

  /**
   * A planned stop (SIGTERM of the sidecar; design §9.5): the rows stop the workload, release the
   * group and then ask for nothing more, and the node tells its peer it hands the group over, so
   * the peer takes over without waiting out a lease. It cannot be undone: the shell exits after.
   */
  leave(): void {
    this.leaving = true;
    this.restartWanted = false;
  }

  /** The decision now: the first row of the list for this mode and workload (decision-rules.ts). */
  decide(now: number): Action[] {
    if (this.settings.mode === 'simple') return this.carry(SIMPLE_RULES, this.simpleInputs(now), now);
    if (this.workload !== 'stopped') return this.carry(ACTIVE_RULES, this.activeInputs(now), now);
    this.updateColdStartProposal(now);
    const grantArrived = this.startRequested;
    this.startRequested = false;
    // A grant just received is decided on first: its release must go out while still holding.
    if (!grantArrived) this.forgetLapsedHold(now);
    const actions = this.carry(STOPPED_RULES, this.stoppedInputs(now, grantArrived), now);
    if (!grantArrived || !this.holding || now < this.witnessLeaseUntil) return actions;
    // That release went out for a hold already lapsed: decide again now without it, as the next
    // decide would (nothing else would wake the node for it: the lapse is past).
    this.forgetLapsedHold(now);
    return [...actions, ...this.carry(STOPPED_RULES, this.stoppedInputs(now, false), now)];
  }

  /**
   * The earliest reading of this node's clock after `now` at which `decide` could act otherwise
   * with no new input (an answer, a heartbeat, a workload report); +Infinity when nothing is due.
   * Call it after `decide(now)`: a shell arms one timer for it and calls `decide` when it fires,
   * and keeps no retry or deadline timers of its own. While the workload runs it is the stop
   * deadline itself (SAFETY 1: the stop must begin exactly then). It may come early, never late:
   * a few moments change only what the node reports (the witness falling silent) or tells its
   * peer (the hand-back request), and are due too.
   */
  nextWakeAt(now: number): number {
    const due = new WakeTimes(now);
    const s = this.settings;
    if (s.mode === 'simple') {
      if (this.workload === 'stopped') due.at(this.restartAt);
      return due.afterQuiet(Math.max(this.lastPeerHeard, this.startedAt), s.timeoutMs).earliest;
    }
    if (this.mayBeRunning()) return due.at(this.stopDeadline()).earliest;
    if (this.workload === 'stopping') return due.earliest;
    if (this.startRequested) due.at(Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(s));
    if (this.holding) due.at(this.witnessLeaseUntil);
    if (this.restartWanted) due.at(this.restartAt);
    if (this.holding) due.at(this.releaseRetryAt);
    // The switchover's hand-over ends then (failback-and-hand-over.ts handingOver).
    if (!this.holding) due.at(this.handOverWaitUntil);
    if (this.acquireSentAt !== undefined) due.at(this.acquireExpiry(this.acquireSentAt));
    due.at(this.refusedUntil).at(this.ineligibleUntil).at(this.promiseUntil).at(this.quietUntil);
    due.afterQuiet(Math.max(this.lastPeerHeard, this.startedAt), s.timeoutMs);
    due.afterQuiet(this.lastWitnessHeard, s.timeoutMs);
    // Not a decision of this node's, but what it tells its peer: the hand-back request begins then.
    if (s.role === 'primary' && this.failbackPolicy() === 'auto')
      due.afterQuiet(this.peerActiveSince, s.failbackDelayMs);
    return due.earliest;
  }

  /**
   * Our own lease ran out: the witness's hold on our behalf runs out by itself, unrenewed, whether
   * or not a Release is still in flight (the witness releases only the epoch a Release names, and
   * the answer to it ends the holding of that epoch only, §6.4).
   */
  private forgetLapsedHold(now: number): void {
    if (this.holding && now >= this.witnessLeaseUntil) {
      this.holding = false;
      this.restartWanted = false;
    }
  }

  private activeInputs(now: number): ActiveInputs {
    // SAFETY 1: a side counts as up only while its lease outlasts the stop budget, so the table's
    // "stop" comes early enough for SIGTERM, the grace and SIGKILL to finish before the deadline.
    const budget = stopBudget(this.settings);
    return {
      workload: this.workload,
      supersededBecause: this.supersededBecause,
      peerLeaseUp: now < this.peerLeaseUntil - budget,
      witnessLeaseUp: now < this.witnessLeaseUntil - budget,
      handbackAsked: this.handbackAsked(now),
      leaving: this.leaving,
      handOverAsked: this.witnessAskedHandOver(),
      epoch: this.epoch,
    };
  }

  private stoppedInputs(now: number, grantArrived: boolean): StoppedInputs {
    const s = this.settings;
    return {
      role: s.role,
      epoch: this.epoch,
      grantArrived,
      grantUsable: now < Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(s),
      restartWanted: this.restartWanted,
      restarts: this.restarts,
      maxRestarts: s.maxRestarts,
      inRestartBackoff: now < this.restartAt,
      acquireInFlight: this.acquiring(now),
      inRefusalWait: now < this.refusedUntil,
      holding: this.holding,
      releaseInFlight: this.releaseInFlightFor === this.epoch,
      inReleaseRetryWait: now < this.releaseRetryAt,
      ineligible: now < this.ineligibleUntil,
      promiseOutstanding: now < this.promiseUntil,
      inQuietPeriod: now < this.quietUntil,
      peerUp: this.peerHeardWithinTimeout(now),
      witnessUp: now - this.lastWitnessHeard < s.timeoutMs,
      peerWorkload: this.peer?.workload,
      peerEligible: this.peer?.eligible ?? true,
      peerHandsOver: this.peerHandsOver(now),
      leaving: this.leaving,
      inMaintenance: this.inMaintenance,
      handingOver: this.handingOver(now),
      coldStartReady: this.coldStartReady(now),
      coldStartEpoch: this.coldStartProposed,
    };
  }

  /** The row start-cold-on-peer-lease may act: see its inputs' doc (decision-rules.ts). */
  private coldStartReady(now: number): boolean {
    const lease = this.coldStartLease;
    return (
      lease !== undefined &&
      this.coldStartPossible(now) &&
      lease.epoch === this.coldStartProposed &&
      this.durableKnown >= lease.epoch &&
      now < lease.until - stopBudget(this.settings)
    );
  }

  private simpleInputs(now: number): SimpleInputs {
    return {
      role: this.settings.role,
      peerUp: this.peerHeardWithinTimeout(now),
      workload: this.workload,
      inRestartBackoff: now < this.restartAt,
    };
  }

  /** Applies the first row that holds: the action it names, with its name and reason. */
  private carry<Inputs>(rows: readonly DecisionRow<Inputs>[], inputs: Inputs, now: number): Action[] {
    const row = rows.find((r) => r.when(inputs));
    assert(row !== undefined && RULE_NAMES.has(row.name), 'every rule list ends with a row that always holds');
    this.latestRow = row.name;
    const why = row.says?.(inputs) ?? row.why;
    if (row.outcome === 'keep-running' || row.outcome === 'wait') return [];
    this.lastRule = row.name;
    this.lastDecision = why;
    switch (row.outcome) {
      case 'stay-stopped':
        return [];
      case 'start':
        return [this.start(row.name, why, now)];
      case 'stop':
        assert(this.mayBeRunning(), 'only a starting or running workload is stopped');
        this.workload = 'stopping';
        return [{ kind: 'stop', rule: row.name, why }];
      case 'acquire':
        // SAFETY 3: the rows before every acquire wait out each promise and the quiet period.
        assert(
          this.workload === 'stopped' && now >= this.promiseUntil && now >= this.quietUntil,
          'an acquire is sent only while stopped, with no promise to the peer standing',
        );
        this.acquireSentAt = now;
        this.latestAcquire = { sentAt: now, knownEpoch: this.knownForWitness() };
        this.acquireIsRestart = this.restartWanted;
        return [{ kind: 'acquire', rule: row.name, why }];
      case 'release':
        assert(this.workload === 'stopped', 'a release is sent only once the workload has stopped');
        this.releaseInFlightFor = this.epoch;
        return [{ kind: 'release', rule: row.name, epoch: this.epoch, why }];
    }
  }

  private start(rule: string, why: string, now: number): Action {
    // A grant starts a run on the witness lease alone; a cold start on the peer lease it took.
    let peerLeaseUntil = NEVER;
    if (this.settings.mode === 'simple') {
      assert(this.workload === 'stopped', 'a start happens only while stopped');
      // No witness hands out epochs in simple mode: the node counts above all it has seen.
      this.epoch = maxEpoch(this.epoch, this.knownEpoch) + 1n;
      this.knownEpoch = this.epoch;
    } else {
      if (rule === 'start-cold-on-peer-lease') peerLeaseUntil = this.takeColdStart();
      assert(this.holding && this.workload === 'stopped', 'a start happens only while holding the group and stopped');
      assert(!this.leaving && !this.inMaintenance, 'a node that hands the group over for good starts nothing');
      // SAFETY 3 and 4: no promise made since the acquire (none while it was in flight).
      assert(now >= this.promiseUntil, 'a start happens with no promise to the peer standing');
    }
    this.workload = 'starting';
    this.runStartedAt = now;
    this.peerLeaseUntil = peerLeaseUntil;
    this.assertDeadlineFinite();
    return { kind: 'start', rule, epoch: this.epoch, why };
  }
}
