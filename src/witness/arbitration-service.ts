/**
 * Runs the pure Arbiter against the store. A decision that changes durable state is written
 * (fsync) before its answer is released, and takes effect in the Arbiter only once the write has
 * succeeded (rolled back when it fails); the group's other requests wait behind it, other groups'
 * do not. Every arbitration event is logged with group, node and epoch and sent to Admin.Watch
 * subscribers. Renewals touch neither disk nor log.
 */
import { MAX_WAITING_PER_GROUP, type Arbiter } from '../core/witness/arbiter';
import { ArbitrationError } from '../core/witness/errors';
import type { Decision } from '../core/witness/types';
import type { AcquireRequest__Output } from '../gen/witness/v1/AcquireRequest';
import type { LeaseAnswer } from '../gen/witness/v1/LeaseAnswer';
import type { ReleaseRequest__Output } from '../gen/witness/v1/ReleaseRequest';
import type { RenewRequest__Output } from '../gen/witness/v1/RenewRequest';
import type { Logger } from '../log/logger';
import type { EventHub } from './event-hub';
import { LockLostError } from './store/data-dir-lock';
import { StoreUnconfirmedError, StoreWriteError, type WitnessStore } from './store/witness-store';
import { requireEpoch, requireId, requireLeaseMs, requireRole, requireWellFormed } from '../wire/validate-request';
import { toWireEvent } from '../wire/admin-messages';
import { toWireAnswer } from '../wire/lease-answer';

export type Answer = LeaseAnswer | Promise<LeaseAnswer>;

/** A write slower than this share of the default lease eats into every lease it delays: say so. */
export const SLOW_WRITE_SHARE = 0.25;

export interface ArbitrationServiceParts {
  readonly arbiter: Arbiter;
  readonly store: WitnessStore;
  readonly logger: Logger;
  readonly events: EventHub;
  /** The witness's monotonic clock, read when a request is decided. */
  readonly now: () => number;
  /** The default lease, against which slow writes are measured. */
  readonly defaultLeaseMs: number;
  /** Told about every write that failed, so that health can follow the store. */
  readonly onWriteFailed: (error: unknown) => void;
}

export class ArbitrationService {
  /**
   * Groups with a decision on its way to disk, and the requests waiting behind it in arrival
   * order. A group is absent when nothing of it is being written.
   */
  private readonly busy = new Map<string, Array<() => void>>();

  constructor(private readonly parts: ArbitrationServiceParts) {}

