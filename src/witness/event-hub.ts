/**
 * Arbitration events: stamped with an id and a time, kept in a bounded history for resuming
 * Watch streams (`--event-history`), and fanned out to the streams open now (design §18).
 */
import type { GroupEvent } from '../gen/witness/v1/GroupEvent';
import type { EventBody } from '../wire/admin-messages';

type Listener = (event: GroupEvent) => void;

/**
 * Ids of one run start at its start time (wall-clock ms) times this, so that the next run's ids
 * are above this run's while the wall clock moves forward: room for a million events a millisecond.
 */
const IDS_PER_MS = 1_000_000n;

export class EventHub {
  private readonly listeners = new Set<{ group: string; listener: Listener }>();
  /** The last `historySize` events, oldest first, as a ring from `oldest`. */
  private readonly history: GroupEvent[] = [];
  private oldest = 0;
  /** The id of the latest event; the one before the first when there is none yet. */
  private lastId: bigint;

  constructor(
    private readonly historySize: number,
    private readonly wallClockMs: () => number,
  ) {
    this.lastId = BigInt(Math.max(0, Math.floor(wallClockMs()))) * IDS_PER_MS;
  }

  /** `group` '' receives every group's events. Returns the unsubscribe function. */
  subscribe(group: string, listener: Listener): () => void {
    const entry = { group, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  publish(body: EventBody): void {
    this.lastId += 1n;
    const event: GroupEvent = {
      ...body,
      id: this.lastId.toString(),
      timeUnixMs: String(Math.max(0, Math.floor(this.wallClockMs()))),
    };
    this.keep(event);
    for (const { group, listener } of this.listeners) {
      if (group === '' || group === event.group) listener(event);
    }
  }

  /** The id the next stream may resume after to miss nothing from now on. */
  get latestId(): bigint {
    return this.lastId;
  }

  /**
   * The kept events after `afterId` (of `group`, or all when ''), oldest first, at most `limit`;
   * undefined when events after it are no longer kept, or the id is not one of this run's.
   */
  after(afterId: bigint, group: string, limit = Infinity): GroupEvent[] | undefined {
    const kept = this.history.length;
    const oldestId = this.lastId - BigInt(kept) + 1n;
    if (afterId < oldestId - 1n || afterId > this.lastId) return undefined;
    const events: GroupEvent[] = [];
    for (let i = Number(afterId - oldestId + 1n); i < kept && events.length < limit; i += 1) {
      const event = this.kept(i);
      if (group === '' || event.group === group) events.push(event);
    }
    return events;
  }

  /** The latest `limit` kept events (of `group`, or all when ''), oldest first. */
  latest(group: string, limit: number): GroupEvent[] {
    const events: GroupEvent[] = [];
    for (let i = this.history.length - 1; i >= 0 && events.length < limit; i -= 1) {
      const event = this.kept(i);
      if (group === '' || event.group === group) events.push(event);
    }
    return events.reverse();
  }

  get size(): number {
    return this.listeners.size;
  }

  /** The `i`-th kept event, oldest first. */
  private kept(i: number): GroupEvent {
    return this.history[(this.oldest + i) % this.history.length] as GroupEvent;
  }

  private keep(event: GroupEvent): void {
    if (this.historySize === 0) return;
    if (this.history.length < this.historySize) {
      this.history.push(event);
      return;
    }
    this.history[this.oldest] = event;
    this.oldest = (this.oldest + 1) % this.historySize;
  }
}
