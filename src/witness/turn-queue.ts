/**
 * Operators' reads wait their turn behind the pairs' heartbeats (design §17.6): each runs in a
 * turn of its own, one per turn, so heartbeats that arrived meanwhile are read and answered
 * between two pages of ListGroups instead of behind all of them; and after a read that took d ms
 * the next waits d * (1 - share) / share, so reads never take more than `share` of the event loop,
 * however many operators ask at once. A bounded queue: past `max` waiting reads, a read is
 * refused RESOURCE_EXHAUSTED rather than held in memory.
 */
import { performance } from 'node:perf_hooks';
import { WireError } from '../wire/wire-error';

/** The share of the witness's event loop operators' reads may take. */
export const ADMIN_READ_SHARE = 0.2;

export class TurnQueue {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  constructor(
    private readonly max: number,
    private readonly share = ADMIN_READ_SHARE,
  ) {}

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
      this.schedule(0);
    });
  }

  private schedule(restMs: number): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    const next = (): void => {
      this.scheduled = false;
      const started = performance.now();
      this.waiting.shift()?.();
      // Measured once the answer is on its way: its encoding runs in the microtasks the task's
      // result sets off, queued before this one.
      queueMicrotask(() => {
        const tookMs = performance.now() - started;
        this.schedule((tookMs * (1 - this.share)) / this.share);
      });
    };
    if (restMs < 1) setImmediate(next);
    else setTimeout(next, restMs);
  }
}
