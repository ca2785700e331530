/**
 * What every part of one schedule shares: the plan, real simulated time and the event queue, the
 * random streams, the trace and the violation log. Parts (network, witness node, sidecar nodes,
 * faults, checkers) hold a World and nothing of each other's internals.
 */
import { EPOCH_COUNTER_BITS } from '../core/epoch';
import type { Task } from './event-queue';
import type { Plan } from './plan';
import type { Rng } from './prng';

export type ViolationKind = 'S1' | 'S2' | 'liveness' | 'error';

export interface Violation {
  readonly kind: ViolationKind;
  /** Which rule, e.g. 'same-epoch-restart', 'gap-after-heal', 'failover-probe'. */
  readonly sub: string;
  /** Real simulated time, ms. */
  readonly at: number;
  readonly detail: string;
  /** Number of timeline lines written when it was found (when tracing). */
  readonly traceIndex: number;
}

/** 0: no timeline; 1: notable events (the default timeline); 2: every message as well. */
export type TraceLevel = 0 | 1 | 2;

export interface World {
  readonly plan: Plan;
  /** Real simulated time, ms. */
  readonly t: number;
  /** Runs `task` at real time `time` (now, if that has passed). */
  at(time: number, task: Task): void;
  /** Network delays and losses; process timings; fault episodes. Separate, so one draw moves no other. */
  readonly net: Rng;
  readonly proc: Rng;
  readonly fault: Rng;
  /** Operators' requests: their own stream, so that schedules without them replay as before. */
  readonly operator: Rng;
  /** Restarts that keep the workload (design §9.8): their own stream, for the same reason. */
  readonly restart: Rng;
  /** Whole-machine freezes (design §14): their own stream, for the same reason. */
  readonly freeze: Rng;
  /** Standby freshness (design §21.6): sync durations, forced switchovers, sync-only breaks; their own stream. */
  readonly freshness: Rng;
  /** The witness's janitor and wall-clock steps (FORGET_KINDS): their own stream. */
  readonly forget: Rng;
  /** The fault phase is over: no new fault starts, no loss, no spike. */
  readonly healed: boolean;
  readonly trace: Trace;
  violate(kind: ViolationKind, sub: string, detail: string): void;
}

const COUNTER_MASK = (1n << EPOCH_COUNTER_BITS) - 1n;

/** The timeline of one schedule, and the short names it gives epochs. */
export class Trace {
  readonly lines: string[] = [];
  readonly on1: boolean;
  readonly on2: boolean;

  constructor(
    readonly level: TraceLevel,
    private readonly clock: () => number,
    /** The first store's generation: epochs of it print as their counter alone. */
    private readonly gen0: bigint,
  ) {
    this.on1 = level >= 1;
    this.on2 = level >= 2;
  }

  log(level: 1 | 2, who: string, text: string): void {
    if (this.level < level) return;
    this.lines.push(`${this.clock().toFixed(3).padStart(11)}  ${who.padEnd(3)} ${text}`);
  }

  epoch(epoch: bigint): string {
    if (epoch === 0n) return '0';
    const gen = epoch >> EPOCH_COUNTER_BITS;
    const counter = epoch & COUNTER_MASK;
    return gen === this.gen0 ? `${counter}` : `${gen - this.gen0}:${counter}`;
  }
}
