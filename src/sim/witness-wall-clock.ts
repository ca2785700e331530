/**
 * The witness machine's wall clock, which only picks store generations (src/core/epoch.ts). It
 * moves with real time, but a restart that keeps the store may find it stepped back
 * (witness-clock-step): an NTP step while the witness was down, to about what it read at the last
 * open, up to a quarter lease before it. The open then has to move above the stored generation by
 * itself, and waits (at most that much and a generation) for the clock to reach it. Never at a
 * wipe: design §5.1 assumes a replaced store's clock is not behind its last open.
 */
import { GENERATION_UNIT_MS } from '../core/epoch';
import { WALL0_MS } from './simulated-store';
import type { World } from './world';

/** The longest step back behind the last open, and never more than a quarter lease. */
const STEP_BEHIND_LAST_OPEN_MAX_MS = 100;

export class WitnessWallClock {
  private offsetMs = 0;
  private lastOpenMs = 0;

  constructor(private readonly world: World) {}

  read(): number {
    return WALL0_MS + this.world.t + this.offsetMs;
  }

  /** The store opened at `wallMs`. */
  opened(wallMs: number): void {
    this.lastOpenMs = wallMs;
  }

  /** Before a restart that keeps the store: stepped back now and then, in the fault phase. */
  maybeStepBack(who: string): void {
    const w = this.world;
    const p = w.plan.wallStepBackProbability;
    if (w.healed || p === 0 || !w.forget.chance(p)) return;
    const behindMs = Math.min(STEP_BEHIND_LAST_OPEN_MAX_MS, 0.25 * w.plan.primary.leaseMs);
    const back = this.read() - (this.lastOpenMs + w.forget.range(-behindMs, GENERATION_UNIT_MS));
    if (back <= 0) return;
    this.offsetMs -= back;
    if (w.trace.on1) w.trace.log(1, who, `wall clock stepped back ${back.toFixed(1)}ms while down`);
  }
}
