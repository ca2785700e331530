/**
 * The cold start with the witness down (design §10.2): the primary's proposal, the secondary's
 * peer lease that vouches for it, and the epoch record on disk that both rest on.
 */
import { assert } from '../assert';
import { maxEpoch } from '../epoch';
import { FailbackAndHandOver } from './failback-and-hand-over';
import { NEVER } from './sidecar-memory';
import type { PeerState } from './types';

export abstract class ColdStart extends FailbackAndHandOver {
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
}
