/**
 * Writes of one key (a group's record) in call order: each starts once the one before it has
 * settled, success or not, so a later write never lands under an earlier one.
 */
export class PerKeyOrder {
  /** Last write per key; the next one for that key starts after it settles. */
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const done = previous.catch(() => undefined).then(task);
    this.tails.set(key, done);
    const forget = (): void => {
      if (this.tails.get(key) === done) this.tails.delete(key);
    };
    done.then(forget, forget);
    return done;
  }

  /** Resolves once every write started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.tails.values()]);
  }
}
