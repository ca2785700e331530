/**
 * What a sidecar core knows: its epoch, leases, promises, timers and what it last heard, and how
 * each input changes them (SAFETY 2 to 4 live here). The decisions are in sidecar-core.ts, which
 * extends this class; nothing else should.
 */
import { assert } from '../assert';
import { maxEpoch } from '../epoch';
import { grantorHoldEnd, holderLeaseEnd, remainingMs } from '../lease';
import { stopBudget, witnessHeartbeatMs } from './timing';
import type {
  AcquireFailure,
  EpochRecordAtStart,
  Failback,
  KeptRun,
  PeerReply,
  PeerState,
  SidecarSettings,
  SidecarView,
  WitnessAnswer,
  WorkloadPhase,
} from './types';

export const NEVER = Number.NEGATIVE_INFINITY;

export abstract class SidecarState {
  protected workload: WorkloadPhase = 'stopped';
  /** Epoch of the current (or last) tenure; 0n before the first. */
  protected epoch = 0n;
  protected knownEpoch = 0n;
  /** The witness may still record this node as holder of `epoch`: release it once stopped. */
  protected holding = false;
  protected witnessLeaseUntil = NEVER;
  /** The witness lease of the latest grant or renewal (the witness may cap what was asked). */
  protected witnessLeaseMs: number;
  /**
   * The witness is behind: no heartbeat sent at or after this time has been answered, though one
   * went unanswered or the node has news for it (a finished sync, a stopped workload); NaN when
   * it is not. Meanwhile the witness is heartbeaten every --heartbeat (design §4.6).
   */
  private witnessBehindSince = Number.NaN;
  protected peerLeaseUntil = NEVER;
  /** When the workload was last started: peer leases for heartbeats sent before do not count. */
  protected runStartedAt = NEVER;
  protected restarts = 0;
  protected restartAt = NEVER;
  /** The workload exited by itself while this node held the group: run it again, under a new epoch. */
  protected restartWanted = false;
  protected acquireIsRestart = false;
  /** Why the witness refused this node's epoch, once it has; the stop reports it. */
  protected supersededBecause: string | undefined;
  protected ineligibleUntil = NEVER;
  /** A planned stop (SIGTERM): stop, release, tell the peer to take over, and ask for nothing more. */
  protected leaving = false;
  /** The epoch whose holder the witness asked to hand the group over (a switchover, design §9.6). */
  protected handOverFor: bigint | undefined;
  /** After its release, the node handing over leaves the group to its peer until then. */
  protected handOverWaitUntil = NEVER;
  /** The witness's latest answer said this node is in maintenance (§9.6). */
  protected inMaintenance = false;
  /** The group's fail-back policy in the witness's latest answer (§9.4); undefined: the node's own. */
  protected witnessFailback: Failback | undefined;

  protected acquireSentAt: number | undefined;
  /**
   * The epoch whose Release waits for its answer. Per epoch: a Release of an earlier run, cut off
   * and still within its deadline, must not hold back the Release of the run after it.
   */
  protected releaseInFlightFor: bigint | undefined;
  protected releaseRetryAt = NEVER;
  protected refusedUntil = NEVER;

  /** Promises made with the peer leases this node granted (design §4.3). */
  protected promiseUntil = NEVER;
  protected promisedEpoch = 0n;
  /** A restarted sidecar forgot its promises: it asks nothing for one peer lease. */
  protected quietUntil: number;

  protected lastPeerHeard = NEVER;
  protected readonly startedAt: number;
  protected lastWitnessHeard = NEVER;
  protected peer: PeerState | undefined;
  protected peerActiveSince = NEVER;
  /** A grant arrived and the next decision must start the workload or hand the grant back. */
  protected startRequested = false;
  protected lastDecision = 'starting';
  /** The row that decided `lastDecision`; '' before the first. */
  protected lastRule = '';
  /** When the latest acquire was sent and the highest epoch known then: its grant must be above it. */
  protected latestAcquire: { readonly sentAt: number; readonly knownEpoch: bigint } | undefined;

