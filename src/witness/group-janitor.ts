/**
 * Forgets groups nobody holds and nobody has been heard from for `--forget-after`: their records
 * and memory go, so churn does not pile up files. A name used again starts with epochs above every
 * one handed out before (Arbiter.forgettable), so S2 holds across a forget.
 */
import type { Arbiter } from '../core/witness/arbiter';
import type { Logger } from '../log/logger';
import type { ArbitrationService } from './arbitration-service';

/** Groups removed per sweep: a sweep never holds the store for long. */
export const FORGET_BATCH = 100;

/** Often enough that a group outlives its silence by at most a tenth, rarely enough to cost nothing. */
export function sweepIntervalMs(silentMs: number): number {
  return Math.min(60_000, Math.max(100, Math.floor(silentMs / 10)));
}

export class GroupJanitor {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly arbiter: Arbiter,
    private readonly service: ArbitrationService,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly silentMs: number,
  ) {}

  start(): void {
    if (this.silentMs === 0) return;
    this.timer = setInterval(() => void this.sweep(), sweepIntervalMs(this.silentMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    let forgotten = 0;
    try {
      for (const group of this.arbiter.forgettable(this.now(), this.silentMs, FORGET_BATCH)) {
        try {
          if (await this.service.forget(group, this.silentMs)) {
            forgotten += 1;
            this.logger.info({ group, silentMs: this.silentMs }, 'forgot a group nobody holds or was heard from');
          }
        } catch (error) {
          this.logger.warn({ group, err: error }, 'could not remove a forgotten group; will try again');
        }
      }
    } finally {
      this.sweeping = false;
    }
    return forgotten;
  }
}