  heartbeat(wire: RenewRequest__Output): Answer {
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      role: requireRole('role', request.role),
      heldEpoch: requireEpoch('held_epoch', request.heldEpoch),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
      leaseMs: requireLeaseMs('lease_ms', request.leaseMs),
    };
    return this.submit(input.group, input.node, request.sequence, (now) => this.parts.arbiter.heartbeat(input, now));
  }

  acquire(wire: AcquireRequest__Output): Answer {
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
      leaseMs: requireLeaseMs('lease_ms', request.leaseMs),
    };
    return this.submit(input.group, input.node, request.sequence, (now) => this.parts.arbiter.acquire(input, now));
  }

  release(wire: ReleaseRequest__Output): Answer {
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      epoch: requireEpoch('epoch', request.epoch),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
    };
    return this.submit(input.group, input.node, request.sequence, (now) => this.parts.arbiter.release(input, now));
  }

  /** Removes a group found forgettable, between its requests like any write. */
  forget(group: string, silentMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.whenIdle(group, () => {
        // Checked at its turn: a request that waited ahead of it may have brought the group back.
        if (!this.parts.arbiter.mayForget(group, this.parts.now(), silentMs)) {
          resolve(false);
          return;
        }
        this.busy.set(group, []);
        this.parts.store.forget(group).then(
          () => {
            const forgotten = this.parts.arbiter.forget(group, this.parts.now(), silentMs);
            this.settle(group);
            resolve(forgotten);
          },
          (error: unknown) => {
            this.settle(group);
            reject(error);
          },
        );
      });
    });
  }

  private submit(group: string, node: string, sequence: string, decide: (now: number) => Decision): Answer {
    const waiting = this.busy.get(group);
    if (waiting === undefined) return this.decide(group, node, sequence, decide);
    if (waiting.length >= MAX_WAITING_PER_GROUP) {
      throw new ArbitrationError(
        'resource-exhausted',
        'group',
        `group ${group} has ${MAX_WAITING_PER_GROUP} requests waiting for its store write; retry later`,
      );
    }
    return new Promise<LeaseAnswer>((resolve, reject) => {
      waiting.push(() => {
        try {
          Promise.resolve(this.decide(group, node, sequence, decide)).then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  private whenIdle(group: string, task: () => void): void {
    const waiting = this.busy.get(group);
    if (waiting === undefined) task();
    else waiting.push(task);
  }

  /** Decides now (the clock is read here: a request that waited is decided at its turn). */
  private decide(group: string, node: string, sequence: string, decide: (now: number) => Decision): Answer {
    const now = this.parts.now();
    // Not even a renewal once the store's lock is unconfirmed or lost: it would extend a hold that
    // a witness that took the store over cannot see.
    if (!this.parts.store.mayDecide(now)) throw new StoreUnconfirmedError();
    const decision = decide(now);
    const answer = toWireAnswer(decision.answer, sequence);
    if (decision.persist === undefined) {
      this.announce(decision, node);
      return answer;
    }
    this.busy.set(group, []);
    return this.write(decision).then(
      () => {
        this.parts.arbiter.commit(group);
        this.reportSlowWrite(decision, node, this.parts.now() - now);
        this.announce(decision, node);
        this.settle(group);
        return answer;
      },
      (error: unknown) => {
        this.parts.arbiter.abort(group);
        this.parts.logger.error(
          {
            group,
            node,
            epoch: decision.answer.epoch.toString(),
            rule: decision.rule,
            err: error,
          },
          'store write failed; the decision was rolled back and not answered',
        );
        this.parts.onWriteFailed(error);
        this.settle(group);
        throw error instanceof LockLostError ? error : new StoreWriteError(error);
      },
    );
  }

  private async write(decision: Decision): Promise<void> {
    // The generation first: a record durable under an epoch past it would be a repeat after a
    // restart that lost that record.
    if (decision.generation !== undefined) await this.parts.store.raiseGeneration(decision.generation);
    await this.parts.store.put(decision.persist as NonNullable<Decision['persist']>);
  }

  /** The group's write settled: what waited runs in order, until one starts a write again. */
  private settle(group: string): void {
    const waiting = this.busy.get(group) ?? [];
    this.busy.delete(group);
    while (waiting.length > 0) {
      (waiting.shift() as () => void)();
      const again = this.busy.get(group);
      if (again !== undefined) {
        again.push(...waiting);
        return;
      }
    }
  }

  private reportSlowWrite(decision: Decision, node: string, writeMs: number): void {
    if (writeMs <= SLOW_WRITE_SHARE * this.parts.defaultLeaseMs) return;
    this.parts.logger.warn(
      {
        group: decision.answer.group,
        node,
        epoch: decision.answer.epoch.toString(),
        writeMs: Math.round(writeMs),
        leaseMs: this.parts.defaultLeaseMs,
      },
      `a store write took more than ${SLOW_WRITE_SHARE * 100}% of the default lease; ` +
        'every answer waiting on it arrives with that much less lease left',
    );
  }

  private announce(decision: Decision, node: string): void {
    if (decision.event === undefined) return;
    const { answer } = decision;
    // A standby asking again during a partition is refused at every heartbeat: keep those at debug.
    const level = decision.event === 'refused' ? 'debug' : 'info';
    this.parts.logger[level](
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
    if (this.parts.events.size > 0) this.parts.events.publish(toWireEvent(decision.event, answer, node));
  }
}
