/**
 * Sweeps the lease watch (design §18.2), and the sync watch (§21.3) when --sync-alert-after is set, on a timer and publishes what it finds as events, logged
 * with group, node and epoch like every arbitration event. A sweep reads memory only: it never
 * waits for the store and never holds a request back.
 */
import type { Arbiter } from '../core/witness/arbiter';
import { LeaseWatch } from '../core/witness/lease-watch';
import { SyncWatch } from '../core/witness/sync-watch';
import type { Logger } from '../log/logger';
import { toWireSyncWatchEvent, toWireWatchEvent } from '../wire/admin-messages';
import type { EventHub } from './event-hub';

/** A sweep at least this often, so that an event is at most this late (10,000 groups: well under 1 ms). */
const SWEEP_EVERY_MS = 100;

export class LeaseWatchTimer {
  private readonly watch: LeaseWatch;
  private readonly syncWatch: SyncWatch | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly arbiter: Arbiter,
    private readonly events: EventHub,
    private readonly logger: Logger,
    private readonly now: () => number,
    silentAfterMs: number,
    /** --sync-alert-after; undefined: no sync alerts. */
    syncAlertAfterMs?: number,
  ) {
    this.watch = new LeaseWatch(silentAfterMs);
    this.syncWatch = syncAlertAfterMs === undefined ? undefined : new SyncWatch(syncAlertAfterMs);
  }

  start(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sweep(): void {
    for (const event of this.watch.sweep(this.now(), this.arbiter)) {
      this.logger.info(
        {
          group: event.group,
          node: event.holder,
          epoch: event.epoch.toString(),
          event: event.kind,
          rule: event.rule,
          countdownMs: event.countdownMs,
        },
        event.message,
      );
      this.events.publish(toWireWatchEvent(event));
    }
    if (this.syncWatch === undefined) return;
    const now = this.now();
    for (const event of this.syncWatch.sweep(now, (visit) => this.arbiter.forEachStandbySync(now, visit))) {
      const level = event.kind === 'sync-stale' ? 'warn' : 'info';
      this.logger[level](
        { group: event.group, node: event.node, epoch: event.epoch.toString(), event: event.kind, rule: event.rule },
        event.message,
      );
      this.events.publish(toWireSyncWatchEvent(event));
    }
  }
}
