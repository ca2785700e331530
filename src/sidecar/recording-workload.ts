/**
 * With --state-dir, every epoch a run starts under is on disk before the run starts (design
 * §10.2): whatever either node of a pair ever ran under is then at most what their records hold,
 * and a cold start above both records is above every run (S2). Wraps the workload driver: a start
 * waits for the write; a stop meanwhile ends it before it began; a write that fails is a start that
 * failed (the workload "exited by itself" at once, and the restart rules take over).
 */
import { EventEmitter } from 'node:events';
import type { EpochRecord } from './sidecar-ports';
import type { WorkloadDriver } from './workload-driver';

export class RecordingWorkload extends EventEmitter implements WorkloadDriver {
  /** A start waiting for its epoch to be on disk: the deadline it will be given, and whether a stop came first. */
  private pending: { deadline: number; stopped: boolean } | undefined;
  private recorded = 0n;

  constructor(
    private readonly inner: WorkloadDriver,
    private readonly record: EpochRecord,
  ) {
    super();
    this.recorded = record.atStart.knownEpoch;
    inner.on('running', () => this.emit('running'));
    inner.on('stopped', (byItself: boolean) => this.emit('stopped', byItself));
  }

  start(epoch: bigint, env: Record<string, string>, deadline: number): void {
    if (epoch <= this.recorded) {
      this.inner.start(epoch, env, deadline);
      return;
    }
    const pending = { deadline, stopped: false };
    this.pending = pending;
    this.record.write(epoch, (ok) => {
      if (this.pending !== pending) return;
      this.pending = undefined;
      if (ok) this.recorded = epoch > this.recorded ? epoch : this.recorded;
      if (pending.stopped || !ok) {
        this.emit('stopped', !ok && !pending.stopped);
        return;
      }
      this.inner.start(epoch, env, pending.deadline);
    });
  }

  feed(deadline: number): void {
    if (this.pending !== undefined) this.pending.deadline = deadline;
    else this.inner.feed(deadline);
  }

  stop(): void {
    if (this.pending !== undefined) this.pending.stopped = true;
    else this.inner.stop();
  }

  close(): Promise<void> {
    if (this.pending !== undefined) this.pending.stopped = true;
    return this.inner.close();
  }
}
