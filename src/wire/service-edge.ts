/**
 * Where a gRPC call enters a service of the witness or the sidecar, one wrapper per call kind.
 * Every error a handler raises leaves here as a status: a typed one with its code, anything else
 * (a bug) as INTERNAL with a request id that the log line, stack and all, carries too, so an
 * operator holding the client's message finds the cause. Nothing from the process leaks out.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import { type CallerCredentials, type IncomingCall, readCredentials } from './caller-credentials';
import { typedErrorStatus } from './status-mapping';
import type { WireError } from './wire-error';

export type CallKind = 'unary' | 'server-stream' | 'bidi-stream';

/** One request as the guard sees it: a unary call's, a server stream's, or each of a bidi stream's. */
export interface GuardedRequest {
  /** The full service name, e.g. witness.v1.Witness. */
  readonly service: string;
  readonly method: string;
  readonly kind: CallKind;
  /**
   * What the caller presented (design §17.2), read on first use and then once per call: a guard
   * that lets everyone in (open registration) costs the heartbeat path nothing.
   */
  readonly credentials: CallerCredentials;
  readonly request: unknown;
}

/**
 * The one place authentication and authorization hook in: it runs before the handler sees a
 * request, and before each message of a stream. It refuses by throwing (a WireError of kind
 * 'unauthenticated' or 'permission-denied'), answered like an error of the handler.
 */
export type CallGuard = (request: GuardedRequest) => void;

/** Handed to a bidi handler: the guard for each message it reads (throws on a refusal). */
export type CheckMessage = (request: unknown) => void;

export interface ServiceEdgeOptions {
  /** The full service name, for the guard and log lines. */
  readonly service: string;
  readonly logger: Logger;
  /**
   * The typed errors of the service's own layers (the witness's store), as WireErrors; undefined
   * for any other error. Keeps this layer free of what those layers import.
   */
  readonly knownError?: (error: unknown) => WireError | undefined;
  readonly guard?: CallGuard;
  /** Starts timing a call (or a stream's message) of `method`; the function returned ends it (design §19.2). */
  readonly timeCall?: CallTimer;
}

export type CallTimer = (method: string) => () => void;

const untimed = (): void => undefined;

/** Ends a stream with the status `error` maps to. */
export type FailStream = (error: unknown) => void;

export class ServiceEdge {
  constructor(private readonly options: ServiceEdgeOptions) {}

  /** `handle` answers with a message, or a promise of one; a throw or a rejection is answered as a status. */
  unary<Req, Res>(
    method: string,
    handle: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, answered) => {
      const timed = this.startTimer(method);
      const callback: grpc.sendUnaryData<Res> = (error, answer) => {
        timed();
        answered(error, answer);
      };
      const fail = (error: unknown): void => callback(this.statusOf(error, method, 'unary'));
      try {
        this.guardOf(method, 'unary', call)(call.request);
        const answer = handle(call.request, call);
        if (answer instanceof Promise) answer.then((a) => callback(null, a), fail);
        else callback(null, answer);
      } catch (error) {
        fail(error);
      }
    };
  }

  /** Starts timing one answer of `method` (a bidi stream times each message's); call the result when it leaves. */
  startTimer(method: string): () => void {
    return this.options.timeCall?.(method) ?? untimed;
  }

  /** `handle` sets the stream up; what it throws, or passes to `fail` later, ends the stream. */
  serverStream<Req, Res>(
    method: string,
    handle: (call: grpc.ServerWritableStream<Req, Res>, fail: FailStream) => void,
  ): grpc.handleServerStreamingCall<Req, Res> {
    return (call) =>
      this.stream(method, 'server-stream', call, (fail, check) => {
        check(call.request);
        handle(call, fail);
      });
  }

  /** As serverStream, for a stream both ways. */
  bidiStream<Req, Res>(
    method: string,
    handle: (call: grpc.ServerDuplexStream<Req, Res>, fail: FailStream, check: CheckMessage) => void,
  ): grpc.handleBidiStreamingCall<Req, Res> {
    return (call) => this.stream(method, 'bidi-stream', call, (fail, check) => handle(call, fail, check));
  }

  private stream(
    method: string,
    kind: CallKind,
    call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
    start: (fail: FailStream, check: CheckMessage) => void,
  ): void {
    const fail: FailStream = (error) => call.emit('error', this.statusOf(error, method, kind));
    try {
      start(fail, this.guardOf(method, kind, call));
    } catch (error) {
      fail(error);
    }
  }

  /** The guard bound to one call: its credentials are read at most once, its messages checked each. */
  private guardOf(method: string, kind: CallKind, call: IncomingCall): CheckMessage {
    const guard = this.options.guard;
    if (guard === undefined) return () => undefined;
    const credentials = new LazyCredentials(call);
    const service = this.options.service;
    return (request) => guard(new GuardedMessage(service, method, kind, request, credentials));
  }

  private statusOf(error: unknown, method: string, kind: CallKind): Partial<grpc.ServiceError> {
    const status = typedErrorStatus(this.options.knownError?.(error) ?? error);
    if (status !== undefined) return status;
    const requestId = randomBytes(8).toString('hex');
    this.options.logger.error(
      { err: error, requestId, service: this.options.service, method, kind },
      'unexpected error in a call handler; answered INTERNAL',
    );
    return { code: grpc.status.INTERNAL, details: `internal error (request id ${requestId})` };
  }
}

/** A call's credentials, read on first use. */
class LazyCredentials {
  private read: CallerCredentials | undefined;

  constructor(private readonly call: IncomingCall) {}

  get(): CallerCredentials {
    return (this.read ??= readCredentials(this.call));
  }
}

/**
 * One message as the guard sees it. A class, not an object literal with a getter: one is made for
 * every KeepAlive message, and V8 builds a literal with an accessor slowly.
 */
class GuardedMessage implements GuardedRequest {
  constructor(
    readonly service: string,
    readonly method: string,
    readonly kind: CallKind,
    readonly request: unknown,
    private readonly lazyCredentials: LazyCredentials,
  ) {}

  get credentials(): CallerCredentials {
    return this.lazyCredentials.get();
  }
}
