/**
 * The plain HTTP port beside each program's gRPC port (design §19.1): GET /metrics for Prometheus,
 * /healthz and /readyz for probes. It shares the event loop with arbitration, so it does nothing
 * that could hold the loop: a scrape's figures are gathered by the registry's own collectors (the
 * witness's page through its groups, yielding between pages), and a slow or idle client is cut off
 * by the timeouts below instead of being waited for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeSources {
  readonly registry: Registry;
  /** Why the program is not ready, in one line; undefined when it is. */
  readonly notReadyBecause: () => string | undefined;
}

/** A scraper or probe that has not sent its request by then is not going to. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Prometheus, a kubelet and an operator's curl: a handful at once; more are refused. */
const MAX_CONNECTIONS = 32;

export class ProbeEndpoints {
  private constructor(
    private readonly server: http.Server,
    /** The bound port (the one asked for, or the kernel's pick for port 0). */
    readonly port: number,
  ) {}

  /** Listens on `host:port`; rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL, EACCES). */
  static async listen(host: string, port: number, sources: ProbeSources): Promise<ProbeEndpoints> {
    const server = http.createServer((request, response) => answer(request, response, sources));
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.headersTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = REQUEST_TIMEOUT_MS;
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new ProbeEndpoints(server, (server.address() as AddressInfo).port);
  }

  /** Stops listening and drops the connections still open (a scraper's keep-alive). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function answer(request: http.IncomingMessage, response: http.ServerResponse, sources: ProbeSources): void {
  const head = request.method === 'HEAD';
  if (request.method !== 'GET' && !head) {
    response.setHeader('Allow', 'GET, HEAD');
    return send(response, 405, 'method not allowed: use GET\n', head);
  }
  const path = (request.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics':
      return scrape(response, sources.registry, head);
    case '/healthz':
      // Answered at all: the event loop runs, which is what liveness asks.
      return send(response, 200, 'ok\n', head);
    case '/readyz': {
      const reason = sources.notReadyBecause();
      return reason === undefined ? send(response, 200, 'ready\n', head) : send(response, 503, `${reason}\n`, head);
    }
    default:
      return send(response, 404, 'not found: /metrics, /healthz, /readyz\n', head);
  }
}

function scrape(response: http.ServerResponse, registry: Registry, head: boolean): void {
  registry.metrics().then(
    (text) => {
      response.setHeader('Content-Type', registry.contentType);
      send(response, 200, text, head);
    },
    (error: unknown) => send(response, 500, `metrics could not be collected: ${String(error)}\n`, head),
  );
}

function send(response: http.ServerResponse, status: number, body: string, head: boolean): void {
  response.statusCode = status;
  if (!response.hasHeader('Content-Type')) response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(head ? undefined : body);
}
