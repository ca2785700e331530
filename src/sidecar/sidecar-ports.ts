/**
 * What the sidecar runtime needs from the world, as small interfaces: a monotonic clock, timers,
 * the link to the witness, the link to the peer, the workload and a health flag. The sidecar
 * process plugs in real sockets and node timers (sidecar-host.ts); the simulator plugs in its
 * virtual time and network, so both run the same runtime.
 */
import type { AcquireFailure, EpochRecordAtStart, PeerReply, PeerState, WitnessAnswer } from '../core/sidecar/types';
import type { SyncReport } from '../core/witness/types';

export interface Clock {
  /** Milliseconds on this process's monotonic clock. */
  now(): number;
}

export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Runs `fire` once, no earlier than `delayMs` from now on the runtime's clock. */
  after(delayMs: number, fire: () => void): TimerHandle;
}

/** `undefined`: the call failed (no answer, deadline passed, connection refused, bad answer). */
export type WitnessReply = (answer: WitnessAnswer | undefined) => void;

export interface WitnessTransport {
  /** The endpoint in use, for the status call. */
  readonly endpoint: string;
  /** `sync`: how fresh this node's copy is (design §21.1); absent without --sync-cmd. */
  renew(heldEpoch: bigint, knownEpoch: bigint, leaseMs: number, done: WitnessReply, sync?: SyncReport): void;
  /**
   * `failure`, with no answer: how the call failed (a timed-out or failed one may hide a grant).
   * `sync`: as for renew; the freshness gate judges the Acquire by it (design §21.4).
   */
  acquire(
    knownEpoch: bigint,
    leaseMs: number,
    deadlineMs: number,
    done: (answer: WitnessAnswer | undefined, failure: AcquireFailure) => void,
    sync?: SyncReport,
  ): void;
  release(epoch: bigint, knownEpoch: bigint, done: WitnessReply): void;
  close(): void;
}

export interface PeerTransport {
  heartbeat(state: PeerState, done: (reply: PeerReply | undefined) => void): void;
  close(): void;
}

/** --state-dir's epoch record (design §10.2): what it held at start, and durable writes of a higher epoch. */
export interface EpochRecord {
  readonly atStart: EpochRecordAtStart;
  /** Writes `epoch` durably (written, synced, renamed into place); `done(false)` when that failed. */
  write(epoch: bigint, done: (ok: boolean) => void): void;
}

export interface HealthFlag {
  /** Readiness: SERVING or NOT_SERVING. */
  setServing(serving: boolean): void;
}
