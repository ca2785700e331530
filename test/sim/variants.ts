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
