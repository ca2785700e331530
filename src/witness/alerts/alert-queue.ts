/**
 * One alert destination's queue (design §18.3): alerts go out one at a time, in order, each retried
 * with back-off until it is delivered, refused for good, or out of attempts. Bounded: when the
 * destination is down for long, the oldest waiting alerts are dropped, counted and logged, so that
 * alerts never hold memory without limit and never slow arbitration, which only enqueues.
 */
import type { Logger } from '../../log/logger';
import { DropOldestQueue } from '../../queue/drop-oldest-queue';

/** Waiting alerts per destination. */
export const ALERT_QUEUE_LIMIT = 1_000;
/** Attempts per alert, and the back-off before the second (doubling, at most BACKOFF_MAX_MS). */
export const ALERT_ATTEMPTS = 5;
export const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8_000;

/** A refusal that asking again will not change (an HTTP 4xx, a mail address refused). */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

export interface AlertDestination<T> {
  /** How the log names it: no secret, no path (a webhook's path may be its secret). */
  readonly name: string;
  /** Delivers one alert within `signal`'s time; throws when it did not. */
  deliver(alert: T, signal: AbortSignal): Promise<void>;
  close(): void;
}

export class AlertQueue<T> {
  private readonly queue: DropOldestQueue<T>;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  /** Delivered and given up, for tests and the log at close. */
  delivered = 0;
  failed = 0;

  constructor(
    private readonly destination: AlertDestination<T>,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly backoffFirstMs = BACKOFF_FIRST_MS,
  ) {
    this.queue = new DropOldestQueue({
      limit: ALERT_QUEUE_LIMIT,
      handle: (alert) => this.send(alert),
      logger,
      logFields: { destination: destination.name },
      dropMessage: 'alerts are arriving faster than this destination takes them: the oldest waiting ones are dropped',
    });
  }

  push(alert: T): void {
    this.queue.push(alert);
  }

  /** Stops retrying and sending; what is waiting is dropped. */
  close(): void {
    this.closed = true;
    this.queue.close();
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    this.destination.close();
  }

  private async send(alert: T): Promise<void> {
    let backoffMs = this.backoffFirstMs;
    for (let attempt = 1; !this.closed; attempt += 1) {
      try {
        await this.destination.deliver(alert, AbortSignal.timeout(this.timeoutMs));
        this.delivered += 1;
        return;
      } catch (error) {
        const permanent = error instanceof PermanentDeliveryError;
        if (permanent || attempt >= ALERT_ATTEMPTS) {
          this.failed += 1;
          this.logger.warn(
            { destination: this.destination.name, attempts: attempt, err: describe(error) },
            permanent ? 'an alert was refused by its destination' : 'an alert could not be delivered; giving up on it',
          );
          return;
        }
        await this.pause(backoffMs);
        backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeRetry = resolve;
      this.retryTimer = setTimeout(resolve, ms);
      this.retryTimer.unref();
    });
  }
}

/** The error's message only: an error object of a failed request may carry its headers. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
