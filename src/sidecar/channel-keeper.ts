/**
 * Keeps a gRPC client usable across a blackhole. After a cut, grpc-js reconnects at once; if the
 * path still swallows packets, that connection's HTTP/2 handshake never completes and grpc-js has
 * no connect timeout, so the channel would stay CONNECTING after the path heals. When no call has
 * been answered for the stale period, the client is closed and built anew (with its own subchannel
 * pool, so nothing of the stuck connection is shared).
 */
import type * as grpc from '@grpc/grpc-js';

export class ChannelKeeper<C extends grpc.Client> {
  private current: C;
  private lastAnswer: number;
  private lastRebuild: number;

  constructor(
    private readonly make: () => C,
    private readonly staleAfterMs: number,
    now: number,
  ) {
    this.current = make();
    this.lastAnswer = now;
    this.lastRebuild = now;
  }

  get client(): C {
    return this.current;
  }

  answered(now: number): void {
    this.lastAnswer = now;
  }

  /** A call failed: rebuild the client if nothing has been answered for the stale period. */
  failed(now: number): void {
    if (now - this.lastAnswer < this.staleAfterMs || now - this.lastRebuild < this.staleAfterMs) return;
    this.current.close();
    this.current = this.make();
    this.lastRebuild = now;
  }

  close(): void {
    this.current.close();
  }
}
