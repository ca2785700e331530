/**
 * The sidecar harness's workloads: one process model per node that outlives the sidecar's
 * incarnations (a crashed sidecar's workload is killed by its watchdog within stopTimeoutMs), and
 * for each incarnation a WorkloadDriver over it, the port the production runtime drives.
 *
 * The checks the harness makes of every run live here, where the runtime's orders arrive:
 *  - every start: S1 (the other node's workload is not alive, a stopping one counting as alive
 *    until it is gone) and S2 (the epoch is above every epoch started before; a restart of the
 *    same node after its workload exited by itself may keep its epoch), design §3.1, §3.2;
 *  - every feed of the watchdog: the node is strictly before the stop deadline it feeds, which the
 *    runtime does after every decision while the workload may run (design §8.3);
 *  - every stop: it begins no later than the last deadline fed (the runtime's wake-up at the
 *    deadline, design §8.1), give or take a timer's float rounding.
 */
import { EventEmitter } from 'node:events';
import type { WorkloadDriver } from '../../src/sidecar/workload-driver';
import type { HarnessTime } from './harness-time';
import { other, type NodeId } from './sidecar-test-settings';

/** How far past its local deadline a timer may fire: the float rounding of `now + (deadline - now)`. */
const TIMER_ROUNDING_MS = 1e-6;

interface Proc {
  alive: boolean;
  stopping: boolean;
  run: number;
  epoch: bigint;
}

export interface WorkloadOptions {
  readonly startDelay?: (n: NodeId) => number;
  readonly stopDelay?: (n: NodeId) => number;
  /** Check S1 and S2 at every start (off for simple mode, which promises neither). */
  readonly checkSafety?: boolean;
}

/** What the harness records and reads, for the driver of one sidecar incarnation. */
export interface DriverContext {
  readonly node: NodeId;
  readonly stopTimeoutMs: number;
  /** The sidecar's monotonic clock. */
  readonly clock: () => number;
  /** False once this incarnation is gone: its supervisor reports nothing more. */
  readonly listens: () => boolean;
  /** Why the core ordered this action (it ordered exactly this one next). */
  readonly why: (kind: 'start' | 'stop') => string;
  /** The epoch the node runs under, as its core says now. */
  readonly epoch: () => bigint;
  readonly record: (kind: string, epoch?: bigint, detail?: string) => void;
  readonly tail: () => string;
}

export class HarnessWorkloads {
  private readonly proc: Record<NodeId, Proc> = {
    p: { alive: false, stopping: false, run: 0, epoch: 0n },
    s: { alive: false, stopping: false, run: 0, epoch: 0n },
  };
  private readonly drivers: Partial<Record<NodeId, HarnessWorkload>> = {};
  private maxStarted = 0n;
  private lastStarter: NodeId | undefined;
  private readonly lastRunEndedByItself: Record<NodeId, boolean> = { p: false, s: false };
  private readonly checkSafety: boolean;

  constructor(
    private readonly time: HarnessTime,
    private readonly options: WorkloadOptions,
  ) {
    this.checkSafety = options.checkSafety ?? true;
  }

  /** The driver for a new sidecar incarnation of node `ctx.node`. */
  driver(ctx: DriverContext): WorkloadDriver {
    const driver = new HarnessWorkload(this, ctx);
    this.drivers[ctx.node] = driver;
    return driver;
  }

  /** kill -9 of the sidecar: its watchdog kills the workload, which is gone within stopTimeoutMs. */
  sidecarCrashed(ctx: DriverContext): void {
    delete this.drivers[ctx.node];
    const proc = this.proc[ctx.node];
    if (!proc.alive || proc.stopping) return;
    proc.stopping = true;
    const run = proc.run;
    this.time.at(this.time.now + ctx.stopTimeoutMs, () => {
      if (proc.run !== run) return;
      proc.alive = false;
      proc.stopping = false;
      this.lastRunEndedByItself[ctx.node] = false;
      ctx.record('killed-by-watchdog');
    });
  }

