/** An event as alerts carry it: the webhook's JSON body, and the mail's subject and text. */
import type { AlertEventName } from '../../config/alert-options';
import type { GroupEvent } from '../../gen/witness/v1/GroupEvent';

export interface AlertMessage {
  readonly id: string;
  readonly event: AlertEventName;
  /** ISO 8601, the witness's wall clock. */
  readonly time: string;
  readonly group: string;
  readonly node: string;
  readonly epoch: string;
  readonly holder: string;
  readonly rule: string;
  readonly message: string;
  /** holder-silent: ms until the holder's lease runs out at the witness and its peer may take over. */
  readonly countdownMs: number;
}

/** EVENT_KIND_HOLDER_SILENT -> holder-silent. */
export function alertEventName(event: GroupEvent): string {
  return String(event.kind)
    .replace(/^EVENT_KIND_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

/** The hub's events have every field set; the generated type leaves them optional. */
export function toAlertMessage(event: GroupEvent, name: AlertEventName): AlertMessage {
  return {
    id: String(event.id),
    event: name,
    time: new Date(Number(event.timeUnixMs)).toISOString(),
    group: event.group ?? '',
    node: event.node ?? '',
    epoch: String(event.epoch),
    holder: event.holder ?? '',
    rule: event.rule ?? '',
    message: event.message ?? '',
    countdownMs: event.countdownMs ?? 0,
  };
}

const HEADLINES: Record<AlertEventName, (alert: AlertMessage) => string> = {
  'holder-silent': (a) => `${a.node} unreachable: takeover in ${seconds(a.countdownMs)} unless it returns`,
  'holder-returned': (a) => `${a.node} is heard again: no takeover`,
  'lease-expired': (a) => `the lease of ${a.node} ran out: its peer may take over`,
  granted: (a) => `${a.holder} granted the group under epoch ${a.epoch}`,
  released: (a) => `${a.node} released the group`,
  adopted: (a) => `${a.holder} is recognised as active under epoch ${a.epoch}`,
  refused: (a) => `${a.node} refused`,
  intent: (a) => `operator request: ${a.message}`,
  registered: (a) => `${a.node} registered`,
  'sync-stale': (a) => `standby ${a.node} has not synced: ${a.message}`,
  'sync-recovered': (a) => `standby ${a.node} synced again`,
};

export function mailSubject(alert: AlertMessage): string {
  return `[failover-witness] ${alert.group}: ${HEADLINES[alert.event](alert)}`;
}

export function mailText(alert: AlertMessage): string {
  return [
    alert.message,
    '',
    `group:   ${alert.group}`,
    `event:   ${alert.event} (rule ${alert.rule})`,
    `node:    ${alert.node}`,
    `holder:  ${alert.holder === '' ? '(nobody)' : alert.holder}`,
    `epoch:   ${alert.epoch}`,
    `time:    ${alert.time}`,
    `id:      ${alert.id}`,
  ].join('\n');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
