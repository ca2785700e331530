/**
 * Alert delivery (design §18.3) against a real HTTP receiver on loopback: in order, retried with
 * back-off on errors a retry can change, given up at once on a refusal, with the bearer token.
 */
import { expect } from 'chai';
import pino from 'pino';
import type { AlertMessage } from '../../src/witness/alerts/alert-message';
import { mailSubject } from '../../src/witness/alerts/alert-message';
import { AlertQueue } from '../../src/witness/alerts/alert-queue';
import { webhookDestination } from '../../src/witness/alerts/webhook-destination';
import { timeline } from '../support/timeline';
import { WebhookReceiver } from '../support/webhook-receiver';

const SILENT = pino({ level: 'silent' });
const TOKEN = 'x'.repeat(40);

function alert(id: number, overrides: Partial<AlertMessage> = {}): AlertMessage {
  return {
    id: String(id),
    event: 'holder-silent',
    time: '2026-12-03T10:00:00.000Z',
    group: 'g1',
    node: 'a',
    epoch: '7',
    holder: 'a',
    rule: 'holder-silent',
    message: 'primary a has not been heard for 500 ms',
    countdownMs: 1500,
    ...overrides,
  };
}

async function until(what: string, predicate: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('alert queue and webhook', function () {
  this.timeout(20_000);
  let receiver: WebhookReceiver;
  let queue: AlertQueue<AlertMessage> | undefined;
  beforeEach(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterEach(async () => {
    queue?.close();
    await receiver.close();
  });

  it('posts each alert as JSON, in order, with the bearer token', async () => {
    queue = new AlertQueue(webhookDestination(new URL(receiver.url), TOKEN), 2000, SILENT);
    for (let id = 1; id <= 5; id += 1) queue.push(alert(id));
    await until('5 alerts', () => receiver.received.length === 5, 5000);
    expect(receiver.received.map((r) => r.body.id)).to.deep.equal(['1', '2', '3', '4', '5']);
    expect(receiver.received[0]!.body).to.deep.equal({ ...alert(1) });
    expect(receiver.received[0]!.authorization).to.equal(`Bearer ${TOKEN}`);
    // The receiver has the fifth body before the queue has its answer: wait for the queue's count.
    await until('the queue counts 5 delivered', () => queue!.delivered === 5, 5000);
    expect(queue.failed).to.equal(0);
  });

  it('retries a 503 and a 429 with back-off, and the next alert waits its turn', async () => {
    receiver.failWith = [503, 429];
    queue = new AlertQueue(webhookDestination(new URL(receiver.url), ''), 2000, SILENT);
    const pushed = timeline();
    queue.push(alert(1));
    queue.push(alert(2));
    await until('both delivered', () => receiver.received.length === 2, 8000);
    expect(receiver.requests).to.equal(4);
    expect(receiver.received.map((r) => r.body.id)).to.deep.equal(['1', '2']);
    // Back-off 0.5 s, then 1 s, before the third attempt of the first alert.
    expect(receiver.received[0]!.at - pushed).to.be.at.least(1500);
    expect(receiver.received[0]!.authorization).to.equal(undefined);
  });

  it('gives up at once on a 400 and goes on with the next alert', async () => {
    receiver.failWith = [400];
    queue = new AlertQueue(webhookDestination(new URL(receiver.url), ''), 2000, SILENT);
    queue.push(alert(1));
    queue.push(alert(2));
    await until('the second delivered', () => receiver.received.length === 1, 5000);
    expect(receiver.requests).to.equal(2);
    expect(receiver.received[0]!.body.id).to.equal('2');
    expect(queue.failed).to.equal(1);
  });

  it('gives up after 5 attempts against a port nobody listens on', async () => {
    const port = Number(new URL(receiver.url).port);
    await receiver.close();
    queue = new AlertQueue(webhookDestination(new URL(`http://127.0.0.1:${port}/x`), ''), 500, SILENT, 20);
    queue.push(alert(1));
    // Back-offs 20 + 40 + 80 + 160 ms between the five attempts.
    await until('given up', () => queue!.failed === 1, 5000);
    expect(queue.delivered).to.equal(0);
    receiver = await WebhookReceiver.start();
  });

  it('a mail subject tells the countdown in seconds', () => {
    expect(mailSubject(alert(1))).to.equal('[failover-witness] g1: a unreachable: takeover in 1.5 s unless it returns');
  });
});
