/**
 * Operators' reads wait their turn behind the pairs' heartbeats (design §17.6): each runs in a
 * turn of its own (setImmediate), one per turn, so heartbeats that arrived meanwhile are read and
 * answered between two pages of ListGroups instead of behind all of them. A bounded queue: past
 * `max` waiting reads, a read is refused RESOURCE_EXHAUSTED rather than held in memory.
 */
import { WireError } from '../wire/wire-error';

export class TurnQueue {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  constructor(private readonly max: number) {}

  run<T>(task: () => T): Promise<T> {
    if (this.waiting.length >= this.max) {
      return Promise.reject(
        new WireError('resource-exhausted', '', `more than ${this.max} Admin reads are waiting; retry later`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push(() => {
        try {
          resolve(task());
        } catch (error) {
          reject(error);
        }
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.waiting.shift()?.();
      this.schedule();
    });
  }
}
