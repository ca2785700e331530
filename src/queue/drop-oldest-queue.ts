/**
 * Work handed to something slower than its producer (an alert destination, an `--on-event`
 * command): items are handled one at a time, in order, and at most `limit` wait. When more arrive,
 * the oldest waiting one is dropped, counted and logged (the first drop and every hundredth), so
 * the producer never waits and memory never grows without bound.
 */
import type { Logger } from '../log/logger';

export interface DropOldestQueueSettings<T> {
  readonly limit: number;
  /** Handles one item; the next waits until it settles. Must not throw. */
  readonly handle: (item: T) => Promise<void>;
  readonly logger: Logger;
  /** Added to the drop warning: which consumer it is. */
  readonly logFields: Record<string, unknown>;
  /** The drop warning's message. */
  readonly dropMessage: string;
}

export class DropOldestQueue<T> {
  private readonly waiting: T[] = [];
  private handling = false;
  private closed = false;
  private dropped = 0;

  constructor(private readonly settings: DropOldestQueueSettings<T>) {}

  push(item: T): void {
    if (this.closed) return;
    const { limit, logger, logFields, dropMessage } = this.settings;
    if (this.waiting.length >= limit) {
      this.waiting.shift();
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 100 === 0)
        logger.warn({ ...logFields, dropped: this.dropped, limit }, dropMessage);
    }
    this.waiting.push(item);
    if (!this.handling) void this.drain();
  }

  /** What is waiting is dropped; an item being handled finishes on its own. */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
  }

  private async drain(): Promise<void> {
    this.handling = true;
    try {
      for (let item = this.waiting.shift(); item !== undefined && !this.closed; item = this.waiting.shift()) {
        await this.settings.handle(item);
      }
    } finally {
      this.handling = false;
    }
  }
}
