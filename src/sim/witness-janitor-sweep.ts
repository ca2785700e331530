/**
 * The witness's janitor under `--forget-after` (witness-forget): GroupJanitor's sweep, on its
 * interval on the witness's clock while one process runs, with the production Arbiter.forgettable
 * and ArbitrationService.forget; the store removes the record in its write order (witness-node.ts).
 */
import type { Arbiter } from '../core/witness/arbiter';
import type { ArbitrationService } from '../witness/arbitration-service';
import { FORGET_BATCH, sweepIntervalMs } from '../witness/group-janitor';
import type { World } from './world';

export interface SweptProcess {
  readonly arbiter: Arbiter;
  readonly service: ArbitrationService;
  /** The witness's monotonic clock, and its rate against real time. */
  readonly now: () => number;
  readonly rate: number;
  /** Whether this process still runs. */
  readonly alive: () => boolean;
}

export function sweepWhileAlive(world: World, process: SweptProcess): void {
  const silentMs = world.plan.forgetAfterMs;
  if (silentMs === 0) return;
  world.at(world.t + sweepIntervalMs(silentMs) / process.rate, () => {
    if (!process.alive()) return;
    // Its promise settles only after the schedule (no microtask runs inside one); the store's
    // callback is what takes effect.
    for (const group of process.arbiter.forgettable(process.now(), silentMs, FORGET_BATCH))
      process.service.forget(group, silentMs).catch(() => undefined);
    sweepWhileAlive(world, process);
  });
}
