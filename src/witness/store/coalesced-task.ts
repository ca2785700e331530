/**
 * Group commit: a task (an fsync, a rewrite of a small file) that many callers need to have run
 * after their own change. A caller gets a run that STARTS after its call; callers arriving while
 * that run is still queued share it, so a burst of N changes costs two runs, not N.
 */
export class CoalescedTask {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly task: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const before = this.running ?? Promise.resolve();
    const next: Promise<void> = before
      .catch(() => undefined)
      .then(() => {
        // From here on, a new caller's change may be missed by this run: it queues the next one.
        this.queued = undefined;
        this.running = next;
        return this.task();
      });
    this.queued = next;
    const clear = (): void => {
      if (this.running === next) this.running = undefined;
    };
    next.then(clear, clear);
    return next;
  }
}
