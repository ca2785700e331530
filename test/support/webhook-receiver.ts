/**
 * A real HTTP receiver on loopback for webhook alerts: records each POSTed JSON body with the time
 * it arrived (the tests' timeline, test/support/timeline.ts), and can answer the first requests with an error status.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timeline } from './timeline';

export interface ReceivedHook {
  readonly body: Record<string, unknown>;
  readonly authorization: string | undefined;
  readonly at: number;
}

export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  /** Requests answered so far, failed ones included. */
  requests = 0;
  /** Statuses the next requests are answered with, in order; then 204. */
  failWith: number[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = http.createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (request, response) => receiver.answer(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/failover`;
  }

  /** The events received, by their `event` field. */
  events(name: string): ReceivedHook[] {
    return this.received.filter((hook) => hook.body.event === name);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(request: http.IncomingMessage, response: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.requests += 1;
      const status = this.failWith.shift();
      if (status !== undefined) {
        response.writeHead(status).end();
        return;
      }
      this.received.push({
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        authorization: request.headers.authorization,
        at: timeline(),
      });
      response.writeHead(204).end();
    });
  }
}
