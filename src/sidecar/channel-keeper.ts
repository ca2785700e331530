/**
 * Keeps a gRPC client usable across a blackhole: when none of its calls has been answered for the
 * stale period, the connections to its target that never delivered a byte are destroyed, so
 * grpc-js fails them and connects anew (see stuck-sockets.ts). The client itself is kept: closing
 * it would leave its stuck connection open behind it.
 */
import type * as grpc from '@grpc/grpc-js';
import { parseHostPort } from '../config/config-formats';
import { destroyStuckSockets } from './stuck-sockets';

export class ChannelKeeper<C extends grpc.Client> {
  private readonly target: { host: string; port: number } | undefined;
  private lastAnswer: number;
  private lastReap: number;

  constructor(
    readonly client: C,
    address: string,
    private readonly staleAfterMs: number,
    now: number,
  ) {
    this.target = parseHostPort(address);
    this.lastAnswer = now;
    this.lastReap = now;
  }

  answered(now: number): void {
    this.lastAnswer = now;
  }

  /** A call failed: if nothing has been answered for the stale period, reap stuck connections. */
  failed(now: number): void {
    if (this.target === undefined) return;
    if (now - this.lastAnswer < this.staleAfterMs || now - this.lastReap < this.staleAfterMs) return;
    this.lastReap = now;
    destroyStuckSockets(this.target.host, this.target.port, this.staleAfterMs);
  }

  close(): void {
    this.client.close();
  }
}
