/**
 * The earliest of the moments at which a decision may change, for `SidecarCore.nextWakeAt`. A
 * condition written `now - since < duration` flips at the first clock reading where the
 * subtraction reaches `duration`, which floating point may put one step away from
 * `since + duration`: the wake is computed for the comparison the core makes, so a shell woken
 * then sees the change, and never sees it earlier.
 */
const bits = new Float64Array(1);
const asInteger = new BigInt64Array(bits.buffer);

/** The next double above `x` (finite x). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  bits[0] = x;
  asInteger[0] = (asInteger[0] as bigint) + (x > 0 ? 1n : -1n);
  return bits[0] as number;
}

const nextDown = (x: number): number => -nextUp(-x);

/** The first `t` with `t - since >= duration`. */
export function firstReadingReaching(since: number, duration: number): number {
  let t = since + duration;
  if (!Number.isFinite(t)) return t;
  while (t - since < duration) t = nextUp(t);
  for (let earlier = nextDown(t); earlier - since >= duration; earlier = nextDown(t)) t = earlier;
  return t;
}

export class WakeTimes {
  private soonest = Number.POSITIVE_INFINITY;

  constructor(private readonly now: number) {}

  /** A condition `now < at` (or `now >= at`) flips at `at`; one already past is not due again. */
  at(at: number): this {
    if (at > this.now && at < this.soonest) this.soonest = at;
    return this;
  }

  /** A condition `now - since < duration` flips when the silence (or delay) reaches `duration`. */
  afterQuiet(since: number, duration: number): this {
    return Number.isFinite(since) ? this.at(firstReadingReaching(since, duration)) : this;
  }

  get earliest(): number {
    return this.soonest;
  }
}
