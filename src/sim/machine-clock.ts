/**
 * One node's machine as its processes see it (node-machine.ts has the processes): a monotonic
 * clock at the machine's rate, which a whole-machine freeze (a paused VM, design §14) may stop,
 * and the freeze itself, during which nothing on the machine runs and whatever comes due waits for
 * the thaw. Every process of the machine reads this one clock (each from its own origin), so a
 * stopped clock moves every deadline on the machine later in real time alike.
 */
import type { Task } from './event-queue';
import type { World } from './world';

export class MachineClock {
  /** Nothing on the machine runs; what comes due waits for the thaw. */
  frozen = false;
  /** Local ms the clock has not counted: the freezes that stopped it. */
  private clockShift = 0;
  private frozenSince = 0;
  private stopsClock = false;
  private frozenTasks: Task[] = [];

  constructor(
    private readonly world: World,
    readonly rate: number,
  ) {}

  /** The clock of a process whose origin is `offset`. */
  now(offset: number): number {
    return this.rate * this.world.t + offset - this.clockShift;
  }

  freeze(clockStops: boolean): void {
    this.frozen = true;
    this.frozenSince = this.world.t;
    this.stopsClock = clockStops;
  }

  /** Ends the freeze: the clock takes up where it stopped (or not), and what came due runs, in order. */
  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    if (this.stopsClock) this.clockShift += this.rate * (this.world.t - this.frozenSince);
    for (const task of this.frozenTasks.splice(0)) task();
  }

  /** How many tasks wait for the thaw. */
  get waiting(): number {
    return this.frozenTasks.length;
  }

  /** Runs `fn` now, or at the thaw if the machine is frozen. */
  run(fn: () => void): void {
    if (this.frozen) {
      this.frozenTasks.push(() => this.run(fn));
      return;
    }
    fn();
  }

  /**
   * Sets a timer for `localMs` on this machine's clock, `lateMs` real ms late (a scheduling delay),
   * run through `gate` when it comes due (`run` for the machine's own processes, the sidecar's
   * gate for the sidecar's timers). A freeze that stopped the clock in the meantime moves it later
   * by what the clock did not count; without one it is exactly the timer it always was.
   */
  timer(
    localMs: number,
    lateMs: number,
    fn: () => void,
    gate: (fn: () => void) => void = (f) => this.run(f),
    epsilonMs = 0,
  ): void {
    const w = this.world;
    let shift = this.clockShift;
    const due = this.rate * w.t - shift + localMs;
    const arm = (at: number): void =>
      w.at(at, () =>
        gate(() => {
          if (this.clockShift !== shift) {
            shift = this.clockShift;
            const left = due - (this.rate * w.t - shift);
            if (left > 0) {
              arm(w.t + left / this.rate + epsilonMs);
              return;
            }
          }
          fn();
        }),
      );
    // Summed in this order, as the timers were before freezes existed, so schedules replay alike.
    arm(w.t + localMs / this.rate + epsilonMs + lateMs);
  }
}
