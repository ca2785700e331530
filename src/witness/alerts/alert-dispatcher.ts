/**
 * Alerts (design §18.3): the chosen events of the witness's event hub, sent to every webhook and
 * mailed through the SMTP server, each destination on its own queue. Subscribing costs arbitration
 * one enqueue per event; delivery happens later, off the request path.
 */
import type { AlertEventName, AlertSettings } from '../../config/alert-options';
import type { Logger } from '../../log/logger';
import type { EventHub } from '../event-hub';
import { type AlertMessage, alertEventName, toAlertMessage } from './alert-message';
import { AlertQueue } from './alert-queue';
import { mailDestination } from './mail-destination';
import { webhookDestination } from './webhook-destination';

export class AlertDispatcher {
  private readonly queues: AlertQueue<AlertMessage>[];
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly settings: AlertSettings,
    logger: Logger,
  ) {
    const destinations = settings.webhooks.map((url) => webhookDestination(url, settings.webhookToken));
    if (settings.smtp !== undefined) destinations.push(mailDestination(settings.smtp, settings.timeoutMs));
    this.queues = destinations.map((destination) => new AlertQueue(destination, settings.timeoutMs, logger));
  }

  listen(events: EventHub): void {
    if (this.queues.length === 0) return;
    this.unsubscribe = events.subscribe('', (event) => {
      const name = alertEventName(event) as AlertEventName;
      if (!this.settings.events.has(name)) return;
      const alert = toAlertMessage(event, name);
      for (const queue of this.queues) queue.push(alert);
    });
  }

  close(): void {
    this.unsubscribe?.();
    for (const queue of this.queues) queue.close();
  }
}
