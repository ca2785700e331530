/**
 * The sidecar's events (design §18.4): what it does and what it notices, each one pino line and,
 * with `--on-event`, one run of the operator's command. Acquire attempts are not events: a standby
 * repeats them at every heartbeat while its peer is silent.
 */
import type { SidecarView } from '../core/sidecar/types';

export const SIDECAR_EVENTS = [
  'start',
  'stop',
  'release',
  'workload-running',
  'workload-stopped',
  'workload-exited',
  'hand-over',
  'peer-lost',
  'peer-regained',
  'witness-lost',
  'witness-regained',
  'failback-scheduled',
] as const;
export type SidecarEventName = (typeof SIDECAR_EVENTS)[number];

export interface SidecarEvent {
  readonly event: SidecarEventName;
  /** The tenure's epoch, or the highest known when it has none yet; '0' before any. */
  readonly epoch: string;
  /** The decision row, '' when no row decided it (a link change, the workload's own exit). */
  readonly rule: string;
  readonly why: string;
}

/**
 * The fail-back the preferred primary waits for, announced once when its wait begins (design §9.4):
 * "nothing says that a fail-back will happen in 30 s until it does".
 */
export class FailbackNotice {
  private pending = false;

  /** The sentence to announce, once per wait. */
  since(view: SidecarView): string | undefined {
    const pending = view.failbackInMs >= 0;
    const began = pending && !this.pending;
    this.pending = pending;
    if (!began) return undefined;
    return `the peer runs: this primary asks for the group back in ${view.failbackInMs} ms (--failback-delay) if it stays healthy`;
  }
}
