/**
 * The sidecar's calls to the witness, with a deadline on each, over the ordered endpoint list.
 * Renewals to the endpoint in use go as messages on a KeepAlive stream (design §4.5), unary
 * `Renew` while no stream may be used; probes of another endpoint, Acquire and Release are unary.
 */
import * as grpc from '@grpc/grpc-js';
import type { AcquireFailure, WitnessAnswer } from '../core/sidecar/types';
import type { AcquireRequest } from '../gen/witness/v1/AcquireRequest';
import type { LeaseAnswer__Output } from '../gen/witness/v1/LeaseAnswer';
import type { RenewRequest } from '../gen/witness/v1/RenewRequest';
import type { WitnessClient } from '../gen/witness/v1/Witness';
import { loadWitnessProto } from '../proto/load-proto';
import { fromWireAnswer } from '../wire/lease-answer';
import { toWireSyncReport } from '../wire/sync-report';
import type { SyncReport } from '../core/witness/types';
import { decidedNothing, type FailedCallStatus } from '../wire/undecided-refusal';
import { ChannelKeeper } from './channel-keeper';
import { linkChannelOptions } from './channel-options';
import type { LinkSecurity } from './link-security';
import { monotonicNowMs } from './monotonic-clock';
import { StreamedCalls } from './streamed-calls';
import type { WitnessEndpoints } from './witness-endpoints';

export interface Caller {
  readonly group: string;
  readonly node: string;
  readonly role: 'ROLE_PRIMARY' | 'ROLE_SECONDARY';
}

type Callback = (answer: WitnessAnswer | undefined, error?: FailedCallStatus) => void;

export class WitnessLink {
  private readonly clients = new Map<string, ChannelKeeper<WitnessClient>>();
  private readonly options: grpc.ChannelOptions;
  /** The KeepAlive stream to the endpoint in use, made anew when the endpoint changes. */
  private renewals:
    { readonly address: string; readonly calls: StreamedCalls<RenewRequest, LeaseAnswer__Output> } | undefined;

  constructor(
    private readonly endpoints: WitnessEndpoints,
    private readonly caller: Caller,
    private readonly deadlineMs: number,
    private readonly heartbeatMs: number,
    private readonly security: LinkSecurity,
    /** An answer failed validation and counted as a failed call: for a log line (the caller may rate-limit). */
    private readonly onMalformedAnswer: (why: string) => void = () => undefined,
  ) {
    this.options = { ...linkChannelOptions(heartbeatMs, deadlineMs), ...security.options };
  }

  get endpoint(): string {
    return this.endpoints.current.address;
  }

  renew(
    heldEpoch: bigint,
    knownEpoch: bigint,
    leaseMs: number,
    done: Callback,
    address = this.endpoint,
    sync?: SyncReport,
  ): void {
    const request: RenewRequest = {
      group: this.caller.group,
      node: this.caller.node,
      role: this.caller.role,
      heldEpoch: heldEpoch.toString(),
      knownEpoch: knownEpoch.toString(),
      leaseMs,
      ...(sync === undefined ? {} : { sync: toWireSyncReport(sync) }),
    };
    if (address === this.endpoint) {
      const streamed = this.renewalStream(address).send(
        (sequence) => ({ ...request, sequence }),
        this.answer(done, address),
      );
      if (streamed) return;
    }
    this.keeper(address).client.Renew(
      request,
      this.security.metadata(),
      this.callOptions(),
      this.answer(done, address),
    );
  }

  /**
   * `deadlineMs` is the Acquire's own, not the heartbeats' timeout: a grant is made durable before
   * it is answered, so a slow disk delays it, and one that arrives late but still usable must not
   * be thrown away (the witness would have made a durable grant nobody uses).
   */
  acquire(knownEpoch: bigint, leaseMs: number, deadlineMs: number, done: Callback, sync?: SyncReport): void {
    const request: AcquireRequest = {
      group: this.caller.group,
      node: this.caller.node,
      knownEpoch: knownEpoch.toString(),
      leaseMs,
      ...(sync === undefined ? {} : { sync: toWireSyncReport(sync) }),
    };
    this.keeper(this.endpoint).client.Acquire(
      request,
      this.security.metadata(),
      this.callOptions(deadlineMs),
      this.answer(done, this.endpoint),
    );
  }