  /** The workload exits by itself (crash, bug): the supervisor reports it at once. */
  exit(n: NodeId): boolean {
    const proc = this.proc[n];
    const driver = this.drivers[n];
    if (!proc.alive || proc.stopping || driver === undefined) return false;
    proc.alive = false;
    proc.run += 1;
    this.lastRunEndedByItself[n] = true;
    driver.ctx.record('exited');
    driver.emit('stopped', true);
    return true;
  }

  start(d: HarnessWorkload, epoch: bigint): void {
    const { ctx } = d;
    const n = ctx.node;
    this.checkStart(n, epoch, ctx);
    const proc = this.proc[n];
    proc.alive = true;
    proc.stopping = false;
    proc.run += 1;
    proc.epoch = epoch;
    const run = proc.run;
    ctx.record('start', epoch, ctx.why('start'));
    this.time.at(this.time.now + (this.options.startDelay?.(n) ?? 0), () => {
      if (!ctx.listens() || proc.run !== run || !proc.alive || proc.stopping) return;
      ctx.record('running', proc.epoch);
      d.emit('running');
    });
  }

  stop(d: HarnessWorkload): void {
    const { ctx } = d;
    const n = ctx.node;
    ctx.record('stop', ctx.epoch(), ctx.why('stop'));
    const proc = this.proc[n];
    if (!proc.alive || proc.stopping)
      throw new Error(`${n} asked to stop a workload that is not running\n${ctx.tail()}`);
    const now = ctx.clock();
    if (now - d.fedDeadline > TIMER_ROUNDING_MS) {
      throw new Error(`${n} begins its stop at ${now}, after the deadline ${d.fedDeadline} it fed\n${ctx.tail()}`);
    }
    proc.stopping = true;
    const run = proc.run;
    this.time.at(this.time.now + (this.options.stopDelay?.(n) ?? ctx.stopTimeoutMs), () => {
      if (proc.run !== run) return;
      proc.alive = false;
      proc.stopping = false;
      proc.run += 1;
      this.lastRunEndedByItself[n] = false;
      if (!ctx.listens()) return;
      ctx.record('stopped', proc.epoch);
      d.emit('stopped', false);
    });
  }

  private checkStart(n: NodeId, epoch: bigint, ctx: DriverContext): void {
    if (!this.checkSafety) return;
    const o = other(n);
    const theirs = this.proc[o];
    if (theirs.alive) {
      throw new Error(
        `S1 violated: ${n} starts epoch ${epoch} at ${this.time.now} while ${o}'s workload (epoch ${theirs.epoch}) ` +
          `is still ${theirs.stopping ? 'stopping' : 'running'}\n${ctx.tail()}`,
      );
    }
    const sameNodeRestart = this.lastStarter === n && epoch === this.maxStarted && this.lastRunEndedByItself[n];
    if (!(epoch > this.maxStarted) && !sameNodeRestart) {
      throw new Error(
        `S2 violated: ${n} starts epoch ${epoch} at ${this.time.now}, not above ${this.maxStarted}\n${ctx.tail()}`,
      );
    }
    if (epoch > this.maxStarted) this.maxStarted = epoch;
    this.lastStarter = n;
  }
}

/** The supervisor of one sidecar incarnation, as the runtime sees it. */
class HarnessWorkload extends EventEmitter implements WorkloadDriver {
  /** The last stop deadline the runtime fed (on the sidecar's clock). */
  fedDeadline = Number.NaN;

  constructor(
    private readonly workloads: HarnessWorkloads,
    readonly ctx: DriverContext,
  ) {
    super();
  }

  start(epoch: bigint, _env: Record<string, string>, deadline: number): void {
    this.workloads.start(this, epoch);
    this.feed(deadline);
  }

  feed(deadline: number): void {
    const now = this.ctx.clock();
    if (!(now < deadline)) {
      throw new Error(
        `${this.ctx.node} still runs at ${now}, at or past its stop deadline ${deadline}\n${this.ctx.tail()}`,
      );
    }
    this.fedDeadline = deadline;
  }

  stop(): void {
    this.workloads.stop(this);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
