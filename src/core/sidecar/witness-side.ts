/**
 * The witness-facing part of the sidecar core: the heartbeat it sends the witness and how often
 * (design §4.6), and how the witness's answers to heartbeats, Acquires and Releases change what it
 * knows (SAFETY 2 and 4).
 */
import { assert } from '../assert';
import { maxEpoch } from '../epoch';
import { holderLeaseEnd } from '../lease';
import { NEVER, SidecarMemory } from './sidecar-memory';
import { witnessHeartbeatMs } from './timing';
import type { AcquireFailure, WitnessAnswer } from './types';

export abstract class WitnessSide extends SidecarMemory {
  /**
   * The witness is behind: no heartbeat sent at or after this time has been answered, though one
   * went unanswered or the node has news for it (a finished sync, a stopped workload); NaN when
   * it is not. Meanwhile the witness is heartbeaten every --heartbeat (design §4.6).
   */
  private witnessBehindSince = Number.NaN;

  /** The heartbeat to send the witness now; `heldEpoch` 0n unless the workload may be running. */
  witnessHeartbeat(): { heldEpoch: bigint; knownEpoch: bigint; leaseMs: number } {
    return {
      heldEpoch: this.mayBeRunning() ? this.epoch : 0n,
      knownEpoch: this.knownForWitness(),
      leaseMs: this.settings.leaseMs,
    };
  }

  /**
   * How long after a heartbeat to the witness the next is due (design §4.6). One that went
   * unanswered is followed a --heartbeat later: a witness that moved to another replica, or came
   * back, is found as fast as before.
   */
  witnessHeartbeatMs(): number {
    if (!Number.isNaN(this.witnessBehindSince)) return this.settings.heartbeatMs;
    return witnessHeartbeatMs(this.settings, this.mayBeRunning() ? this.witnessLeaseMs : undefined);
  }

  /** A heartbeat to the witness sent at `sentAt` failed or met its deadline unanswered. */
  onWitnessHeartbeatUnanswered(sentAt: number): void {
    this.witnessBehind(sentAt);
  }

  /** The node has news for the witness (a finished sync): only a heartbeat sent from now on tells it. */
  onWitnessNews(now: number): void {
    this.witnessBehind(now);
  }

  private witnessBehind(since: number): void {
    this.witnessBehindSince = Number.isNaN(this.witnessBehindSince) ? since : Math.max(this.witnessBehindSince, since);
  }

  /**
   * What this node tells the witness it knows (and the view shows): also a cold-start epoch it
   * vouched for, so that no grant goes below it (S2). Its peer is not told: the proposal is its own.
   */
  protected knownForWitness(): bigint {
    return maxEpoch(this.knownEpoch, this.coldStartHeard);
  }

  /** The witness answered a heartbeat sent at `sentAt` carrying `heldEpoch`. */
  onWitnessHeartbeatAnswer(sentAt: number, heldEpoch: bigint, answer: WitnessAnswer, now: number): void {
    this.hearWitness(answer, now);
    if (sentAt >= this.witnessBehindSince) this.witnessBehindSince = Number.NaN;
    if (heldEpoch === 0n || heldEpoch !== this.epoch) return;
    // A renewal answered after the workload stopped extends nothing: nothing may run on it.
    if (answer.verdict === 'renewed' && !this.mayBeRunning()) return;
    if (answer.verdict === 'renewed' && answer.holder === this.settings.node && answer.epoch === heldEpoch) {
      if (answer.handOver) this.handOverFor = heldEpoch;
      this.witnessLeaseMs = answer.leaseMs;
      this.witnessLeaseUntil = Math.max(
        this.witnessLeaseUntil,
        holderLeaseEnd(sentAt, answer.leaseMs, this.settings.bounds),
      );
      this.assertDeadlineFinite();
    } else if (answer.verdict === 'refused') {
      // Superseded: another epoch exists. The row stop-superseded-by-witness stops the run at once;
      // the leases are left as they were, so that row alone ends it (design §3.5).
      this.holding = false;
      this.restartWanted = false;
      this.supersededBecause = `the witness refused epoch ${heldEpoch}: superseded (holder ${answer.holder || 'none'}, epoch ${answer.epoch})`;
    }
  }