  /** This node keeps the epochs it sees on disk (--state-dir): it may take part in a cold start (§10.2). */
  protected readonly durableEpochs: boolean;
  /** The highest epoch the shell has confirmed on disk. */
  protected durableKnown: bigint;
  /** The primary's cold-start proposal (0n: none), and the peer lease its peer granted for it (§10.2). */
  protected coldStartProposed = 0n;
  protected coldStartLease: { readonly epoch: bigint; readonly until: number } | undefined;
  /** The secondary: the highest cold-start epoch proposed to it above all it knew; recorded before it vouches. */
  protected coldStartHeard = 0n;

  constructor(
    protected readonly settings: SidecarSettings,
    now: number,
    /** What --state-dir's epoch record held at start; undefined without one (nothing is on disk). */
    recorded?: EpochRecordAtStart,
  ) {
    this.knownEpoch = recorded?.knownEpoch ?? 0n;
    this.durableEpochs = recorded !== undefined;
    this.durableKnown = this.knownEpoch;
    this.quietUntil = grantorHoldEnd(now, settings.peerLeaseMs, settings.bounds);
    this.startedAt = now;
    this.witnessLeaseMs = settings.leaseMs;
  }

  // ---- what the node says -------------------------------------------------------------------

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

  /** The node's state, sent to the peer in heartbeats and in answers to the peer's heartbeats. */
  peerState(now: number): PeerState {
    // A node handing over says "stopping" until its release is answered: a preferred primary that
    // heard "stopped" would ask the witness while the group is still held, and wait out the
    // refusal (design §9.5).
    const releasing = this.handsOverWhenStopped() && this.holding && this.workload === 'stopped';
    return {
      node: this.settings.node,
      role: this.settings.role,
      workload: releasing ? 'stopping' : this.workload,
      epoch: this.epoch,
      knownEpoch: this.knownEpoch,
      acquiring: this.acquiring(now),
      eligible: now >= this.ineligibleUntil && !this.inMaintenance,
      handbackRequested: this.wantsHandback(now),
      handingOver: this.handingOver(now),
      maintenance: this.inMaintenance,
      durableEpochs: this.durableEpochs,
      coldStartEpoch: this.coldStartPossible(now) ? this.coldStartProposed : 0n,
    };
  }

  /**
   * What this node tells the witness it knows (and the view shows): also a cold-start epoch it
   * vouched for, so that no grant goes below it (S2). Its peer is not told: the proposal is its own.
   */
  protected knownForWitness(): bigint {
    return maxEpoch(this.knownEpoch, this.coldStartHeard);
  }

  /**
   * The epoch the shell must write to the epoch record before the core may count on it (design
   * §10.2): the highest it knows, was proposed or proposes, when that is above what is on disk.
   * Undefined without --state-dir, or when the record is up to date.
   */
  epochToRecord(): bigint | undefined {
    if (!this.durableEpochs) return undefined;
    const highest = maxEpoch(this.knownEpoch, maxEpoch(this.coldStartHeard, this.coldStartProposed));
    return highest > this.durableKnown ? highest : undefined;
  }

  /** The shell wrote `epoch` to the epoch record (written, synced, renamed into place). */
  onEpochRecorded(epoch: bigint): void {
    this.durableKnown = maxEpoch(this.durableKnown, epoch);
  }

  // ---- what the node hears ------------------------------------------------------------------

  /** The peer's heartbeat: note its state, and grant it a peer lease when that is safe. */
  onPeerHeartbeat(state: PeerState, now: number): PeerReply {
    this.hearPeer(state, now);
    // A proposal above all this node knows is taken as known, to be recorded before it is vouched for.
    if (state.coldStartEpoch > this.knownEpoch && state.coldStartEpoch > this.coldStartHeard) {
      this.coldStartHeard = state.coldStartEpoch;
    }
    const cold = this.mayVouchForColdStart(state, now);
    const grant = cold || this.mayGrantPeerLease(state, now);
    const forEpoch = cold ? state.coldStartEpoch : state.epoch;
    if (grant) {
      // SAFETY 3: the promise outlasts the lease the peer counts from its send time.
      this.promiseUntil = Math.max(
        this.promiseUntil,
        grantorHoldEnd(now, this.settings.peerLeaseMs, this.settings.bounds),
      );
      this.promisedEpoch = maxEpoch(this.promisedEpoch, forEpoch);
    }
    return {
      state: this.peerState(now),
      leaseMs: grant ? this.settings.peerLeaseMs : 0,
      leaseForEpoch: grant ? forEpoch : 0n,
    };
  }

