/**
 * Keeps the store's lock refreshed and follows whether the store can take writes and may decide,
 * for the health service. A write that failed marks the store unhealthy at once; a probe write at
 * each check brings it back once the disk can write again. A check that hangs (a stuck disk) lets
 * the lock's lease run out, and health says so. A lost hold is final: another witness may own the store.
 */
import type { Logger } from '../log/logger';
import { LOCK_REFRESH_MS } from './store/data-dir-lock';
import { StoreHoldLostError, StorePreconditionError, type WitnessStore } from './store/witness-store';

export interface StoreHealthEvents {
  /** The witness can (true) or cannot (false) serve: the store writes and its lock is confirmed. */
  readonly onServing: (serving: boolean) => void;
  readonly onLockLost: (error: StoreHoldLostError) => void;
}

export class StoreHealth {
  private writable = true;
  private confirmed = true;
  private lost = false;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;
  /** Wakes at the moment the store stops being allowed to decide, unless a check confirms it before. */
  private edge: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: WitnessStore,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly events: StoreHealthEvents,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), LOCK_REFRESH_MS);
    this.timer.unref();
  }

  private tick(): void {
    if (this.lost) return;
    try {
      this.store.confirmHold();
    } catch (error) {
      this.writeFailed(error);
      if (this.lost) return;
    }
    this.checkConfirmed();
    if (!this.writable && !this.probing) void this.probe();
  }

  private checkConfirmed(): void {
    const now = this.now();
    const confirmed = this.store.mayDecide(now);
    if (confirmed !== this.confirmed) {
      this.confirmed = confirmed;
      if (!confirmed) this.logger.error(`${this.store.holdName} could not be confirmed in time: deciding nothing`);
      this.report();
    }
    clearTimeout(this.edge);
    if (!confirmed || this.lost) return;
    this.edge = setTimeout(() => this.checkConfirmed(), Math.max(0, this.store.decidesUntil() - now) + 1);
    this.edge.unref();
  }

  /** Why the witness cannot serve now, in one line (readiness, design §19.1); undefined when it can. */
  problem(): string | undefined {
    if (this.lost) return `${this.store.holdName} is lost`;
    if (!this.confirmed) return `${this.store.holdName} is not confirmed`;
    if (!this.writable) return 'the store cannot write';
    return undefined;
  }

  private report(): void {
    this.events.onServing(this.writable && this.confirmed && !this.lost);
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.edge);
  }

  writeFailed(error: unknown): void {
    // The store refused a stale write: the disk is fine, and the refusal is logged with the decision.
    if (error instanceof StorePreconditionError) return;
    if (error instanceof StoreHoldLostError) this.loseLock(error);
    else this.setWritable(false, error);
  }

  /** After a failed write: a scratch write and fsync, until one succeeds. */
  private async probe(): Promise<void> {
    this.probing = true;
    try {
      await this.store.probeWrite();
      this.setWritable(true, undefined);
    } catch {
      // Still failing: the next tick tries again.
    } finally {
      this.probing = false;
    }
  }

  private setWritable(writable: boolean, error: unknown): void {
    if (writable === this.writable) return;
    this.writable = writable;
    if (writable) this.logger.info('the store takes writes again');
    else this.logger.error({ err: error }, 'the store cannot write: health is NOT_SERVING, grants fail until it can');
    this.report();
  }

  private loseLock(error: StoreHoldLostError): void {
    if (this.lost) return;
    this.lost = true;
    this.stop();
    this.report();
    this.events.onLockLost(error);
  }
}
