/**
 * The sidecar harness's witness: the production ArbitrationService over a real Arbiter, with a
 * store that makes every decision durable at once (so an answer leaves only after its write, as
 * design §7.1 asks, without a write ever waiting). Requests come in wire form, epochs as strings,
 * as the sidecar's transport sends them; answers go back through the production fromWireAnswer.
 * A restart builds a new Arbiter and service over what the store holds, or over nothing (a wipe).
 */
import pino from 'pino';
import { generationFromWallClock } from '../../src/core/epoch';
import type { WitnessAnswer } from '../../src/core/sidecar/types';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import { ArbitrationError } from '../../src/core/witness/errors';
import type { DurableGroup, GroupView, NodeRole, OperatorInput } from '../../src/core/witness/types';
import type { LeaseAnswer__Output } from '../../src/gen/witness/v1/LeaseAnswer';
import { fromWireAnswer } from '../../src/wire/lease-answer';
import { ArbitrationService, type Outcome } from '../../src/witness/arbitration-service';
import type { DecisionStore } from '../../src/witness/decision-store';
import { EventHub } from '../../src/witness/event-hub';
import { GEN, GROUP, WALL0, type NodeId } from './sidecar-test-settings';

const SILENT = pino({ level: 'silent' });

export class HarnessWitness {
  private arbiter: Arbiter;
  private service: ArbitrationService;
  private readonly records = new Map<string, DurableGroup>();
  private generation = GEN;

  constructor(
    private readonly config: ArbiterConfig,
    /** The witness's monotonic clock. */
    private readonly now: () => number,
    startedAt: number,
  ) {
    [this.arbiter, this.service] = this.open(startedAt);
  }

  /** The witness process restarts now; `wipe`: with an empty store (a new generation from the wall clock). */
  restart(wipe: boolean, realNow: number): void {
    if (wipe) {
      this.records.clear();
      this.generation = generationFromWallClock(WALL0 + realNow);
    }
    [this.arbiter, this.service] = this.open(this.now());
  }

  /** What the witness holds for the group, read straight from its Arbiter. */
  view(now: number): GroupView {
    return this.arbiter.view(GROUP, now);
  }

  /** An operator's request (design §9.4, §9.6), as Admin makes it; throws the refusal. */
  operate(input: OperatorInput): void {
    let outcome: Outcome | undefined;
    this.service.operate(input, (o) => {
      outcome = o;
    });
    if (outcome === undefined) throw new Error('the witness did not answer at once');
    if (!outcome.ok) throw outcome.error;
  }

  renew(
    node: NodeId,
    role: NodeRole,
    heldEpoch: bigint,
    knownEpoch: bigint,
    leaseMs: number,
  ): WitnessAnswer | undefined {
    const request = {
      group: GROUP,
      node,
      role: role === 'primary' ? ('ROLE_PRIMARY' as const) : ('ROLE_SECONDARY' as const),
      heldEpoch: `${heldEpoch}`,
      knownEpoch: `${knownEpoch}`,
      leaseMs,
      sequence: '0',
      sync: null,
    };
    return this.answer((reply) => this.service.heartbeat(request, reply));
  }

  acquire(node: NodeId, knownEpoch: bigint, leaseMs: number): WitnessAnswer | undefined {
    const request = { group: GROUP, node, knownEpoch: `${knownEpoch}`, leaseMs, sequence: '0', sync: null };
    return this.answer((reply) => this.service.acquire(request, reply));
  }

  release(node: NodeId, epoch: bigint, knownEpoch: bigint): WitnessAnswer | undefined {
    const request = { group: GROUP, node, epoch: `${epoch}`, knownEpoch: `${knownEpoch}`, sequence: '0' };
    return this.answer((reply) => this.service.release(request, reply));
  }

  private open(startedAt: number): [Arbiter, ArbitrationService] {
    const arbiter = new Arbiter(this.config, {
      now: startedAt,
      generation: this.generation,
      records: [...this.records.values()],
    });
    const service = new ArbitrationService({
      arbiter,
      store: this.instantStore(),
      logger: SILENT,
      events: new EventHub(0, () => 0),
      now: this.now,
      defaultLeaseMs: this.config.defaultLeaseMs,
      onWriteFailed: () => undefined,
    });
    return [arbiter, service];
  }

  private instantStore(): DecisionStore {
    return {
      mayDecide: () => true,
      write: (decision, done) => {
        const persist = decision.persist;
        if (persist !== undefined) this.records.set(persist.record.group, persist.record);
        if (decision.generation !== undefined && decision.generation > this.generation)
          this.generation = decision.generation;
        done(undefined);
      },
      forget: (group, done) => {
        this.records.delete(group);
        done(undefined);
      },
    };
  }

  /**
   * The service's answer, which comes at once (every write settles at once). A refusal the witness
   * is built to give is a gRPC error, so the call fails (undefined); any other error is a bug.
   */
  private answer(submit: (reply: (o: Outcome) => void) => void): WitnessAnswer | undefined {
    let outcome: Outcome | undefined;
    submit((o) => {
      outcome = o;
    });
    if (outcome === undefined)
      throw new Error('the witness did not answer at once, though its store writes land at once');
    if (!outcome.ok) {
      if (outcome.error instanceof ArbitrationError) return undefined;
      throw outcome.error;
    }
    // The service fills every field, as the deserializer at the sidecar's end would.
    return fromWireAnswer(outcome.answer as LeaseAnswer__Output);
  }
}
