/**
 * The sidecar's decisions: pure and synchronous, the clock passed in (design §2, §4, §8). The shell
 * feeds it what it hears (witness answers, peer heartbeats and replies, workload reports) with
 * the time on the sidecar's monotonic clock, calls `decide(now)` and carries out the actions. The
 * simulator drives the same object.
 *
 * Safety rests on four rules, each marked SAFETY below:
 *  1. The workload runs only between a grant (a new epoch from the witness) and the moment its
 *     last lease would lapse less the stop budget; it starts stopping then, whatever else happens.
 *  2. A lease is counted from when the request was SENT, shortened by the drift bound; and only
 *     answers to requests sent for the current epoch (peer leases: during the current run) count.
 *  3. A node grants peer leases only while it is stopped and not asking the witness, and then asks
 *     the witness only once every promise it made has run out (and one peer lease after its own
 *     start, since a restarted sidecar has forgotten its promises).
 *  4. An acquire counts as in flight until its answer arrives or a grant it might carry could no
 *     longer be used; no promise is made in between.
 */
import { maxEpoch } from '../epoch';
import { grantorHoldEnd, holderLeaseEnd, remainingMs } from '../lease';
import { ACTIVE_TABLE, type Link, lookup, SIMPLE_TABLE, STANDBY_TABLE } from './behaviour-tables';
import { stopBudget } from './timing';
import type { Action, PeerReply, PeerState, SidecarSettings, SidecarView, WitnessAnswer, WorkloadPhase } from './types';

const NEVER = Number.NEGATIVE_INFINITY;

export class SidecarCore {
  private workload: WorkloadPhase = 'stopped';
  /** Epoch of the current (or last) tenure; 0n before the first. */
  private epoch = 0n;
  private knownEpoch = 0n;
  /** The witness may still record this node as holder of `epoch`: release it once stopped. */
  private holding = false;
  private witnessLeaseUntil = NEVER;
  private peerLeaseUntil = NEVER;
  /** When the workload was last started: peer leases for heartbeats sent before do not count. */
  private runStartedAt = NEVER;
  private restarts = 0;
  private restartAt = NEVER;
  /** The workload exited by itself while this node held the group: run it again, under a new epoch. */
  private restartWanted = false;
  private acquireIsRestart = false;
  /** Why the witness refused this node's epoch, once it has; the stop reports it. */
  private supersededBecause: string | undefined;
  private ineligibleUntil = NEVER;

  private acquireSentAt: number | undefined;
  private releaseInFlight = false;
  private releaseRetryAt = NEVER;
  private refusedUntil = NEVER;

  /** Promises made with the peer leases this node granted (design §4.3). */
  private promiseUntil = NEVER;
  private promisedEpoch = 0n;
  /** A restarted sidecar forgot its promises: it asks nothing for one peer lease. */
  private readonly quietUntil: number;

  private lastPeerHeard = NEVER;
  private readonly startedAt: number;
  private lastWitnessHeard = NEVER;
  private peer: PeerState | undefined;
  private peerActiveSince = NEVER;
  private lastDecision = 'starting';

  constructor(
    private readonly settings: SidecarSettings,
    now: number,
    /** Highest epoch this node knew before (persisted by the shell, if it can); 0n otherwise. */
    knownEpoch = 0n,
  ) {
    this.knownEpoch = knownEpoch;
    this.quietUntil = grantorHoldEnd(now, settings.peerLeaseMs, settings.bounds);
    this.startedAt = now;
  }

  // ---- what the node says -------------------------------------------------------------------

  /** The heartbeat to send the witness now; `heldEpoch` 0n unless the workload may be running. */
  witnessHeartbeat(): { heldEpoch: bigint; knownEpoch: bigint; leaseMs: number } {
    return {
      heldEpoch: this.mayBeRunning() ? this.epoch : 0n,
      knownEpoch: this.knownEpoch,
      leaseMs: this.settings.leaseMs,
    };
  }

