/**
 * The sidecar's events (design §18.4): what it does and what it notices, each one pino line and,
 * with `--on-event`, one run of the operator's command. Acquire attempts are not events: a standby
 * repeats them at every heartbeat while its peer is silent.
 */
import type { SidecarSettings, SidecarView } from '../core/sidecar/types';
import type { Logger } from '../log/logger';

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

/** The log lines that are events, by their message (an acquire is not one: see above). */
const EVENT_OF: Readonly<Record<string, SidecarEventName>> = {
  start: 'start',
  stop: 'stop',
  release: 'release',
  'workload running': 'workload-running',
  'workload stopped': 'workload-stopped',
  'workload exited by itself': 'workload-exited',
  'hand-over': 'hand-over',
  'peer-lost': 'peer-lost',
  'peer-regained': 'peer-regained',
  'witness-lost': 'witness-lost',
  'witness-regained': 'witness-regained',
  'failback-scheduled': 'failback-scheduled',
};

/** Where an event goes: its log line, and `--on-event`'s listener (SidecarRuntimeParts). */
export interface EventSinks {
  readonly logger: Logger;
  readonly onEvent?: (event: SidecarEvent) => void;
}

/**
 * Logs one event, and tells `onEvent` of it. `view` is the core's now. `epoch` is the tenure's
 * (omitted before the first: 0 means none). An acquire has no epoch of its own yet: it carries the
 * highest one the node knows, logged as that.
 */
export function logEvent(
  sinks: EventSinks,
  settings: SidecarSettings,
  view: SidecarView,
  what: string,
  why?: string,
  epoch?: bigint,
  rule?: string,
): void {
  const tenure = epoch ?? view.epoch;
  const event = EVENT_OF[what];
  if (event !== undefined) {
    const shown = tenure === 0n ? view.knownEpoch : tenure;
    sinks.onEvent?.({ event, epoch: shown.toString(), rule: rule ?? '', why: why ?? what });
  }
  const logger = sinks.logger;
  if (!logger.isLevelEnabled('info')) return;
  const epochs =
    what === 'acquire' ? { knownEpoch: view.knownEpoch.toString() } : tenure === 0n ? {} : { epoch: tenure.toString() };
  logger.info({ group: settings.group, node: settings.node, ...epochs, rule, why }, what);
}