  release(epoch: bigint, knownEpoch: bigint, done: Callback): void {
    const request = {
      group: this.caller.group,
      node: this.caller.node,
      epoch: epoch.toString(),
      knownEpoch: knownEpoch.toString(),
    };
    this.keeper(this.endpoint).client.Release(
      request,
      this.security.metadata(),
      this.callOptions(),
      this.answer(done, this.endpoint),
    );
  }

  close(): void {
    this.renewals?.calls.close();
    this.renewals = undefined;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private callOptions(deadlineMs = this.deadlineMs): grpc.CallOptions {
    return { deadline: Date.now() + deadlineMs };
  }

  private renewalStream(address: string): StreamedCalls<RenewRequest, LeaseAnswer__Output> {
    if (this.renewals?.address === address) return this.renewals.calls;
    this.renewals?.calls.close();
    const client = this.keeper(address).client;
    const calls = new StreamedCalls<RenewRequest, LeaseAnswer__Output>({
      open: () => client.KeepAlive(this.security.metadata()),
      deadlineMs: this.deadlineMs,
      backoffMs: this.heartbeatMs,
    });
    this.renewals = { address, calls };
    return calls;
  }

  private answer(
    done: Callback,
    address: string,
  ): (error: FailedCallStatus | null, wire?: LeaseAnswer__Output) => void {
    return (error, wire) => {
      const answer = error || wire === undefined ? undefined : this.validAnswer(wire, address);
      const keeper = this.keeper(address);
      if (answer === undefined) {
        keeper.failed(monotonicNowMs());
        // Only a failure of the endpoint in use moves the list on (not a failed probe).
        if (address === this.endpoint && isUnreachable(error)) this.endpoints.failed();
        done(undefined, error ?? undefined);
        return;
      }
      keeper.answered(monotonicNowMs());
      done(answer);
    };
  }

  /** The answer in the core's words, or undefined (said once to onMalformedAnswer) when it is malformed. */
  private validAnswer(wire: LeaseAnswer__Output, address: string): WitnessAnswer | undefined {
    let answer: ReturnType<typeof fromWireAnswer>;
    try {
      answer = fromWireAnswer(wire);
    } catch (error) {
      this.onMalformedAnswer(`the witness at ${address} sent a malformed answer: ${errorText(error)}`);
      return undefined;
    }
    if (answer.group !== this.caller.group) {
      this.onMalformedAnswer(`the witness at ${address} answered for group ${answer.group}, not ${this.caller.group}`);
      return undefined;
    }
    return answer;
  }

  private keeper(address: string): ChannelKeeper<WitnessClient> {
    let keeper = this.clients.get(address);
    if (keeper === undefined) {
      const { grpcObject } = loadWitnessProto();
      const client = new grpcObject.witness.v1.Witness(address, this.security.credentials, this.options);
      keeper = new ChannelKeeper(client, address, this.deadlineMs, monotonicNowMs());
      this.clients.set(address, keeper);
    }
    return keeper;
  }
}

/** Whether a failed call moves the endpoint list on: no status came, or the server could not be reached in time. */
export function isUnreachable(error: { readonly code: grpc.status } | null): boolean {
  return error === null || error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED;
}

/** How an Acquire that brought no answer failed, from its status (undefined: a malformed answer). */
export function acquireFailureOf(error: FailedCallStatus | undefined): AcquireFailure {
  if (error?.code === grpc.status.DEADLINE_EXCEEDED) return 'timed-out';
  return decidedNothing(error) ? 'undecided' : 'failed';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
