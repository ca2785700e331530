/**
 * Deliberately broken variants of the cores (through hooks) and of the production shells (through
 * a patched copy of the build), for the simulator's own tests only: a simulator that cannot fail
 * proves nothing. Each must be caught within a bounded number of schedules
 * (test/sim/broken-variants.test.ts). Replay a hook variant's schedule with
 *   npm run sim -- --replay 0xSEED --hooks dist/test/sim/variants.js --variant NAME
 */
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import type { PeerReply, WitnessAnswer } from '../../src/core/sidecar/types';
import type { SimHooks } from '../../src/sim/hooks';
import type { Patch } from '../support/patched-build';

/** A broken core comes in through hooks; a broken shell (runtime, service) through patched code. */
export interface Variant {
  readonly description: string;
  readonly hooks?: SimHooks;
  readonly patches?: readonly Patch[];
}

/** (b) The active node keeps running on an expired peer lease: once granted, it never runs out. */
const HOUR_MS = 3_600_000;

export class RunsOnExpiredPeerLease extends SidecarCore {
  override onPeerReply(sentAt: number, reply: PeerReply, now: number): void {
    super.onPeerReply(sentAt, reply, now);
    // An hour on, not forever: the core asserts a finite stop deadline, and S1 is what must see this.
    const self = this as unknown as { peerLeaseUntil: number };
    if (self.peerLeaseUntil > Number.NEGATIVE_INFINITY)
      self.peerLeaseUntil = Math.max(self.peerLeaseUntil, now + HOUR_MS);
  }
}

/** A core that does not hear a SIGTERM: its workload runs on until the hand-over limit. */
export class IgnoresSigterm extends SidecarCore {
  override leave(): void {
    // Nothing: the planned stop is not heard.
  }
}

/** (c) A running node told by the witness that its epoch is superseded runs on, on its leases. */
export class IgnoresWitnessRefusal extends SidecarCore {
  override onWitnessHeartbeatAnswer(sentAt: number, heldEpoch: bigint, answer: WitnessAnswer, now: number): void {
    if (answer.verdict === 'refused') return;
    super.onWitnessHeartbeatAnswer(sentAt, heldEpoch, answer, now);
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
    hooks: { createSidecar: (settings, now, recorded) => new RunsOnExpiredPeerLease(settings, now, recorded) },
  },
  'ignores-sigterm': {
    description: 'the sidecar core ignores a SIGTERM: no hand-over, the workload runs on until the hand-over limit',
    hooks: { createSidecar: (settings, now, recorded) => new IgnoresSigterm(settings, now, recorded) },
  },
  'ignores-witness-refusal': {
    description: 'a running node ignores the witness refusing its epoch (superseded): it runs on to its deadline',
    hooks: { createSidecar: (settings, now, recorded) => new IgnoresWitnessRefusal(settings, now, recorded) },
  },
  'answer-before-persist': {
    description:
      'the witness service answers a durable decision before its write settles, and rolls it back when the write fails',
    patches: [
      {
        file: 'src/witness/arbitration-service.js',
        find: 'this.busy.set(group, []);\n        this.parts.store.write(decision, (error) => {',
        replace:
          'this.busy.set(group, []);\n        reply({ ok: true, answer });\n        this.parts.store.write(decision, (error) => {',
      },
    ],
  },
  'replica-decides-past-election-lease': {
    description:
      'a witness replica over etcd decides with no bound from its election lease (it keeps renewing after etcd let its lease go)',
    patches: [
      {
        file: 'src/core/lease.js',
        find: 'return sentAt + (ttlMs * (1 - bounds.rho)) / (1 + bounds.rho) - bounds.marginMs;',
        replace: 'return Infinity;',
      },
    ],
  },
  'runtime-never-wakes': {
    description: 'the sidecar runtime arms no wake-up timer: it decides only at heartbeats and on inputs',
    patches: [
      {
        file: 'src/sidecar/sidecar-runtime.js',
        find: 'if (!Number.isFinite(at))\n            return;',
        replace: 'if (at === at)\n            return;',
      },
    ],
  },
  'runtime-feeds-watchdog-late': {
    description: "the sidecar runtime feeds the watchdog a heartbeat past the core's stop deadline",
    patches: [
      {
        file: 'src/sidecar/sidecar-runtime.js',
        find: "view.workload === 'starting')\n            this.parts.workload.feed(this.core.stopDeadline());",
        replace:
          "view.workload === 'starting')\n            this.parts.workload.feed(this.core.stopDeadline() + this.settings.heartbeatMs);",
      },
    ],
  },
};
