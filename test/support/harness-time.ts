/**
 * The sidecar harness's real time: one queue of events ordered by time, then by when they were
 * scheduled. Every party reads its own clock from it (real time times its rate), so a test runs
 * a whole history synchronously and can stop it anywhere.
 */
export class HarnessTime {
  now = 0;
  private readonly events: { t: number; seq: number; run: () => void }[] = [];
  private seq = 0;
  private sameInstant = 0;

  /** `describe` says what happened lately, for the message of a failed run. */
  constructor(private readonly describe: () => string) {}

  at(t: number, run: () => void): void {
    const ev = { t, seq: this.seq++, run };
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.events[mid] as { t: number; seq: number };
      if (e.t < t || (e.t === t && e.seq < ev.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.events.splice(lo, 0, ev);
  }

  runUntil(t: number): void {
    for (;;) {
      const ev = this.events[0];
      if (ev === undefined || ev.t > t) break;
      this.step();
    }
    this.now = Math.max(this.now, t);
  }

  /** Runs until `pred` holds after an event, or fails at `limit`. */
  runUntilTrue(pred: () => boolean, limit: number): number {
    for (;;) {
      if (pred()) return this.now;
      const ev = this.events[0];
      if (ev === undefined || ev.t > limit)
        throw new Error(`condition not reached by ${limit} (now ${this.now})\n${this.describe()}`);
      this.step();
    }
  }

  /** Runs the next event; fails on a livelock (a node that keeps acting without time passing). */
  private step(): void {
    const ev = this.events.shift() as { t: number; run: () => void };
    this.sameInstant = ev.t > this.now ? 0 : this.sameInstant + 1;
    if (this.sameInstant > 5000) {
      throw new Error(`livelock: more than 5000 events at t=${this.now} without time passing\n${this.describe()}`);
    }
    this.now = Math.max(this.now, ev.t);
    ev.run();
  }
}

/** The first real time, not before `realNow`, at which a clock running at `rate` reads `local` or more. */
export function firstRealTimeReading(local: number, rate: number, realNow: number): number {
  let real = Math.max(realNow, local / rate);
  while (real * rate < local) real = nextUp(real);
  return real;
}

function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}
