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
    // A rebuilt client (ChannelKeeper) must not inherit a stuck connection from a shared pool.
    'grpc.use_local_subchannel_pool': 1,
  };
}
