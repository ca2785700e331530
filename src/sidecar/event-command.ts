/**
 * `--on-event CMD` (design §18.4), as Patroni's callbacks: the sidecar runs CMD with /bin/sh for
 * each event, the event in its environment (WITNESS_EVENT, WITNESS_GROUP, WITNESS_NODE,
 * WITNESS_ROLE, WITNESS_EPOCH, WITNESS_RULE, WITNESS_REASON). One run at a time, in order, each
 * killed after `--on-event-timeout`; at most EVENT_QUEUE_LIMIT wait. The decisions never wait for
 * it: a slow or failing command costs its own runs only.
 */
import { spawn } from 'node:child_process';
import type { NodeRole } from '../core/sidecar/types';
import type { Logger } from '../log/logger';
import { DropOldestQueue } from '../queue/drop-oldest-queue';
import type { SidecarEvent } from './sidecar-events';

export const EVENT_QUEUE_LIMIT = 100;

export interface EventCommandSettings {
  readonly command: string;
  readonly timeoutMs: number;
  readonly group: string;
  readonly node: string;
  readonly role: NodeRole;
}

export class EventCommand {
  private readonly queue: DropOldestQueue<SidecarEvent>;

  constructor(
    private readonly settings: EventCommandSettings,
    private readonly logger: Logger,
  ) {
    this.queue = new DropOldestQueue({
      limit: EVENT_QUEUE_LIMIT,
      handle: (event) => this.run(event),
      logger,
      logFields: {},
      dropMessage: '--on-event is slower than the events: the oldest waiting ones are dropped',
    });
  }

  push(event: SidecarEvent): void {
    this.queue.push(event);
  }

  private run(event: SidecarEvent): Promise<void> {
    const { command, timeoutMs, group, node, role } = this.settings;
    const env = {
      ...process.env,
      WITNESS_EVENT: event.event,
      WITNESS_GROUP: group,
      WITNESS_NODE: node,
      WITNESS_ROLE: role,
      WITNESS_EPOCH: event.epoch,
      WITNESS_RULE: event.rule,
      WITNESS_REASON: event.why,
    };
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { env, stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      let finished = false;
      const done = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (code !== 0) {
          this.logger.warn(
            { event: event.event, code, signal, err: error?.message, timeoutMs },
            signal === 'SIGKILL' ? '--on-event ran out of time and was killed' : '--on-event failed',
          );
        }
        resolve();
      };
      child.once('error', (error) => done(null, null, error));
      child.once('exit', (code, signal) => done(code, signal));
    });
  }
}
