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

/** What a sweep reads: the arbiter's holdings (Arbiter.holdingsForWatch). */
export interface WatchedHoldings {
  /** Each held group whose lease has run out at `now`, or whose holder has been silent for `silentAfterMs` (0: never). */
  forEachDue(now: number, silentAfterMs: number, visit: (holding: HoldingSnapshot) => void): void;
  /** The group's holding; undefined when nobody holds it (or it is gone). */
  holdingOf(group: string): HoldingSnapshot | undefined;
}

/** A holding the watch has announced something of: what it said. */
interface Reported {
  readonly epoch: bigint;
  readonly holder: string;
  silentReported: boolean;
  expiryReported: boolean;
}

export class LeaseWatch {
  /**
   * The holdings announced silent or expired, and not heard again since. Only these and the due
   * holdings are looked at: a sweep of 10,000 held groups whose holders renew costs no more than
   * a pass over them with two comparisons each.
   */
  private readonly reported = new Map<string, Reported>();

  /** `silentAfterMs` 0: no silence events (a lease running out is still reported). */
  constructor(private readonly silentAfterMs: number) {}

  /** What changed since the last sweep. Memory is one entry per holding announced and not heard again. */
  sweep(now: number, holdings: WatchedHoldings): LeaseWatchEvent[] {
    const events: LeaseWatchEvent[] = [];
    this.reported.forEach((reported, group) => {
      const holding = holdings.holdingOf(group);
      // Another holder or epoch is another countdown: announced afresh if it is due.
      if (holding === undefined || holding.epoch !== reported.epoch || holding.holder !== reported.holder) {
        this.reported.delete(group);
        return;
      }
      if (this.isDue(holding, now)) return;
      this.reported.delete(group);
      events.push(this.event(LEASE_WATCH_RULES.returned, holding, 0, `${who(holding)} is heard again: no takeover`));
    });
    holdings.forEachDue(now, this.silentAfterMs, (holding) => {
      const event = this.look(holding, now);
      if (event !== undefined) events.push(event);
    });
    return events;
  }

  private isDue(holding: HoldingSnapshot, now: number): boolean {
    return now >= holding.holdUntil || (this.silentAfterMs > 0 && now - holding.heardAt >= this.silentAfterMs);
  }

  /** A holding the arbiter found due (its lease has run out, or its holder is silent): checked again here. */
  private look(holding: HoldingSnapshot, now: number): LeaseWatchEvent | undefined {
    if (!this.isDue(holding, now)) return undefined;
    let reported = this.reported.get(holding.group);
    if (reported === undefined) {
      reported = { epoch: holding.epoch, holder: holding.holder, silentReported: false, expiryReported: false };
      this.reported.set(holding.group, reported);
    }
    const silentMs = now - holding.heardAt;
    if (now >= holding.holdUntil) {
      if (reported.expiryReported) return undefined;
      reported.expiryReported = true;
      reported.silentReported = true;
      return this.event(
        LEASE_WATCH_RULES.expired,
        holding,
        0,
        `the lease of ${who(holding)} ran out at the witness after ${Math.round(silentMs)} ms of silence: its peer may take over now`,
      );
    }
    if (reported.silentReported) return undefined;
    reported.silentReported = true;
    const countdownMs = Math.ceil(holding.holdUntil - now);
    return this.event(
      LEASE_WATCH_RULES.silent,
      holding,
      countdownMs,
      `${who(holding)} has not been heard for ${Math.round(silentMs)} ms: takeover in ${countdownMs} ms ` +
        'when its lease runs out at the witness, unless it returns',
    );
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

/** Built only for an event: most sweeps of a holding find nothing to say. */
function who(holding: HoldingSnapshot): string {
  return `${holding.role ?? 'holder'} ${holding.holder}`;
}
