/** Fan-out of arbitration events to Admin.Watch streams. */
import type { GroupEvent } from '../gen/witness/v1/GroupEvent';

type Listener = (event: GroupEvent) => void;

export class EventHub {
  private readonly listeners = new Set<{ group: string; listener: Listener }>();

  /** `group` '' receives every group's events. Returns the unsubscribe function. */
  subscribe(group: string, listener: Listener): () => void {
    const entry = { group, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  publish(event: GroupEvent): void {
    for (const { group, listener } of this.listeners) {
      if (group === '' || group === event.group) listener(event);
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