  /** The node's state, sent to the peer in heartbeats and in answers to the peer's heartbeats. */
  peerState(now: number): PeerState {
    return {
      node: this.settings.node,
      role: this.settings.role,
      workload: this.workload,
      epoch: this.epoch,
      knownEpoch: this.knownEpoch,
      acquiring: this.acquiring(now),
      eligible: now >= this.ineligibleUntil,
      handbackRequested: this.wantsHandback(now),
    };
  }

  // ---- what the node hears ------------------------------------------------------------------

  /** The peer's heartbeat: note its state, and grant it a peer lease when that is safe. */
  onPeerHeartbeat(state: PeerState, now: number): PeerReply {
    this.hearPeer(state, now);
    const grant = this.mayGrantPeerLease(state, now);
    if (grant) {
      // SAFETY 3: the promise outlasts the lease the peer counts from its send time.
      this.promiseUntil = Math.max(
        this.promiseUntil,
        grantorHoldEnd(now, this.settings.peerLeaseMs, this.settings.bounds),
      );
      this.promisedEpoch = maxEpoch(this.promisedEpoch, state.epoch);
    }
    return {
      state: this.peerState(now),
      leaseMs: grant ? this.settings.peerLeaseMs : 0,
      leaseForEpoch: grant ? state.epoch : 0n,
    };
  }

  /** The peer's answer to the heartbeat this node sent at `sentAt` under `sentEpoch`. */
  onPeerReply(sentAt: number, sentEpoch: bigint, reply: PeerReply, now: number): void {
    this.hearPeer(reply.state, now);
    // SAFETY 2: only a lease for this run's epoch, asked for during this run, keeps it running.
    if (
      reply.leaseMs > 0 &&
      this.mayBeRunning() &&
      reply.leaseForEpoch === this.epoch &&
      sentEpoch === this.epoch &&
      sentAt >= this.runStartedAt
    ) {
      this.peerLeaseUntil = Math.max(this.peerLeaseUntil, holderLeaseEnd(sentAt, reply.leaseMs, this.settings.bounds));
    }
  }

  /** The witness answered a heartbeat sent at `sentAt` carrying `heldEpoch`. */
  onWitnessHeartbeatAnswer(sentAt: number, heldEpoch: bigint, answer: WitnessAnswer, now: number): void {
    this.hearWitness(answer, now);
    if (heldEpoch === 0n || heldEpoch !== this.epoch) return;
    // A renewal answered after the workload stopped extends nothing: nothing may run on it.
    if (answer.verdict === 'renewed' && !this.mayBeRunning()) return;
    if (answer.verdict === 'renewed' && answer.holder === this.settings.node && answer.epoch === heldEpoch) {
      this.witnessLeaseUntil = Math.max(
        this.witnessLeaseUntil,
        holderLeaseEnd(sentAt, answer.leaseMs, this.settings.bounds),
      );
    } else if (answer.verdict === 'refused') {
      // Superseded: another epoch exists. Stop at once (decide() sees the leases gone).
      this.witnessLeaseUntil = NEVER;
      this.peerLeaseUntil = NEVER;
      this.holding = false;
      this.restartWanted = false;
      this.supersededBecause = `the witness refused epoch ${heldEpoch}: superseded (holder ${answer.holder || 'none'}, epoch ${answer.epoch})`;
    }
  }

  /** The witness answered the Acquire sent at `sentAt`; `undefined` when the call failed. */
  onAcquireAnswer(sentAt: number, answer: WitnessAnswer | undefined, now: number): void {
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
    if (this.workload !== 'stopped') return; // cannot happen: a running node does not acquire
    this.epoch = answer.epoch;
    this.holding = true;
    if (!this.acquireIsRestart) this.restarts = 0;
    this.restartWanted = false;
    this.supersededBecause = undefined;
    this.witnessLeaseUntil = leaseUntil;
    this.peerLeaseUntil = NEVER;
    this.startRequested = true;
  }

