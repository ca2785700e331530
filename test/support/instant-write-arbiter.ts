/**
 * The witness Arbiter as a shell whose every store write lands at once: each durable decision is
 * committed before the answer is returned. For tests about decisions, not about writes (those
 * drive `commit` and `abort` themselves).
 */
import { Arbiter } from '../../src/core/witness/arbiter';
import type { AcquireInput, Decision, HeartbeatInput, OperatorInput, ReleaseInput } from '../../src/core/witness/types';

export class InstantWriteArbiter extends Arbiter {
  override heartbeat(input: HeartbeatInput, now: number): Decision {
    return this.landed(super.heartbeat(input, now));
  }

  override acquire(input: AcquireInput, now: number): Decision {
    return this.landed(super.acquire(input, now));
  }

  override release(input: ReleaseInput, now: number): Decision {
    return this.landed(super.release(input, now));
  }

  override operate(input: OperatorInput, now: number): Decision {
    return this.landed(super.operate(input, now));
  }

  private landed(decision: Decision): Decision {
    if (decision.persist !== undefined) this.commit(decision.persist.record.group);
    return decision;
  }
}