  /** The peer's answer to the heartbeat this node sent at `sentAt`. */
  onPeerReply(sentAt: number, reply: PeerReply, now: number): void {
    this.hearPeer(reply.state, now);
    // The lease the peer granted for this primary's cold-start proposal (§10.2): it may start on it.
    if (
      reply.leaseMs > 0 &&
      this.workload === 'stopped' &&
      this.coldStartProposed > 0n &&
      reply.leaseForEpoch === this.coldStartProposed
    ) {
      const until = holderLeaseEnd(sentAt, reply.leaseMs, this.settings.bounds);
      const earlier = this.coldStartLease?.epoch === this.coldStartProposed ? this.coldStartLease.until : NEVER;
      this.coldStartLease = { epoch: this.coldStartProposed, until: Math.max(earlier, until) };
      return;
    }
    // SAFETY 2: only a lease asked for during this run keeps it running. The promise behind it
    // was made for this run's epoch, and the peer drops it only when it hears this run (or a
    // later one) stop (§4.3); a lease asked for during an earlier run may rest on a promise the
    // peer dropped when that run stopped. (A heartbeat sent during this run carries its epoch,
    // and the peer's lease names the epoch it was asked under: the wire layer checks that echo.)
    // One that lands while the workload stops or has stopped is read by nothing: the rows of a
    // stopping node only wait, and the next grant and start forget it.
    if (reply.leaseMs > 0 && sentAt >= this.runStartedAt) {
      this.peerLeaseUntil = Math.max(this.peerLeaseUntil, holderLeaseEnd(sentAt, reply.leaseMs, this.settings.bounds));
      this.assertDeadlineFinite();
    }
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

  /**
   * The run to keep for the next process when this one exits for a restart (design §9.8): only a
   * held, running run of standard mode whose stop has not begun. Its leases go with it unchanged:
   * they were earned by this node's requests, and the next process may extend them only with
   * answers to its own.
   */
  keptRun(now: number): KeptRun | undefined {
    if (this.settings.mode !== 'standard' || this.workload !== 'running' || !this.holding) return undefined;
    if (now >= this.stopDeadline()) return undefined;
    return {
      group: this.settings.group,
      node: this.settings.node,
      epoch: this.epoch,
      knownEpoch: this.knownEpoch,
      witnessLeaseUntil: this.witnessLeaseUntil,
      peerLeaseUntil: this.peerLeaseUntil,
    };
  }

  /**
   * Keeps the run for the next process (design §9.8): `keptRun`, with the witness lease cut to at
   * most one peer lease from now. A next process that does not adopt the run (another
   * --state-dir, a watchdog gone) waits one peer lease from its own start before it asks the
   * witness (§9.2), which would grant this node a new epoch at once: the kept run must be over by
   * then, whatever lease the witness gave. The peer lease already ends within it (counted from
   * sends before now). The shell feeds the watchdog the shorter deadline before it keeps the run.
   */
  keepRun(now: number): KeptRun | undefined {
    if (this.keptRun(now) === undefined) return undefined;
    this.witnessLeaseUntil = Math.min(
      this.witnessLeaseUntil,
      holderLeaseEnd(now, this.settings.peerLeaseMs, this.settings.bounds),
    );
    return this.keptRun(now);
  }

  /**
   * The first input of a new process that finds the run its predecessor kept (design §9.8): the
   * workload runs under that epoch on those leases, as if this process had started it. Heartbeats
   * sent from now on may extend them; if none does in time, the rows stop it at the same deadline
   * the watchdog was already enforcing. A promise to the peer cannot be standing: a running node
   * makes none (SAFETY 3), and none stood when its run started. So nothing was forgotten, and this
   * process owes no quiet period: a run that exits by itself is asked again at once, as before.
   */
  adopt(run: KeptRun, now: number): void {
    assert(
      this.settings.mode === 'standard' && this.workload === 'stopped' && !this.holding && this.lastRule === '',
      'only a fresh standard-mode core adopts a kept run',
    );
    assert(
      run.group === this.settings.group && run.node === this.settings.node,
      () => `a kept run of ${run.group}/${run.node} is not this node's`,
    );
    assert(run.epoch > 0n && run.knownEpoch >= run.epoch, 'a kept run has a granted epoch');
    this.workload = 'running';
    this.holding = true;
    this.epoch = run.epoch;
    this.knownEpoch = maxEpoch(this.knownEpoch, run.knownEpoch);
    this.witnessLeaseUntil = run.witnessLeaseUntil;
    this.peerLeaseUntil = run.peerLeaseUntil;
    this.runStartedAt = now;
    this.quietUntil = NEVER;
    this.lastDecision = `adopted the run of epoch ${run.epoch} kept by the previous sidecar process`;
    this.assertDeadlineFinite();
  }

  /** The supervisor's report: the workload runs, has stopped, or exited by itself. */
  onWorkload(phase: 'running' | 'stopped', now: number, exitedByItself = false): void {
    this.assertRunHeld();
    // A 'running' report that crosses a stop must not undo it.
    if (phase === 'running' && this.workload !== 'starting') return;
    const wasRunning = this.workload === 'running' || this.workload === 'starting';
    this.workload = phase;
    if (phase === 'stopped') {
      // Its copy was the source until now: news for the freshness gate (design §21.1).
      this.onWitnessNews(now);
      this.peerLeaseUntil = NEVER;
      if (exitedByItself && wasRunning) {
        // Back off before any restart, also in simple mode: a command that fails at once must
        // not be respawned in a tight loop.
        this.restarts += 1;
        this.restartAt = now + this.settings.restartBackoffMs * 2 ** Math.min(this.restarts - 1, 6);
        if (this.settings.mode === 'standard' && !this.handsOverWhenStopped()) this.heldRunExited(now);
      }
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** A run of standard mode exited by itself (held: onWorkload asserts it): run it again, or give up. */
  private heldRunExited(now: number): void {
    if (this.restarts <= this.settings.maxRestarts) {
      this.restartWanted = true;
    } else {
      this.ineligibleUntil = now + this.settings.failureCooldownMs;
      this.lastDecision = `workload exited ${this.restarts} times: giving the group up`;
    }
  }

  /** SAFETY 1: in standard mode a run always has a deadline (a NaN or infinite lease would remove it). */
  protected assertDeadlineFinite(): void {
    if (this.settings.mode === 'standard' && this.mayBeRunning()) {
      assert(
        Number.isFinite(this.stopDeadline()),
        () => `a run without a finite stop deadline (${this.stopDeadline()})`,
      );
    }
  }

  /**
   * The stopped primary may start with the witness down, on its secondary's peer lease alone
   * (design §10.2): both keep their epochs on disk, the witness has been silent for a timeout,
   * the secondary is heard, stopped, eligible and asks nothing, and this node holds, asks, owes
   * and waits for nothing (no promise, no quiet period, no restart, not leaving, not in maintenance).
   */
  protected coldStartPossible(now: number): boolean {
    const s = this.settings;
    const peer = this.peer;
    return (
      s.mode === 'standard' &&
      s.role === 'primary' &&
      this.durableEpochs &&
      this.workload === 'stopped' &&
      !this.holding &&
      !this.restartWanted &&
      !this.leaving &&
      !this.inMaintenance &&
      !this.acquiring(now) &&
      now >= this.ineligibleUntil &&
      now >= this.quietUntil &&
      now >= this.promiseUntil &&
      now - this.lastWitnessHeard >= s.timeoutMs &&
      this.peerHeardWithinTimeout(now) &&
      peer !== undefined &&
      peer.durableEpochs &&
      peer.workload === 'stopped' &&
      peer.eligible &&
      !peer.acquiring &&
      !peer.maintenance &&
      !peer.handingOver
    );
  }

  /**
   * The primary's proposal goes on while a cold start stays possible, and is made anew above all
   * this node and its peer have said once it no longer is above it. Called before each decision.
   */
  protected updateColdStartProposal(now: number): void {
    if (!this.coldStartPossible(now) || this.peer === undefined) {
      this.coldStartProposed = 0n;
      this.coldStartLease = undefined;
      return;
    }
    const above = maxEpoch(this.knownEpoch, maxEpoch(this.peer.knownEpoch, this.peer.epoch));
    if (this.coldStartProposed > above) return;
    this.coldStartProposed = above + 1n;
    this.coldStartLease = undefined;
  }

  /**
   * The secondary vouches for its primary's cold start (§10.2) with a peer lease for the proposed
   * epoch: only once that epoch is on its disk and above everything else it knows, and only while
   * it holds, runs and asks nothing, like any peer lease (SAFETY 3).
   */
  protected mayVouchForColdStart(peer: PeerState, now: number): boolean {
    this.assertRunHeld();
    const e = peer.coldStartEpoch;
    return (
      e > 0n &&
      this.durableEpochs &&
      peer.durableEpochs &&
      peer.role === 'primary' &&
      this.settings.role === 'secondary' &&
      peer.workload === 'stopped' &&
      this.workload === 'stopped' &&
      !this.holding &&
      !this.acquiring(now) &&
      // A restarted sidecar's previous run may still be stopping (or kept, §9.8), unknown to it.
      now >= this.quietUntil &&
      // The witness is down for this node too: one it hears would carry an operator's intent
      // (maintenance, removal) that the primary, cut off, has not heard.
      now - this.lastWitnessHeard >= this.settings.timeoutMs &&
      e > this.knownEpoch &&
      this.durableKnown >= e
    );
  }

  /** The cold start's grant is taken (the row start-cold-on-peer-lease): the run is held on the peer lease alone. */
  protected takeColdStart(): number {
    const lease = this.coldStartLease;
    assert(
      lease !== undefined && lease.epoch === this.coldStartProposed && this.durableKnown >= lease.epoch,
      'a cold start runs under the proposed epoch, on disk, with its peer lease',
    );
    assert(lease.epoch > this.knownEpoch, 'a cold start is above every epoch known (S2)');
    this.epoch = lease.epoch;
    this.knownEpoch = lease.epoch;
    this.holding = true;
    this.restarts = 0;
    this.supersededBecause = undefined;
    this.witnessLeaseUntil = NEVER;
    this.coldStartProposed = 0n;
    this.coldStartLease = undefined;
    return lease.until;
  }

  protected mayBeRunning(): boolean {
    return this.workload === 'starting' || this.workload === 'running';
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

  /**
   * SAFETY 3: a node that holds the group (a starting or running one always does, and so does one
   * with a grant in hand: the grant and the decide that starts on it are one turn) grants nothing.
   * A superseded node still stopping may: the peer it grants to holds the newer epoch, and the
   * promise keeps this node from asking the witness until it ends, as for any stopped node.
   */
  protected mayGrantPeerLease(peer: PeerState, now: number): boolean {
    this.assertRunHeld();
    const peerRuns = (peer.workload === 'running' || peer.workload === 'starting') && peer.epoch > 0n;
    return peerRuns && !this.holding && !this.acquiring(now);
  }

  /**
   * A standard-mode run is held from its grant to its stop: the refusal that ends the holding is
   * decided on (the run stopped) in the same turn, since the shell decides after every input.
   */
  protected assertRunHeld(): void {
    if (this.settings.mode === 'simple' || !this.mayBeRunning()) return;
    assert(this.holding, 'a starting or running workload is held');
  }

  protected hearPeer(state: PeerState, now: number): void {
    this.lastPeerHeard = now;
    this.knownEpoch = maxEpoch(this.knownEpoch, maxEpoch(state.epoch, state.knownEpoch));
    // A peer that says it has stopped dropped every peer lease up to its epoch: forget the promises.
    if (state.workload === 'stopped' && state.epoch >= this.promisedEpoch) this.promiseUntil = NEVER;
    const runsNow = state.workload === 'running';
    if (runsNow && this.peer?.workload !== 'running') this.peerActiveSince = now;
    // The peer runs under a newer epoch: a switchover's hand-over is done, this node a standby.
    if (runsNow && state.epoch > this.epoch) this.handOverWaitUntil = NEVER;
    if (!runsNow) this.peerActiveSince = NEVER;
    this.peer = state;
  }

  /** An operator's policy for the group wins over this node's --failback (§9.4). */
  protected failbackPolicy(): Failback {
    return this.witnessFailback ?? this.settings.failback;
  }

  /** Silence is counted from this node's own start: a peer not heard yet is not yet "gone". */
  protected peerHeardWithinTimeout(now: number): boolean {
    return now - Math.max(this.lastPeerHeard, this.startedAt) < this.settings.timeoutMs;
  }

  protected hearWitness(answer: WitnessAnswer, now: number): void {
    this.lastWitnessHeard = now;
    this.knownEpoch = maxEpoch(this.knownEpoch, answer.epoch);
    this.inMaintenance = answer.maintenance;
    this.witnessFailback = answer.failback;
    // A node in maintenance releases what it holds and runs nothing, not even a restart.
    if (answer.maintenance) this.restartWanted = false;
  }

  /** Once stopped, this node gives the group to its peer: SIGTERM, maintenance, or a switchover asked of this run. */
  protected handsOverWhenStopped(): boolean {
    return this.leaving || this.inMaintenance || this.handOverFor === this.epoch;
  }

  /**
   * What the node tells its peer: stopped, released, and leaving the group to it (design §9.5,
   * §9.6). A switchover's hand-over lasts one timeout after the release, whatever epochs the node
   * hears meanwhile (the witness may tell of the peer's grant before the peer says it runs); after
   * that the node is an ordinary standby again.
   */
  protected handingOver(now: number): boolean {
    if (this.workload !== 'stopped' || this.holding) return false;
    if (this.leaving || this.inMaintenance) return true;
    return this.handOverFor === this.epoch && now < this.handOverWaitUntil;
  }

  /** The preferred primary, standing by while the secondary runs, asks for the group back. */
  protected wantsHandback(now: number): boolean {
    return (
      this.failbackPending(now) &&
      now >= this.ineligibleUntil &&
      now - this.lastWitnessHeard < this.settings.timeoutMs &&
      now - this.peerActiveSince >= this.settings.failbackDelayMs
    );
  }

  /** The preferred primary, stopped and still heard from, asks this secondary for the group back. */
  protected handbackAsked(now: number): boolean {
    return (
      this.peerHeardWithinTimeout(now) &&
      this.settings.role === 'secondary' &&
      this.failbackPolicy() === 'auto' &&
      this.peer?.role === 'primary' &&
      this.peer.handbackRequested &&
      this.peer.workload === 'stopped'
    );
  }

  /**
   * The peer, still heard from, hands the group over (a planned stop, §9.5). A node says so only
   * once its workload has stopped, and the row acquire-peer-hands-over comes after
   * wait-peer-not-stopped, so a peer that said it while running would still be waited for.
   */
  protected peerHandsOver(now: number): boolean {
    return this.peerHeardWithinTimeout(now) && this.peer?.handingOver === true;
  }

  view(now: number): SidecarView {
    const running = this.mayBeRunning();
    return {
      workload: this.workload,
      epoch: this.epoch,
      knownEpoch: this.knownForWitness(),
      holding: this.holding,
      peerUp: now - this.lastPeerHeard < this.settings.timeoutMs,
      witnessUp: now - this.lastWitnessHeard < this.settings.timeoutMs,
      msUntilStop: running
        ? remainingMs(Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings), now)
        : 0,
      witnessLeaseMs: running ? remainingMs(this.witnessLeaseUntil, now) : 0,
      peerLeaseMs: running ? remainingMs(this.peerLeaseUntil, now) : 0,
      lastDecision: this.lastDecision,
      lastRule: this.lastRule,
      failbackInMs: this.failbackPending(now)
        ? remainingMs(this.peerActiveSince + this.settings.failbackDelayMs, now)
        : -1,
    };
  }

  /** A fail-back waits for its delay (wantsHandback adds the rest of what it needs then). */
  protected failbackPending(now: number): boolean {
    return (
      this.settings.role === 'primary' &&
      this.failbackPolicy() === 'auto' &&
      // A node that tells its peer to take the group over does not also ask for it back.
      !this.handingOver(now) &&
      !this.leaving &&
      !this.inMaintenance &&
      this.workload === 'stopped' &&
      this.peerActiveSince !== NEVER
    );
  }

  /** When the watchdog must start stopping the workload if the sidecar says nothing more. */
  stopDeadline(): number {
    // Simple mode has no leases: nothing bounds the run but the table itself.
    if (this.settings.mode === 'simple') return Number.POSITIVE_INFINITY;
    return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings);
  }
}