  onReleaseAnswer(epoch: bigint, answer: WitnessAnswer | undefined, now: number): void {
    this.releaseInFlight = false;
    if (answer === undefined) {
      // A witness that refuses connections fails at once: ask again next heartbeat, not in a loop.
      this.releaseRetryAt = now + this.settings.heartbeatMs;
      return;
    }
    this.hearWitness(answer, now);
    if (epoch === this.epoch) this.holding = false;
  }

  /** The supervisor's report: the workload runs, has stopped, or exited by itself. */
  onWorkload(phase: 'running' | 'stopped', now: number, exitedByItself = false): void {
    // A 'running' report that crosses a stop must not undo it.
    if (phase === 'running' && this.workload !== 'starting') return;
    const wasRunning = this.workload === 'running' || this.workload === 'starting';
    this.workload = phase;
    if (phase === 'stopped') {
      this.peerLeaseUntil = NEVER;
      if (exitedByItself && wasRunning) {
        // Back off before any restart, also in simple mode: a command that fails at once must
        // not be respawned in a tight loop.
        this.restarts += 1;
        this.restartAt = now + this.settings.restartBackoffMs * 2 ** Math.min(this.restarts - 1, 6);
        if (this.holding && this.restarts <= this.settings.maxRestarts) {
          this.restartWanted = true;
        } else if (this.holding) {
          this.ineligibleUntil = now + this.settings.failureCooldownMs;
          this.lastDecision = `workload exited ${this.restarts} times: giving the group up`;
        }
      }
    }
  }

  // ---- what the node does -------------------------------------------------------------------

  private startRequested = false;

  decide(now: number): Action[] {
    if (this.settings.mode === 'simple') return this.decideSimple(now);
    if (this.mayBeRunning()) return this.decideActive(now);
    if (this.workload === 'stopping') return [];
    return this.decideStopped(now);
  }

  private decideActive(now: number): Action[] {
    if (this.workload === 'stopping') return [];
    if (this.supersededBecause !== undefined) return [this.stop(this.supersededBecause)];
    // SAFETY 1: a side counts as up only while its lease outlasts the stop budget, so the table's
    // "stop" comes early enough for SIGTERM, the grace and SIGKILL to finish before the deadline.
    const budget = stopBudget(this.settings);
    const row = lookup(
      ACTIVE_TABLE,
      this.link(this.peerLeaseUntil - budget, now),
      this.link(this.witnessLeaseUntil - budget, now),
    );
    if (row.action === 'stop') return [this.stop(row.why)];
    if (this.handbackAsked()) return [this.stop('the preferred primary asks for the group back (auto fail-back)')];
    if (this.peer?.workload === 'running' && this.peer.epoch > this.epoch) {
      return [this.stop(`the peer runs under a newer epoch ${this.peer.epoch}`)];
    }
    return [];
  }

