/**
 * The lease watch (design §18.2): what the witness tells operators between decisions. A holder
 * that falls silent is the countdown to a takeover; its lease running out is the moment its peer
 * may be granted; a holder heard again ends both. Nothing here decides anything: the rules of
 * rules.ts still do. Pure: the shell sweeps it with the arbiter's holdings and the time.
 */
import type { HoldingSnapshot } from './types';

export type LeaseWatchKind = 'holder-silent' | 'holder-returned' | 'lease-expired';

export interface LeaseWatchRule {
  readonly name: string;
  readonly kind: LeaseWatchKind;
  /** One line for humans; the event's message adds the figures. */
  readonly why: string;
}

/** In the order a sweep looks at a holding; printed by `witness rules`. */
export const LEASE_WATCH_RULES = {
  returned: {
    name: 'holder-heard-again',
    kind: 'holder-returned',
    why: 'a holder reported silent, or whose lease ran out, is heard again under the same epoch',
  },
  expired: {
    name: 'holder-lease-ran-out',
    kind: 'lease-expired',
    why: "the holder's lease ran out at the witness: its peer may be granted the group now",
  },
  silent: {
    name: 'holder-silent',
    kind: 'holder-silent',
    why: 'the holder has not been heard for --holder-silent-after: a takeover follows its lease unless it returns',
  },
} as const satisfies Record<string, LeaseWatchRule>;

export interface LeaseWatchEvent {
  readonly kind: LeaseWatchKind;
  readonly rule: string;
  readonly group: string;
  readonly holder: string;
  readonly epoch: bigint;
  /** For holder-silent: how long the lease still runs at the witness. */
  readonly countdownMs: number;
  readonly message: string;
}

interface Watched {
  epoch: bigint;
  holder: string;
  silentReported: boolean;
  expiryReported: boolean;
  /** The sweep that last saw the group held; older entries are for groups no longer held. */
  sweep: number;
}

export class LeaseWatch {
  private readonly watched = new Map<string, Watched>();
  private sweeps = 0;

  /** `silentAfterMs` 0: no silence events (a lease running out is still reported). */
  constructor(private readonly silentAfterMs: number) {}

  /**
   * What changed since the last sweep. `visitHoldings` calls its argument once per held group
   * (Arbiter.forEachHolding). Memory is one entry per held group.
   */
  sweep(now: number, visitHoldings: (visit: (holding: HoldingSnapshot) => void) => void): LeaseWatchEvent[] {
    const events: LeaseWatchEvent[] = [];
    const sweep = ++this.sweeps;
    visitHoldings((holding) => {
      const event = this.look(holding, now, sweep);
      if (event !== undefined) events.push(event);
    });
    for (const [group, watched] of this.watched) {
      if (watched.sweep !== sweep) this.watched.delete(group);
    }
    return events;
  }

  private look(holding: HoldingSnapshot, now: number, sweep: number): LeaseWatchEvent | undefined {
    let watched = this.watched.get(holding.group);
    if (watched === undefined || watched.epoch !== holding.epoch || watched.holder !== holding.holder) {
      watched = { epoch: holding.epoch, holder: holding.holder, silentReported: false, expiryReported: false, sweep };
      this.watched.set(holding.group, watched);
    }
    watched.sweep = sweep;
    const silentMs = now - holding.heardAt;
    const live = now < holding.holdUntil;
    const silent = this.silentAfterMs > 0 && silentMs >= this.silentAfterMs;
    const who = `${holding.role ?? 'holder'} ${holding.holder}`;
    if ((watched.silentReported || watched.expiryReported) && live && !silent) {
      watched.silentReported = false;
      watched.expiryReported = false;
      return this.event(LEASE_WATCH_RULES.returned, holding, 0, `${who} is heard again: no takeover`);
    }
    if (!live && !watched.expiryReported) {
      watched.expiryReported = true;
      watched.silentReported = true;
      return this.event(
        LEASE_WATCH_RULES.expired,
        holding,
        0,
        `the lease of ${who} ran out at the witness after ${Math.round(silentMs)} ms of silence: its peer may take over now`,
      );
    }
    if (live && silent && !watched.silentReported) {
      watched.silentReported = true;
      const countdownMs = Math.ceil(holding.holdUntil - now);
      return this.event(
        LEASE_WATCH_RULES.silent,
        holding,
        countdownMs,
        `${who} has not been heard for ${Math.round(silentMs)} ms: takeover in ${countdownMs} ms ` +
          'when its lease runs out at the witness, unless it returns',
      );
    }
    return undefined;
  }

  private event(rule: LeaseWatchRule, holding: HoldingSnapshot, countdownMs: number, message: string): LeaseWatchEvent {
    return {
      kind: rule.kind,
      rule: rule.name,
      group: holding.group,
      holder: holding.holder,
      epoch: holding.epoch,
      countdownMs,
      message,
    };
  }
}
