/**
 * The peer-facing part of the sidecar core: the state it tells its peer, and how the peer's
 * heartbeats and replies change what it knows, the peer leases and the promises behind them
 * (SAFETY 2 and 3, design §4.3).
 */
import { assert } from '../assert';
import { maxEpoch } from '../epoch';
import { grantorHoldEnd, holderLeaseEnd } from '../lease';
import { ColdStart } from './cold-start';
import { NEVER } from './sidecar-memory';
import type { PeerReply, PeerState } from './types';

export abstract class PeerSide extends ColdStart {
  /** How many states this process has said to its peer: each one is numbered (design §9.5). */
  private statements = 0n;

  /** The node's state, sent to the peer in heartbeats and in answers to the peer's heartbeats. */
  peerState(now: number): PeerState {
    this.statements += 1n;
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
      incarnation: this.settings.incarnation ?? 0n,
      statement: this.statements,
    };
  }

  /** The peer's heartbeat: note its state, and grant it a peer lease when that is safe. */
  onPeerHeartbeat(state: PeerState, now: number): PeerReply {
    this.hearPeer(state, now);
    // A proposal above all this node knows is taken as known, to be recorded before it is vouched
    // for; only by a node that could vouch for it (stopped, holding nothing). A running node tells
    // the witness the epochs it knows, and a proposal among them would have its own run refused
    // (design §6.2); the proposer repeats it, so a node that stops later still hears it.
    const couldVouch = this.workload === 'stopped' && !this.holding;
    if (couldVouch && state.coldStartEpoch > this.knownEpoch && state.coldStartEpoch > this.coldStartHeard) {
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

  protected hearPeer(state: PeerState, now: number): void {
    this.lastPeerHeard = now;
    this.knownEpoch = maxEpoch(this.knownEpoch, maxEpoch(state.epoch, state.knownEpoch));
    if (this.peer !== undefined && saidBefore(state, this.peer)) return;
    // A peer that says it has stopped dropped every peer lease up to its epoch: forget the promises.
    if (state.workload === 'stopped' && state.epoch >= this.promisedEpoch) this.promiseUntil = NEVER;
    const runsNow = state.workload === 'running';
    if (runsNow && this.peer?.workload !== 'running') this.peerActiveSince = now;
    // The peer runs under a newer epoch: a switchover's hand-over is done, this node a standby.
    if (runsNow && state.epoch > this.epoch) this.handOverWaitUntil = NEVER;
    if (!runsNow) this.peerActiveSince = NEVER;
    this.peer = state;
  }

  /**
   * SAFETY 3: a node that holds the group (a starting or running one always does, and so does one
   * with a grant in hand: the grant and the decide that starts on it are one turn) grants nothing.
   * A superseded node still stopping may: the peer it grants to holds the newer epoch, and the
   * promise keeps this node from asking the witness until it ends, as for any stopped node.
   */
  protected mayGrantPeerLease(peer: PeerState, now: number): boolean {
    this.assertRunHeld();
    const peerRuns = peer.workload === 'running' || peer.workload === 'starting';
    // Every run has an epoch (§5.5; simple mode counts its own): the wire refuses a state without.
    assert(!peerRuns || peer.epoch > 0n, () => `peer ${peer.node} says it ${peer.workload} under no epoch`);
    return peerRuns && !this.holding && !this.acquiring(now);
  }
}

/**
 * `state` was said before `than` (design §9.5): by an earlier process of the peer, or earlier by
 * the same one. A reply and a heartbeat travel on different connections, so the older can arrive
 * last; taken, it would undo what the peer said since (a hand-over, a stop that is over). States
 * of an older sidecar, which numbers none, are taken in the order they arrive.
 */
function saidBefore(state: PeerState, than: PeerState): boolean {
  if (state.incarnation === 0n || than.incarnation === 0n) return false;
  if (state.incarnation !== than.incarnation) return state.incarnation < than.incarnation;
  return state.statement < than.statement;
}
