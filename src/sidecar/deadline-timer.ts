/**
 * One timer for a deadline that moves on every renewal: the watchdog's stop deadline and the
 * supervisor's backstop. A later deadline only has to be stored where dueAt() reads it (no timer
 * work, no allocation): when the timer fires early it re-arms itself for the rest. An earlier
 * deadline re-arms it at once (moved()). An infinite deadline arms nothing.
 */
import { monotonicNowMs } from './monotonic-clock';

/** setTimeout's upper bound; a longer wait is re-armed when the timer fires. */
const MAX_TIMER_MS = 0x7fffffff;

export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  private armedAt = Infinity;
  private checkPending = false;

  /**
   * `dueAt`: the deadline now (monotonic ms); `onDue`: called once it has passed, if `stillWanted`
   * says so then (a stop may have begun between the timer and the check).
   */
  constructor(
    private readonly dueAt: () => number,
    private readonly onDue: () => void,
    private readonly stillWanted: () => boolean,
  ) {}

  /** Arms the timer for dueAt(), replacing any armed one. */
  arm(): void {
    this.cancel();
    const at = this.dueAt();
    this.armedAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(this.onTimer, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - monotonicNowMs()))));
  }

  /** dueAt() changed: an earlier deadline re-arms now, a later one waits for the timer to fire. */
  moved(): void {
    if (this.dueAt() < this.armedAt - 1) this.arm();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedAt = Infinity;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.armedAt = Infinity;
    // Let messages already received (a later deadline, a report after a freeze) be handled first:
    // they are emitted before the check phase of this loop iteration.
    if (this.checkPending) return;
    this.checkPending = true;
    setImmediate(this.check);
  };

  private readonly check = (): void => {
    this.checkPending = false;
    if (!this.stillWanted()) return;
    if (this.dueAt() - monotonicNowMs() > 1) this.arm();
    else this.onDue(); // at most 1 ms early: stopping early is the safe side
  };
}
