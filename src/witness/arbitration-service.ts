/**
 * Runs the pure Arbiter against the store: a decision that changes durable state is written
 * (fsync) before its answer is released; every arbitration event is logged with group, node and
 * epoch and sent to Admin.Watch subscribers. Renewals touch neither disk nor log.
 */
import type { Arbiter } from '../core/witness/arbiter';
import type { Decision } from '../core/witness/types';
import type { AcquireRequest__Output } from '../gen/witness/v1/AcquireRequest';
import type { LeaseAnswer } from '../gen/witness/v1/LeaseAnswer';
import type { ReleaseRequest__Output } from '../gen/witness/v1/ReleaseRequest';
import type { RenewRequest__Output } from '../gen/witness/v1/RenewRequest';
import type { Logger } from '../log/logger';
import type { EventHub } from './event-hub';
import { StoreWriteError, type WitnessStore } from './store/witness-store';
import { requireEpoch, requireId, requireLeaseMs, requireRole, requireWellFormed } from './validate-request';
import { toWireAnswer, toWireEvent } from './wire';

export type Answer = LeaseAnswer | Promise<LeaseAnswer>;

export class ArbitrationService {
  constructor(
    private readonly arbiter: Arbiter,
    private readonly store: WitnessStore,
    private readonly logger: Logger,
    private readonly events: EventHub,
    /** The witness's monotonic clock, read once per request at receipt. */
    private readonly now: () => number,
  ) {}

  heartbeat(wire: RenewRequest__Output): Answer {
    const receivedAt = this.now();
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      role: requireRole('role', request.role),
      heldEpoch: requireEpoch('held_epoch', request.heldEpoch),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
      leaseMs: requireLeaseMs('lease_ms', request.leaseMs),
    };
    return this.settle(this.arbiter.heartbeat(input, receivedAt), input.node, request.sequence);
  }

  acquire(wire: AcquireRequest__Output): Answer {
    const receivedAt = this.now();
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
      leaseMs: requireLeaseMs('lease_ms', request.leaseMs),
    };
    return this.settle(this.arbiter.acquire(input, receivedAt), input.node, request.sequence);
  }

  release(wire: ReleaseRequest__Output): Answer {
    const receivedAt = this.now();
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      epoch: requireEpoch('epoch', request.epoch),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
    };
    return this.settle(this.arbiter.release(input, receivedAt), input.node, request.sequence);
  }

  private settle(decision: Decision, node: string, sequence: string): Answer {
    const answer = toWireAnswer(decision.answer, sequence);
    if (decision.persist === undefined) {
      this.announce(decision, node);
      return answer;
    }
    return this.store.put(decision.persist).then(
      () => {
        this.announce(decision, node);
        return answer;
      },
      (error: unknown) => {
        this.logger.error(
          {
            group: decision.answer.group,
            node,
            epoch: decision.answer.epoch.toString(),
            rule: decision.rule,
            err: error,
          },
          'store write failed; the decision was not answered',
        );
        throw new StoreWriteError(error);
      },
    );
  }

  private announce(decision: Decision, node: string): void {
    if (decision.event === undefined) return;
    const { answer } = decision;
    // A standby asking again during a partition is refused at every heartbeat: keep those at debug.
    const level = decision.event === 'refused' ? 'debug' : 'info';
    this.logger[level](
      {
        group: answer.group,
        node,
        epoch: answer.epoch.toString(),
        event: decision.event,
        rule: decision.rule,
        verdict: answer.verdict,
        holder: answer.holder,
      },
      answer.message,
    );
    if (this.events.size > 0) this.events.publish(toWireEvent(decision.event, answer, node));
  }
}
