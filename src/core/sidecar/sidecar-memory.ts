/**
 * What a sidecar core knows: its epoch, leases, promises, timers and what it last heard, and the
 * few readings of it that every part of the core uses. How each input changes it is in the
 * classes that extend this one, a concept each (SAFETY 2 to 4 live there): witness-side.ts,
 * failback-and-hand-over.ts, cold-start.ts, peer-side.ts, then sidecar-state.ts. The decisions are
 * in sidecar-core.ts, which extends the last; nothing else should extend any of them.
 */
import { assert } from '../assert';
import { grantorHoldEnd } from '../lease';
import { stopBudget } from './timing';
import type { EpochRecordAtStart, Failback, PeerState, SidecarSettings, WorkloadPhase } from './types';

export const NEVER = Number.NEGATIVE_INFINITY;

export abstract class SidecarMemory {
  protected workload: WorkloadPhase = 'stopped';
  /** Epoch of the current (or last) tenure; 0n before the first. */
  protected epoch = 0n;
  protected knownEpoch = 0n;
  /** The witness may still record this node as holder of `epoch`: release it once stopped. */
  protected holding = false;
  protected witnessLeaseUntil = NEVER;
  /** The witness lease of the latest grant or renewal (the witness may cap what was asked). */
  protected witnessLeaseMs: number;
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

  protected mayBeRunning(): boolean {
    return this.workload === 'starting' || this.workload === 'running';
  }

  /** When the watchdog must start stopping the workload if the sidecar says nothing more. */
  stopDeadline(): number {
    // Simple mode has no leases: nothing bounds the run but the table itself.
    if (this.settings.mode === 'simple') return Number.POSITIVE_INFINITY;
    return Math.max(this.witnessLeaseUntil, this.peerLeaseUntil) - stopBudget(this.settings);
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
   * A standard-mode run is held from its grant to its stop: the refusal that ends the holding is
   * decided on (the run stopped) in the same turn, since the shell decides after every input.
   */
  protected assertRunHeld(): void {
    if (this.settings.mode === 'simple' || !this.mayBeRunning()) return;
    assert(this.holding, 'a starting or running workload is held');
  }

  /** Silence is counted from this node's own start: a peer not heard yet is not yet "gone". */
  protected peerHeardWithinTimeout(now: number): boolean {
    return now - Math.max(this.lastPeerHeard, this.startedAt) < this.settings.timeoutMs;
  }
}
