/**
 * Connections that TCP accepted but that never delivered a byte: after a blackhole, grpc-js
 * reconnects at once, and if the path still swallows everything (or the far end accepts and never
 * answers: a frozen process, a balancer with no backend) the HTTP/2 handshake never completes.
 * grpc-js has no connect timeout, so the channel would stay CONNECTING after the path heals.
 * Destroying such a socket makes grpc-js fail the attempt and reconnect with its own back-off.
 *
 * Every client socket of this process is seen through node's `net.client.socket` diagnostics
 * channel; a sidecar's only client sockets are its gRPC links.
 */
import diagnostics from 'node:diagnostics_channel';
import { isIP, type Socket } from 'node:net';

interface Tracked {
  readonly socket: Socket;
  readonly createdAt: number;
}

const tracked = new Set<Tracked>();
let clock: (() => number) | undefined;

export function trackClientSockets(now: () => number): void {
  if (clock !== undefined) return;
  clock = now;
  diagnostics.subscribe('net.client.socket', (message) => {
    const socket = (message as { socket: Socket }).socket;
    const entry = { socket, createdAt: now() };
    tracked.add(entry);
    socket.once('close', () => tracked.delete(entry));
  });
}

/**
 * Destroys the sockets to `host:port` that have read nothing for `olderThanMs`. A healthy gRPC
 * connection reads the server's SETTINGS frame at once, so it is never among them. A host name
 * (not an IP literal) is matched by port alone.
 */
export function destroyStuckSockets(host: string, port: number, olderThanMs: number): number {
  if (clock === undefined) return 0;
  const now = clock();
  let destroyed = 0;
  for (const entry of tracked) {
    const { socket } = entry;
    // A socket still connecting has no remote end yet; one that has been connecting for the stale
    // period is useless for leases whatever its target, and grpc-js simply tries again.
    if (socket.remotePort !== port && !(socket.connecting && socket.remotePort === undefined)) continue;
    if (isIP(host) !== 0 && socket.remoteAddress !== undefined && socket.remoteAddress !== host) continue;
    if (socket.bytesRead > 0 || now - entry.createdAt < olderThanMs) continue;
    socket.destroy();
    tracked.delete(entry);
    destroyed += 1;
  }
  return destroyed;
}
