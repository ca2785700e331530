/**
 * What one witness process's Arbiter had heard each node say it runs under (the held epoch of a
 * heartbeat it decided) when it decided each grant: the self-superseded check (L2) excuses a cold
 * run superseded by a grant only if the Arbiter had not heard of that run yet. Watched at the
 * Arbiter itself, so that the order is the order of its decisions.
 */
import type { Arbiter } from '../core/witness/arbiter';

export class RunsHeard {
  /** Per node: the highest held epoch of a heartbeat the Arbiter decided. */
  private readonly heard = new Map<string, bigint>();
  /** Per epoch granted: what its node had been heard running under before. */
  private readonly beforeGrant = new Map<bigint, bigint>();

  /** Watches `arbiter` (a new process's: it remembers nothing of what the one before it heard). */
  constructor(arbiter: Arbiter) {
    const heartbeat = arbiter.heartbeat.bind(arbiter);
    const acquire = arbiter.acquire.bind(arbiter);
    arbiter.heartbeat = (input, now) => {
      const decision = heartbeat(input, now);
      if (input.heldEpoch > (this.heard.get(input.node) ?? 0n)) this.heard.set(input.node, input.heldEpoch);
      return decision;
    };
    arbiter.acquire = (input, now) => {
      const heardBefore = this.heard.get(input.node) ?? 0n;
      const decision = acquire(input, now);
      if (decision.answer.verdict === 'granted') this.beforeGrant.set(decision.answer.epoch, heardBefore);
      return decision;
    };
  }

  /** The highest epoch the grantee of `epoch` had been heard running under when it was granted. */
  heardBeforeGrant(epoch: bigint): bigint {
    return this.beforeGrant.get(epoch) ?? 0n;
  }
}
