/**
 * The start-up grace of a witness (design §6.5): a lease handed out before this witness started,
 * by it or by a witness before it over the same store, may still run until then; a holder
 * restored from the store is held through it.
 */
import { restartGrace } from '../lease';
import type { ArbiterConfig, ArbiterStartup } from './arbiter-config';

export class StartupGrace {
  /** The longest lease the start-up grace covers: this store's, or a caller's over a new store (design §6.5). */
  private graceLeaseMs: number;
  private readonly startedAt: number;
  private readonly graceExtraMs: number;
  private readonly graceCoversAskedLeases: boolean;

  constructor(
    private readonly config: ArbiterConfig,
    startup: ArbiterStartup,
  ) {
    this.startedAt = startup.now;
    this.graceExtraMs = startup.graceExtraMs ?? 0;
    this.graceCoversAskedLeases = startup.storeIsNew === true;
    this.graceLeaseMs = Math.max(config.maxLeaseMs, startup.longestEarlierLeaseMs ?? 0);
  }

  /**
   * Over a store with no record of earlier leases, a caller that asks for a lease longer than the
   * grace covers may hold one that long from a witness before this one, configured with a longer
   * --max-lease over a store since lost. The grace, counted from this witness's start, grows to
   * cover it; it never shrinks.
   */
  coverRequestedLease(requestedMs: number): void {
    if (!this.graceCoversAskedLeases || requestedMs <= this.graceLeaseMs) return;
    this.graceLeaseMs = requestedMs;
  }

  /** When the start-up grace ends: counted from this witness's start, for the longest lease it covers. */
  get until(): number {
    return this.startedAt + restartGrace(this.graceLeaseMs, this.config.bounds) + this.graceExtraMs;
  }
}
