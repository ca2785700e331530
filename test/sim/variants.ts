/**
 * Deliberately broken variants of the cores and of the witness shell, for the simulator's own
 * tests only: a simulator that cannot fail proves nothing. Each must be caught within a bounded
 * number of schedules (test/sim/broken-variants.test.ts). Replay one of their schedules with
 *   npm run sim -- --replay 0xSEED --hooks dist/test/sim/variants.js --variant NAME
 */
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import type { PeerReply } from '../../src/core/sidecar/types';
import type { SimHooks } from '../../src/sim/hooks';

export interface Variant {
  readonly description: string;
  readonly hooks: SimHooks;
}

/** (b) The active node keeps running on an expired peer lease: once granted, it never runs out. */
export class RunsOnExpiredPeerLease extends SidecarCore {
  override onPeerReply(sentAt: number, sentEpoch: bigint, reply: PeerReply, now: number): void {
    super.onPeerReply(sentAt, sentEpoch, reply, now);
    const self = this as unknown as { peerLeaseUntil: number };
    if (self.peerLeaseUntil > Number.NEGATIVE_INFINITY) self.peerLeaseUntil = Number.POSITIVE_INFINITY;
  }
}

export const VARIANTS: Record<string, Variant> = {
  'witness-no-drift-margin': {
    description: 'the witness holds leases without the drift margin (rho 0, margin 0) while the clocks drift',
    hooks: { arbiterConfig: (drawn) => ({ ...drawn, bounds: { rho: 0, marginMs: 0 } }) },
  },
  'runs-on-expired-peer-lease': {
    description:
      'the active node ignores the expiry of its peer lease (its stop deadline and decide never see it run out)',
    hooks: { createSidecar: (settings, now) => new RunsOnExpiredPeerLease(settings, now) },
  },
  'answer-before-persist': {
    description: 'the witness shell sends a grant before it is durable; a crash then loses the write',
    hooks: { answerBeforePersist: true },
  },
};

/**
 * Not broken: the fix proposed for the S1 found in the production SidecarCore (a workload restart
 * under the old epoch after a deadline stop, while the Release of that epoch is in flight and a
 * late renewal answer has re-extended the lease). Restart only after the workload exited by itself,
 * never while a Release is in flight; a renewal answer extends the lease only while the workload may
 * run or a restart is pending. Kept here to show the simulator passes once it is applied.
 */
export class RestartFixedCore extends SidecarCore {
  private restartPending = false;

  override onWorkload(phase: 'running' | 'stopped', now: number, exitedByItself = false): void {
    const self = this as unknown as { workload: string; holding: boolean };
    const wasRunning = self.workload === 'running' || self.workload === 'starting';
    const holding = self.holding;
    super.onWorkload(phase, now, exitedByItself);
    this.restartPending = phase === 'stopped' && exitedByItself && wasRunning && holding;
  }

  override onWitnessHeartbeatAnswer(
    sentAt: number,
    heldEpoch: bigint,
    answer: import('../../src/core/sidecar/types').WitnessAnswer,
    now: number,
  ): void {
    const self = this as unknown as { workload: string };
    const mayRun = self.workload === 'running' || self.workload === 'starting';
    if (!mayRun && !this.restartPending && answer.verdict === 'renewed') {
      super.onWitnessHeartbeatAnswer(sentAt, 0n, answer, now);
      return;
    }
    super.onWitnessHeartbeatAnswer(sentAt, heldEpoch, answer, now);
  }

  override decide(now: number): import('../../src/core/sidecar/types').Action[] {
    const self = this as unknown as { releaseInFlight: boolean; restarts: number };
    if (!this.restartPending || self.releaseInFlight) {
      // Hide the restart branch: with no restart pending, decideStopped must not take it.
      const restarts = self.restarts;
      self.restarts = 0;
      const actions = super.decide(now);
      if (self.restarts === 0) self.restarts = restarts;
      return actions;
    }
    const actions = super.decide(now);
    if (actions.some((a) => a.kind === 'start' || a.kind === 'release')) this.restartPending = false;
    return actions;
  }
}

VARIANTS['fix-restart'] = {
  description: 'NOT broken: the production core with the proposed fix for the restart-after-release S1',
  hooks: { createSidecar: (settings, now) => new RestartFixedCore(settings, now) },
};
