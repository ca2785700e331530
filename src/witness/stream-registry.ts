/** Long-lived streams (KeepAlive, Watch), so a shutdown can end them instead of waiting forever. */
export class StreamRegistry {
  private readonly enders = new Set<() => void>();

  add(end: () => void): () => void {
    this.enders.add(end);
    return () => this.enders.delete(end);
  }

  endAll(): void {
    for (const end of [...this.enders]) end();
    this.enders.clear();
  }
}
