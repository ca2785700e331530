/** Binding and stopping a gRPC server, the same for the witness and the sidecar. */
import * as grpc from '@grpc/grpc-js';

/** Binds HOST:PORT with `credentials` (see transport-credentials.ts) and resolves to the bound port. */
export function bindServer(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port))),
  );
}

/**
 * Stops taking calls and lets those in flight finish; after `graceMs` the rest are cut (and
 * `onCut` is told, for a log line). Resolves once the server is down either way.
 */
export function shutdownGracefully(server: grpc.Server, graceMs: number, onCut?: () => void): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      onCut?.();
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