  /**
   * The witness answered the Acquire sent at `sentAt`; `answer` is undefined when the call failed,
   * and `failure` says how.
   */
  onAcquireAnswer(
    sentAt: number,
    answer: WitnessAnswer | undefined,
    now: number,
    failure: AcquireFailure = 'failed',
  ): void {
    if (answer === undefined && failure === 'undecided') {
      // Nothing was granted: ask again next heartbeat (a new leader learns the group from the
      // heartbeat it has not had yet), not a whole lease later.
      if (this.acquireSentAt !== sentAt) return;
      this.acquireSentAt = undefined;
      this.refusedUntil = now + this.settings.heartbeatMs;
      return;
    }
    if (this.acquireSentAt === sentAt && answer !== undefined) this.acquireSentAt = undefined;
    if (answer === undefined) return; // SAFETY 4: a lost answer may still be a grant; stay "in flight".
    this.hearWitness(answer, now);
    if (answer.verdict === 'refused') {
      // Ask again when the witness says it can succeed, but at least once a timeout: a release
      // (a hand-back) may end the holder's lease sooner than the witness could know.
      const wait = Math.min(answer.retryAfterMs, this.settings.timeoutMs);
      this.refusedUntil = now + Math.max(wait, this.settings.heartbeatMs);
      return;
    }
    if (answer.verdict !== 'granted' || answer.holder !== this.settings.node) return;
    const leaseUntil = holderLeaseEnd(sentAt, answer.leaseMs, this.settings.bounds);
    if (sentAt === this.latestAcquire?.sentAt) {
      // No grant starts anything while the latest acquire may still be answered, and every older
      // grant is past use by the time a newer acquire is sent. A cold start (§10.2) may begin once
      // that acquire can no longer be used, and its answer may still come (a transport without
      // deadlines): it is past use too, as below.
      assert(
        this.workload === 'stopped' || this.epoch > this.latestAcquire.knownEpoch,
        'the grant for the latest acquire finds the workload stopped, or running a later cold start',
      );
      assert(
        answer.epoch > this.latestAcquire.knownEpoch,
        () =>
          `a grant (epoch ${answer.epoch}) is above every epoch known when asking (${this.latestAcquire?.knownEpoch})`,
      );
    }
    // A grant for an older acquire can reach a run it predates (a transport without deadlines):
    // it is past use, and if it superseded that run, the witness refuses the next renewal.
    if (this.workload !== 'stopped') return;
    this.epoch = answer.epoch;
    this.holding = true;
    if (!this.acquireIsRestart) this.restarts = 0;
    this.restartWanted = false;
    this.supersededBecause = undefined;
    this.witnessLeaseUntil = leaseUntil;
    this.witnessLeaseMs = answer.leaseMs;
    this.peerLeaseUntil = NEVER;
    this.startRequested = true;
  }

  onReleaseAnswer(epoch: bigint, answer: WitnessAnswer | undefined, now: number): void {
    if (epoch === this.releaseInFlightFor) this.releaseInFlightFor = undefined;
    if (answer === undefined) {
      if (epoch !== this.epoch) return;
      // A witness that refuses connections fails at once: ask again next heartbeat, not in a loop.
      this.releaseRetryAt = now + this.settings.heartbeatMs;
      return;
    }
    this.hearWitness(answer, now);
    if (epoch !== this.epoch) return;
    this.holding = false;
    if (this.handOverFor === epoch) this.handOverWaitUntil = now + this.settings.timeoutMs;
  }

  protected hearWitness(answer: WitnessAnswer, now: number): void {
    this.lastWitnessHeard = now;
    this.knownEpoch = maxEpoch(this.knownEpoch, answer.epoch);
    this.inMaintenance = answer.maintenance;
    this.witnessFailback = answer.failback;
    // A node in maintenance releases what it holds and runs nothing, not even a restart.
    if (answer.maintenance) this.restartWanted = false;
  }

  protected acquiring(now: number): boolean {
    if (this.acquireSentAt === undefined) return false;
    // SAFETY 4: a grant for this request could not be used after this point, answered or not.
    if (now >= this.acquireExpiry(this.acquireSentAt)) {
      this.acquireSentAt = undefined;
      return false;
    }
    return true;
  }

  protected acquireExpiry(sentAt: number): number {
    return holderLeaseEnd(sentAt, this.settings.leaseMs, this.settings.bounds);
  }
}