  private decideStopped(now: number): Action[] {
    if (this.startRequested) {
      this.startRequested = false;
      if (now < Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings)) {
        return [this.start(`granted epoch ${this.epoch} by the witness`, now)];
      }
      // Hand it back now: unrenewed, the witness would keep refusing the peer for a lease more.
      this.releaseInFlight = true;
      return [{ kind: 'release', epoch: this.epoch, why: `grant of epoch ${this.epoch} arrived too late to use` }];
    }
    // Our own lease ran out: the witness's hold on our behalf runs out by itself, unrenewed.
    if (this.holding && now >= this.witnessLeaseUntil && !this.releaseInFlight) {
      this.holding = false;
      this.restartWanted = false;
    }
    if (this.restartWanted) {
      // Every run gets its own epoch (S2): the holder asks the witness again, which grants the
      // current holder a new epoch at once.
      if (now < this.restartAt || this.acquiring(now) || now < this.refusedUntil) return [];
      this.acquireSentAt = now;
      this.acquireIsRestart = true;
      return [
        { kind: 'acquire', why: `restart ${this.restarts} of ${this.settings.maxRestarts} after the workload exited` },
      ];
    }
    if (this.holding) {
      if (this.releaseInFlight || now < this.releaseRetryAt) return [];
      this.releaseInFlight = true;
      return [{ kind: 'release', epoch: this.epoch, why: 'the workload has stopped: hand the group back' }];
    }
    if (this.shouldAcquire(now)) {
      this.acquireSentAt = now;
      this.acquireIsRestart = false;
      return [{ kind: 'acquire', why: this.lastDecision }];
    }
    return [];
  }

  /** The standby's table, with the preferred primary's start and hand-back on top. */
  private shouldAcquire(now: number): boolean {
    if (this.acquiring(now) || now < this.refusedUntil || now < this.ineligibleUntil) return false;
    // SAFETY 3: never while a promise made to the peer may still stand.
    if (now < this.promiseUntil || now < this.quietUntil) return false;
    const peerUp = this.peerHeardWithinTimeout(now);
    const witnessUp = now - this.lastWitnessHeard < this.settings.timeoutMs;
    if (!peerUp) {
      const row = lookup(STANDBY_TABLE, 'down', witnessUp ? 'up' : 'down');
      this.lastDecision = row.why;
      return row.action === 'ask-witness';
    }
    const peer = this.peer;
    if (peer === undefined || !witnessUp) return false;
    if (peer.workload !== 'stopped') return false; // the peer runs, starts or stops: stay stopped
    // Both up and both stopped: the preferred primary takes the group; the secondary only when
    // the primary cannot (it gave the group up after repeated workload failures).
    if (this.settings.role === 'primary') {
      this.lastDecision = 'both nodes are up and stopped: the preferred primary takes the group';
      return true;
    }
    if (!peer.eligible && !peer.acquiring) {
      this.lastDecision = 'the primary gave the group up after repeated workload failures';
      return true;
    }
    return false;
  }

  private decideSimple(now: number): Action[] {
    const peerUp = this.peerHeardWithinTimeout(now);
    const run = this.settings.role === 'primary' || !peerUp;
    const why =
      this.settings.role === 'primary'
        ? SIMPLE_TABLE.primary.why
        : peerUp
          ? SIMPLE_TABLE.secondaryPeerUp.why
          : SIMPLE_TABLE.secondaryPeerDown.why;
    if (run && this.workload === 'stopped' && now >= this.restartAt) {
      // No witness hands out epochs in simple mode: the node counts above all it has seen.
      this.epoch = maxEpoch(this.epoch, this.knownEpoch) + 1n;
      this.knownEpoch = this.epoch;
      return [this.start(why, now)];
    }
    if (!run && (this.workload === 'running' || this.workload === 'starting')) return [this.stop(why)];
    return [];
  }

  // ---- helpers --------------------------------------------------------------------------------

  private start(why: string, now: number): Action {
    this.workload = 'starting';
    this.runStartedAt = now;
    this.peerLeaseUntil = NEVER;
    this.lastDecision = why;
    return { kind: 'start', epoch: this.epoch, why };
  }

  private stop(why: string): Action {
    this.workload = 'stopping';
    this.lastDecision = why;
    return { kind: 'stop', why };
  }

  private mayBeRunning(): boolean {
    return this.workload === 'starting' || this.workload === 'running';
  }

  private acquiring(now: number): boolean {
    if (this.acquireSentAt === undefined) return false;
    // SAFETY 4: a grant for this request could not be used after this point, answered or not.
    if (now >= holderLeaseEnd(this.acquireSentAt, this.settings.leaseMs, this.settings.bounds)) {
      this.acquireSentAt = undefined;
      return false;
    }
    return true;
  }

  private mayGrantPeerLease(peer: PeerState, now: number): boolean {
    const peerRuns = (peer.workload === 'running' || peer.workload === 'starting') && peer.epoch > 0n;
    return peerRuns && this.workload === 'stopped' && !this.holding && !this.acquiring(now) && !this.startRequested;
  }

  private hearPeer(state: PeerState, now: number): void {
    this.lastPeerHeard = now;
    this.knownEpoch = maxEpoch(this.knownEpoch, maxEpoch(state.epoch, state.knownEpoch));
    // A peer that says it has stopped dropped every peer lease up to its epoch: forget the promises.
    if (state.workload === 'stopped' && state.epoch >= this.promisedEpoch) this.promiseUntil = NEVER;
    const runsNow = state.workload === 'running';
    if (runsNow && this.peer?.workload !== 'running') this.peerActiveSince = now;
    if (!runsNow) this.peerActiveSince = NEVER;
    this.peer = state;
  }

  /** Silence is counted from this node's own start: a peer not heard yet is not yet "gone". */
  private peerHeardWithinTimeout(now: number): boolean {
    return now - Math.max(this.lastPeerHeard, this.startedAt) < this.settings.timeoutMs;
  }

  private hearWitness(answer: WitnessAnswer, now: number): void {
    this.lastWitnessHeard = now;
    this.knownEpoch = maxEpoch(this.knownEpoch, answer.epoch);
  }

  private link(leaseUntil: number, now: number): Link {
    return now < leaseUntil ? 'up' : 'down';
  }

  /** The preferred primary, standing by while the secondary runs, asks for the group back. */
  private wantsHandback(now: number): boolean {
    return (
      this.settings.role === 'primary' &&
      this.settings.failback === 'auto' &&
      this.workload === 'stopped' &&
      now >= this.ineligibleUntil &&
      now - this.lastWitnessHeard < this.settings.timeoutMs &&
      this.peerActiveSince !== NEVER &&
      now - this.peerActiveSince >= this.settings.failbackDelayMs
    );
  }

  private handbackAsked(): boolean {
    return (
      this.settings.role === 'secondary' &&
      this.settings.failback === 'auto' &&
      this.peer?.role === 'primary' &&
      this.peer.handbackRequested &&
      this.peer.workload === 'stopped'
    );
  }

  view(now: number): SidecarView {
    const running = this.mayBeRunning();
    return {
      workload: this.workload,
      epoch: this.epoch,
      knownEpoch: this.knownEpoch,
      holding: this.holding,
      peerUp: now - this.lastPeerHeard < this.settings.timeoutMs,
      witnessUp: now - this.lastWitnessHeard < this.settings.timeoutMs,
      msUntilStop: running
        ? remainingMs(Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings), now)
        : 0,
      witnessLeaseMs: running ? remainingMs(this.witnessLeaseUntil, now) : 0,
      peerLeaseMs: running ? remainingMs(this.peerLeaseUntil, now) : 0,
      lastDecision: this.lastDecision,
    };
  }

  /** PROVISIONAL (replaced by the rule-list core): the earliest time > now when decide() may act differently. */
  nextWakeAt(now: number): number {
    const candidates = [
      this.mayBeRunning() ? this.stopDeadline() : Number.POSITIVE_INFINITY,
      this.refusedUntil,
      this.restartAt,
      this.releaseRetryAt,
      this.quietUntil,
      this.promiseUntil,
      this.ineligibleUntil,
      this.witnessLeaseUntil,
      this.acquireSentAt === undefined
        ? Number.POSITIVE_INFINITY
        : holderLeaseEnd(this.acquireSentAt, this.settings.leaseMs, this.settings.bounds),
    ];
    let next = Number.POSITIVE_INFINITY;
    for (const at of candidates) if (at > now && at < next) next = at;
    return next;
  }

  /** When the watchdog must start stopping the workload if the sidecar says nothing more. */
  stopDeadline(): number {
    // Simple mode has no leases: nothing bounds the run but the table itself.
    if (this.settings.mode === 'simple') return Number.POSITIVE_INFINITY;
    return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings);
  }
}
