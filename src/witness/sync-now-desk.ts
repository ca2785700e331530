/**
 * "Sync now" at the witness (design §21.2): an Admin.SyncNow call leaves a request for the group's
 * standby here; the standby's next heartbeat answer carries its id (LeaseAnswer.sync_now_id), and
 * the heartbeat that reports a run with that id answers the call. Memory only: a request is as
 * soft as the call waiting on it, and a restart of the witness ends both.
 */
import type { SyncRun } from '../core/witness/types';
import type { LeaseAnswer } from '../gen/witness/v1/LeaseAnswer';
import { WireError } from '../wire/wire-error';

interface Asked {
  readonly id: bigint;
  readonly node: string;
  readonly waiters: Array<{ resolve: (run: SyncRun) => void; reject: (error: Error) => void }>;
}

export class SyncNowDesk {
  private readonly asked = new Map<string, Asked>();
  private nextId: bigint;

  /** Ids start from the wall clock, so a run reported to an earlier witness run never matches. */
  constructor(wallClockMs: number) {
    this.nextId = BigInt(Math.max(1, Math.floor(wallClockMs))) * 1000n;
  }

  /** The standby's run, or DEADLINE_EXCEEDED after `timeoutMs`; a second call for the group joins the first. */
  ask(group: string, node: string, timeoutMs: number): Promise<SyncRun> {
    let asked = this.asked.get(group);
    if (asked === undefined || asked.node !== node) {
      asked = { id: ++this.nextId, node, waiters: [] };
      this.asked.set(group, asked);
    }
    const entry = asked;
    return new Promise<SyncRun>((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = entry.waiters.indexOf(waiter);
        if (index >= 0) entry.waiters.splice(index, 1);
        if (entry.waiters.length === 0 && this.asked.get(group) === entry) this.asked.delete(group);
        reject(
          new WireError(
            'deadline-exceeded',
            'timeout_ms',
            `group ${group}: standby ${node} did not report its sync within ${timeoutMs} ms (it may still be running)`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        resolve: (run: SyncRun) => {
          clearTimeout(timer);
          resolve(run);
        },
        reject,
      };
      entry.waiters.push(waiter);
    });
  }

  /** A heartbeat answer to `node`: it carries the id of the sync asked of it, if any. */
  stamp(group: string, node: string, answer: LeaseAnswer): LeaseAnswer {
    const asked = this.asked.get(group);
    return asked === undefined || asked.node !== node ? answer : { ...answer, syncNowId: asked.id.toString() };
  }

  /** A heartbeat of `node` reported `run`: the calls waiting for it are answered. */
  heard(group: string, node: string, run: SyncRun | undefined): void {
    const asked = this.asked.get(group);
    if (run === undefined || asked === undefined || asked.node !== node || run.requestId !== asked.id) return;
    this.asked.delete(group);
    for (const waiter of asked.waiters) waiter.resolve(run);
  }
}
