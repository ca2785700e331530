/** Free loopback ports, for programs that must know each other's address before they start. */
import net from 'node:net';

/**
 * `count` distinct ports the kernel had free a moment ago: all are bound to port 0 at once (so they
 * differ), read, then released. Another program may take one in between; the demo then fails
 * naming the process that could not bind, and a second run picks other ports.
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
