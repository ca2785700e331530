/**
 * Client channel options for both links. A blackholed connection stays "open" for minutes unless
 * pings notice it, and grpc-js backs off reconnects up to two minutes by default: both would make
 * a lease wait on the network. Every call also carries a deadline (see the links).
 */
import type { ChannelOptions } from '@grpc/grpc-js';

export function linkChannelOptions(heartbeatMs: number, timeoutMs: number): ChannelOptions {
  return {
    'grpc.keepalive_time_ms': Math.max(250, timeoutMs),
    'grpc.keepalive_timeout_ms': Math.max(250, timeoutMs),
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': Math.max(50, heartbeatMs),
    'grpc.min_reconnect_backoff_ms': Math.max(50, heartbeatMs),
    'grpc.max_reconnect_backoff_ms': Math.max(500, timeoutMs),
    'grpc.enable_retries': 0,
    // Each link its own connection: a stuck one (see stuck-sockets.ts) is never shared.
    'grpc.use_local_subchannel_pool': 1,
  };
}
