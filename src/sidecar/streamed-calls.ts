/**
 * Heartbeats as messages on one long-lived bidi stream instead of one unary call each (design
 * §4.5): a stream message costs both ends a fraction of a unary call. Each message still has the
 * deadline a unary call would have, and its answer is matched to it by the sequence it echoes, so
 * a lease is counted from the send time of the very request that was answered (§4.2, §4.3).
 *
 * A stream that fails, ends, or leaves a message unanswered past its deadline is dropped; new
 * streams are then not tried for a back-off that doubles up to a bound, and the caller sends its
 * heartbeats as unary calls meanwhile (`send` returns false): a witness or peer of an older version
 * without the stream method, a witness at its stream limit, or a suspect connection costs at most
 * the heartbeats in flight when the stream fails.
 */
import * as grpc from '@grpc/grpc-js';
import { monotonicNowMs } from './monotonic-clock';

/** What a failed stream message reports, shaped like a unary call's error. */
export interface StreamMessageError {
  readonly code: grpc.status;
  readonly details: string;
}

/** Shaped like a unary call's callback: an error and no answer, or no error and the answer. */
export type StreamedReply<A> = (error: StreamMessageError | null, answer?: A) => void;

/** Both stream methods' answers echo their request's sequence. */
interface Sequenced {
  readonly sequence: string;
}

export interface StreamedCallsOptions<Q, A> {
  /** Opens a new stream (metadata and channel are the caller's). */
  readonly open: () => grpc.ClientDuplexStream<Q, A>;
  readonly deadlineMs: number;
  /** The first back-off after a failure (a heartbeat); it doubles on each failure up to the bound. */
  readonly backoffMs: number;
}

/** A failed stream is retried no sooner than this after failures in a row (design §4.5). */
export const MAX_STREAM_BACKOFF_MS = 30_000;

interface Waiting<A> {
  readonly done: StreamedReply<A>;
  readonly timer: NodeJS.Timeout;
}

/** A failure that says the far end will never serve the stream: back off at once to the bound. */
const NEVER_SERVED = new Set([grpc.status.UNIMPLEMENTED]);

export class StreamedCalls<Q, A extends Sequenced> {
  private stream: grpc.ClientDuplexStream<Q, A> | undefined;
  private readonly waiting = new Map<string, Waiting<A>>();
  private nextSequence = 1;
  private backoffMs = 0;
  private unaryUntil = -Infinity;

  constructor(private readonly options: StreamedCallsOptions<Q, A>) {}

  /**
   * Sends the request `build` makes for its sequence, or returns false without sending when no
   * stream may be used now (the caller sends a unary call instead).
   */
  send(build: (sequence: string) => Q, done: StreamedReply<A>): boolean {
    if (monotonicNowMs() < this.unaryUntil) return false;
    const stream = (this.stream ??= this.openStream());
    const sequence = String(this.nextSequence++);
    const timer = setTimeout(() => this.expired(stream, sequence), this.options.deadlineMs);
    this.waiting.set(sequence, { done, timer });
    stream.write(build(sequence));
    return true;
  }

  /** Ends the stream; messages still waiting are answered as failed. */
  close(): void {
    this.drop(this.stream, { code: grpc.status.CANCELLED, details: 'the link was closed' }, false);
  }

  private openStream(): grpc.ClientDuplexStream<Q, A> {
    const stream = this.options.open();
    stream.on('data', (answer: A) => this.answered(stream, answer));
    stream.on('error', (error: grpc.ServiceError) => this.drop(stream, { code: error.code, details: error.details }));
    // The far end closed the stream without an error (a witness shutting down ends its streams).
    stream.on('status', (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) {
        this.drop(stream, { code: grpc.status.UNAVAILABLE, details: 'the far end ended the stream' });
      }
    });
    return stream;
  }

  private answered(stream: grpc.ClientDuplexStream<Q, A>, answer: A): void {
    if (stream !== this.stream) return;
    const waiting = this.waiting.get(answer.sequence);
    // Late (its deadline passed and it was answered as failed) or never sent: not this link's.
    if (waiting === undefined) return;
    this.waiting.delete(answer.sequence);
    clearTimeout(waiting.timer);
    this.backoffMs = 0;
    waiting.done(null, answer);
  }

  /** A message went unanswered for its deadline: the stream is suspect, as a blackholed one is. */
  private expired(stream: grpc.ClientDuplexStream<Q, A>, sequence: string): void {
    const waiting = this.waiting.get(sequence);
    if (waiting === undefined) return;
    this.waiting.delete(sequence);
    waiting.done({ code: grpc.status.DEADLINE_EXCEEDED, details: 'no answer on the stream in time' });
    this.drop(stream, { code: grpc.status.DEADLINE_EXCEEDED, details: 'an earlier message on the stream timed out' });
  }

  /** Drops `stream` if it is the one in use, failing what waits on it, and backs off when asked. */
  private drop(stream: grpc.ClientDuplexStream<Q, A> | undefined, error: StreamMessageError, backOff = true): void {
    if (stream === undefined || stream !== this.stream) return;
    this.stream = undefined;
    stream.cancel();
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    if (backOff) {
      this.backoffMs = NEVER_SERVED.has(error.code)
        ? MAX_STREAM_BACKOFF_MS
        : Math.min(MAX_STREAM_BACKOFF_MS, Math.max(this.options.backoffMs, this.backoffMs * 2));
      this.unaryUntil = monotonicNowMs() + this.backoffMs;
    }
    for (const { done, timer } of waiting) {
      clearTimeout(timer);
      done(error);
    }
  }
}
