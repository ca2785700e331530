/**
 * The witness's bounds on what callers may make it hold (design §17.6), each set by an option of
 * `witness serve`. Groups are bounded in the Arbiter (`--max-groups`), nodes per group there too.
 */
import type * as grpc from '@grpc/grpc-js';

export interface WitnessLimits {
  /** KeepAlive streams in all (`--max-keepalive-streams`). */
  readonly maxKeepAliveStreams: number;
  /** Admin.Watch streams in all (`--max-watchers`). */
  readonly maxWatchers: number;
  /** Events a Watch stream may leave unread before it is dropped (`--watch-backlog`). */
  readonly watchBacklog: number;
  /** Events kept for Watch streams that resume (`--event-history`). */
  readonly eventHistory: number;
  /** Concurrent calls on one HTTP/2 connection (`--max-streams-per-connection`). */
  readonly maxStreamsPerConnection: number;
  /** Largest request accepted, in bytes (`--max-message-size`). */
  readonly maxMessageBytes: number;
}

/**
 * The gRPC server options behind the limits. A call past the per-connection bound waits at the
 * client (HTTP/2 flow control) until one ends or its deadline passes. Requests above the size
 * limit are refused by the strict deserializers, which name the option; grpc-js's own bound, set
 * higher, only keeps it from buffering a huge message first.
 */
export function limitServerOptions(limits: WitnessLimits): grpc.ServerOptions {
  return {
    'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
    'grpc.max_receive_message_length': Math.max(4 * limits.maxMessageBytes, 1 << 20),
  };
}
