/**
 * Runs the pure Arbiter against the store. A decision that changes durable state is written
 * (fsync) before its answer is released, and takes effect in the Arbiter only once the write has
 * succeeded (rolled back when it fails); the group's other requests wait behind it, other groups'
 * do not. Every arbitration event is logged with group, node and epoch and sent to Admin.Watch
 * subscribers. Renewals touch neither disk nor log. Answers go to callbacks, never promises, so
 * the simulator drives this same service on its virtual clock.
 */
import type { Arbiter } from '../core/witness/arbiter';
import { MAX_WAITING_PER_GROUP } from '../core/witness/arbiter-config';
import { ArbitrationError } from '../core/witness/errors';
import { namedNode } from '../core/witness/operator-context';
import type { Decision, OperatorInput } from '../core/witness/types';
import type { AcquireRequest__Output } from '../gen/witness/v1/AcquireRequest';
import type { LeaseAnswer } from '../gen/witness/v1/LeaseAnswer';
import type { ReleaseRequest__Output } from '../gen/witness/v1/ReleaseRequest';
import type { RenewRequest__Output } from '../gen/witness/v1/RenewRequest';
import type { Logger } from '../log/logger';
import type { DecisionStore } from './decision-store';
import type { EventHub } from './event-hub';
import type { SyncNowDesk } from './sync-now-desk';
import { StoreHoldLostError, StoreUnconfirmedError, StoreWriteError } from './store/witness-store';
import { requireEpoch, requireId, requireLeaseMs, requireRole, requireWellFormed } from '../wire/validate-request';
import { toWireEvent } from '../wire/admin-messages';
import { toWireAnswer } from '../wire/lease-answer';
import { fromWireSyncReport } from '../wire/sync-report';

/** Every request is answered exactly once, with its answer or the error that refused it. */
export type Outcome =
  { readonly ok: true; readonly answer: LeaseAnswer } | { readonly ok: false; readonly error: unknown };
export type Reply = (outcome: Outcome) => void;

/** The answer of `submit` as a promise, for callers that await (the gRPC edge, tests). */
export function answerOf(submit: (reply: Reply) => void): Promise<LeaseAnswer> {
  return new Promise((resolve, reject) =>
    submit((outcome) => (outcome.ok ? resolve(outcome.answer) : reject(outcome.error))),
  );
}

/** A write slower than this share of the default lease eats into every lease it delays: say so. */
export const SLOW_WRITE_SHARE = 0.25;

export interface ArbitrationServiceParts {
  readonly arbiter: Arbiter;
  readonly store: DecisionStore;
  readonly logger: Logger;
  readonly events: EventHub;
  /** The witness's monotonic clock, read when a request is decided. */
  readonly now: () => number;
  /** The default lease, against which slow writes are measured. */
  readonly defaultLeaseMs: number;
  /** Told about every write that failed, so that health can follow the store. */
  readonly onWriteFailed: (error: unknown) => void;
  /** Told about every decision answered, for the metrics (design §19.2). */
  readonly onAnswered?: (decision: Decision) => void;
  /** "Sync now" requests for standbys, carried in their heartbeat answers (design §21.2). */
  readonly syncNow?: SyncNowDesk;
}

type Decide = (now: number) => Decision;

export class ArbitrationService {
  /**
   * Groups with a decision on its way to disk, and the requests waiting behind it in arrival
   * order. A group is absent when nothing of it is being written.
   */
  private readonly busy = new Map<string, Array<() => void>>();

  constructor(private readonly parts: ArbitrationServiceParts) {}

  heartbeat(wire: RenewRequest__Output, reply: Reply): void {
    this.guarded(reply, () => this.submitHeartbeat(wire, reply));
  }

  acquire(wire: AcquireRequest__Output, reply: Reply): void {
    this.guarded(reply, () => this.submitAcquire(wire, reply));
  }

  release(wire: ReleaseRequest__Output, reply: Reply): void {
    this.guarded(reply, () => this.submitRelease(wire, reply));
  }

  /**
   * An operator's request (design §9.6), validated by the Admin edge: decided in the group's turn
   * and written like any decision; a refusal is an ArbitrationError naming the field.
   */
  operate(input: OperatorInput, reply: Reply): void {
    const node = namedNode(input, '');
    this.guarded(reply, () =>
      this.submit(input.group, node, '0', reply, (now) => this.parts.arbiter.operate(input, now)),
    );
  }

  /** A request that cannot be decided (malformed, or refused before any decision) is answered with its error. */
  private guarded(reply: Reply, submit: () => void): void {
    try {
      submit();
    } catch (error) {
      reply({ ok: false, error });
    }
  }

