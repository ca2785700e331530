/**
 * Follows whether the store can take writes and still holds its lock, for the health service.
 * A write that failed marks the store unhealthy at once; a probe write each interval brings it
 * back once the disk can write again. A lost lock is final: another witness may own the store.
 */
import type { Logger } from '../log/logger';
import { LockLostError } from './store/data-dir-lock';
import type { WitnessStore } from './store/witness-store';

export const STORE_CHECK_INTERVAL_MS = 1_000;

export interface StoreHealthEvents {
  /** The store can (true) or cannot (false) take writes. */
  readonly onWritable: (writable: boolean) => void;
  readonly onLockLost: (error: LockLostError) => void;
}

export class StoreHealth {
  private writable = true;
  private lost = false;
  private checking = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: WitnessStore,
    private readonly logger: Logger,
    private readonly events: StoreHealthEvents,
    private readonly intervalMs = STORE_CHECK_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  writeFailed(error: unknown): void {
    if (error instanceof LockLostError) this.loseLock(error);
    else this.setWritable(false, error);
  }

  private async check(): Promise<void> {
    if (this.checking || this.lost) return;
    this.checking = true;
    try {
      await this.store.check(!this.writable);
      this.setWritable(true, undefined);
    } catch (error) {
      this.writeFailed(error);
    } finally {
      this.checking = false;
    }
  }

  private setWritable(writable: boolean, error: unknown): void {
    if (writable === this.writable) return;
    this.writable = writable;
    if (writable) this.logger.info('the store takes writes again: serving');
    else this.logger.error({ err: error }, 'the store cannot write: health is NOT_SERVING, grants fail until it can');
    this.events.onWritable(writable);
  }

  private loseLock(error: LockLostError): void {
    if (this.lost) return;
    this.lost = true;
    this.stop();
    this.events.onLockLost(error);
  }
}
