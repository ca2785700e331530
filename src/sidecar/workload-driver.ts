/**
 * What the runtime needs of a workload: a command under a watchdog (WorkloadSupervisor), or a
 * program's own activate/deactivate callbacks when it embeds the sidecar as a library.
 */
import { EventEmitter } from 'node:events';

export interface WorkloadDriver {
  /** `deadline`: monotonic ms at which the stop must begin unless fed a later one. */
  start(epoch: bigint, env: Record<string, string>, deadline: number): void;
  feed(deadline: number): void;
  stop(): void;
  close(): Promise<void>;
  on(event: 'running', listener: () => void): unknown;
  on(event: 'stopped', listener: (byItself: boolean) => void): unknown;
}

export interface EmbeddedWorkload {
  /** Start serving under this epoch (pass it to every resource that checks fencing tokens). */
  activate(epoch: bigint): void | Promise<void>;
  /** Stop serving; must resolve before the stop timeout. */
  deactivate(): void | Promise<void>;
}

/**
 * Callbacks inside the sidecar's own process. There is no watchdog here: a frozen process stops
 * its callbacks too, so only the fencing epoch protects the resources (say so to embedders).
 */
export class CallbackWorkload extends EventEmitter implements WorkloadDriver {
  private active = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly workload: EmbeddedWorkload) {
    super();
  }

  start(epoch: bigint): void {
    this.active = true;
    Promise.resolve()
      .then(() => this.workload.activate(epoch))
      .then(
        () => this.emit('running'),
        () => {
          this.active = false;
          this.emit('stopped', true);
        },
      );
  }

  feed(): void {}

  stop(): void {
    if (this.stopping !== undefined) return;
    this.stopping = Promise.resolve()
      .then(() => this.workload.deactivate())
      .catch(() => undefined)
      .finally(() => {
        this.active = false;
        this.stopping = undefined;
        this.emit('stopped', false);
      });
  }

  /** Deactivates an active workload and waits for it. */
  async close(): Promise<void> {
    if (this.active) this.stop();
    await this.stopping;
  }
}