  private submitHeartbeat(wire: RenewRequest__Output, reply: Reply): void {
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      role: requireRole('role', request.role),
      heldEpoch: requireEpoch('held_epoch', request.heldEpoch),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
      leaseMs: requireLeaseMs('lease_ms', request.leaseMs),
      sync: request.sync === null ? undefined : fromWireSyncReport('sync', request.sync),
    };
    const desk = this.parts.syncNow;
    const answered: Reply =
      desk === undefined
        ? reply
        : (outcome) => {
            if (!outcome.ok) return reply(outcome);
            desk.heard(input.group, input.node, input.sync?.lastRun);
            reply({ ok: true, answer: desk.stamp(input.group, input.node, outcome.answer) });
          };
    this.submit(input.group, input.node, request.sequence, answered, (now) => this.parts.arbiter.heartbeat(input, now));
  }

  private submitAcquire(wire: AcquireRequest__Output, reply: Reply): void {
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
      leaseMs: requireLeaseMs('lease_ms', request.leaseMs),
      sync: request.sync === null ? undefined : fromWireSyncReport('sync', request.sync),
    };
    this.submit(input.group, input.node, request.sequence, reply, (now) => this.parts.arbiter.acquire(input, now));
  }

  private submitRelease(wire: ReleaseRequest__Output, reply: Reply): void {
    const request = requireWellFormed(wire);
    const input = {
      group: requireId('group', request.group),
      node: requireId('node', request.node),
      epoch: requireEpoch('epoch', request.epoch),
      knownEpoch: requireEpoch('known_epoch', request.knownEpoch),
    };
    this.submit(input.group, input.node, request.sequence, reply, (now) => this.parts.arbiter.release(input, now));
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
        this.parts.store.forget(group, (error) => {
          if (error !== undefined) {
            this.settle(group);
            reject(error);
            return;
          }
          const forgotten = this.parts.arbiter.forget(group, this.parts.now(), silentMs);
          this.settle(group);
          resolve(forgotten);
        });
      });
    });
  }

  private submit(group: string, node: string, sequence: string, reply: Reply, decide: Decide): void {
    const waiting = this.busy.get(group);
    if (waiting === undefined) {
      this.decide(group, node, sequence, reply, decide);
      return;
    }
    if (waiting.length >= MAX_WAITING_PER_GROUP) {
      throw new ArbitrationError(
        'resource-exhausted',
        'group',
        `group ${group} has ${MAX_WAITING_PER_GROUP} requests waiting for its store write; retry later`,
      );
    }
    waiting.push(() => this.guarded(reply, () => this.decide(group, node, sequence, reply, decide)));
  }

  private whenIdle(group: string, task: () => void): void {
    const waiting = this.busy.get(group);
    if (waiting === undefined) task();
    else waiting.push(task);
  }

  /** Decides now (the clock is read here: a request that waited is decided at its turn). */
  private decide(group: string, node: string, sequence: string, reply: Reply, decide: Decide): void {
    const now = this.parts.now();
    // Not even a renewal once the store's lock is unconfirmed or lost: it would extend a hold that
    // a witness that took the store over cannot see.
    if (!this.parts.store.mayDecide(now)) throw new StoreUnconfirmedError();
    const decision = decide(now);
    const answer = toWireAnswer(decision.answer, sequence);
    if (decision.persist === undefined) {
      this.announce(decision, node);
      reply({ ok: true, answer });
      return;
    }
    this.busy.set(group, []);
    this.parts.store.write(decision, (error) => {
      if (error === undefined) {
        this.parts.arbiter.commit(group);
        this.reportSlowWrite(decision, node, this.parts.now() - now);
        this.announce(decision, node);
        reply({ ok: true, answer });
      } else {
        this.parts.arbiter.abort(group);
        this.parts.logger.error(
          { group, node, epoch: decision.answer.epoch.toString(), rule: decision.rule, err: error },
          'store write failed; the decision was rolled back and not answered',
        );
        this.parts.onWriteFailed(error);
        reply({ ok: false, error: error instanceof StoreHoldLostError ? error : new StoreWriteError(error) });
      }
      this.settle(group);
    });
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

  private announce(decision: Decision, requestedFor: string): void {
    this.parts.onAnswered?.(decision);
    if (decision.event === undefined) return;
    const { answer } = decision;
    // A switchover names no node: it is asked of the holder.
    const node = requestedFor === '' ? answer.holder : requestedFor;
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
    this.parts.events.publish(toWireEvent(decision.event, answer, node, decision.rule));
  }
}
