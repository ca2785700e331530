/**
 * One SidecarCore alone, driven by hand against a real Arbiter: a unit test of the core's
 * decisions with its own timing, no shell in between. The test is the shell here, so it calls
 * the core's inputs and decide() itself.
 */
import { expect } from 'chai';
import type { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import type { SidecarSettings, WitnessAnswer } from '../../src/core/sidecar/types';
import type { Arbiter } from '../../src/core/witness/arbiter';
import { InstantWriteArbiter } from './instant-write-arbiter';
import { arbiterConfig, GEN, GROUP, kinds, type NodeId, toCore } from './sidecar-test-settings';

export class Manual {
  readonly arbiter: Arbiter;
  constructor(
    readonly s: SidecarSettings,
    arbiterStart = -10_000,
  ) {
    this.arbiter = new InstantWriteArbiter(arbiterConfig(s), { now: arbiterStart, generation: GEN, records: [] });
  }

  heartbeat(core: SidecarCore, node: NodeId, sentAt: number, answeredAt = sentAt): WitnessAnswer {
    const hb = core.witnessHeartbeat();
    const role = node === 'p' ? 'primary' : 'secondary';
    const answer = toCore(
      this.arbiter.heartbeat(
        { group: GROUP, node, role, heldEpoch: hb.heldEpoch, knownEpoch: hb.knownEpoch, leaseMs: hb.leaseMs },
        sentAt,
      ).answer,
    );
    core.onWitnessHeartbeatAnswer(sentAt, hb.heldEpoch, answer, answeredAt);
    return answer;
  }

  acquire(core: SidecarCore, node: NodeId, sentAt: number): WitnessAnswer {
    return toCore(
      this.arbiter.acquire(
        { group: GROUP, node, knownEpoch: core.view(sentAt).knownEpoch, leaseMs: this.s.leaseMs },
        sentAt,
      ).answer,
    );
  }

  /** Brings `core` (node `node`) to running under a fresh grant at `t`; returns the epoch. */
  runAt(core: SidecarCore, node: NodeId, t: number): bigint {
    this.heartbeat(core, node, t);
    expect(kinds(core.decide(t))).to.deep.equal(['acquire']);
    const answer = this.acquire(core, node, t);
    expect(answer.verdict).to.equal('granted');
    core.onAcquireAnswer(t, answer, t);
    const actions = core.decide(t);
    expect(kinds(actions)).to.deep.equal(['start']);
    core.onWorkload('running', t);
    return answer.epoch;
  }
}
