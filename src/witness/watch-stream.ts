/**
 * One Admin.Watch stream (design §18): the groups' current state first, or the kept events
 * after the id a reconnecting client names, then every new event. A subscriber that does not read
 * would make the witness buffer every event for it without end: one that leaves `backlog` events
 * unread (beyond the state it was sent) is dropped with RESOURCE_EXHAUSTED (design §17.6).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Arbiter } from '../core/witness/arbiter';
import type { GroupView } from '../core/witness/types';
import type { GroupEvent } from '../gen/witness/v1/GroupEvent';
import type { WatchRequest__Output } from '../gen/witness/v1/WatchRequest';
import type { FailStream } from '../wire/service-edge';
import { optionalId, requireWellFormed } from '../wire/validate-request';
import { invalid, WireError } from '../wire/wire-error';
import type { EventHub } from './event-hub';
import type { StreamRegistry } from './stream-registry';

export interface WatchParts {
  readonly arbiter: Arbiter;
  readonly events: EventHub;
  readonly streams: StreamRegistry;
  /** The witness's monotonic clock, and its wall clock for the state's time. */
  readonly now: () => number;
  readonly wallClockMs: () => number;
  /** Events a Watch stream may leave unread before it is dropped (`--watch-backlog`). */
  readonly backlog: number;
}

/** Groups read from the Arbiter at a time for the state that opens a stream. */
const STATE_PAGE = 1000;

export function watch(
  call: grpc.ServerWritableStream<WatchRequest__Output, GroupEvent>,
  fail: FailStream,
  parts: WatchParts,
): void {
  // A malformed request, or one past the limit, throws here, before anything is subscribed: the
  // edge ends the call.
  const request = requireWellFormed(call.request);
  const group = optionalId('group', request.group);
  const afterId = requireEventId('after_id', request.afterId);
  const opening = afterId === 0n ? stateOf(group, parts) : resumed(afterId, group, parts.events);
  const unregister = parts.streams.add('Watch', () => call.end());
  // Everything above and the writes below run in one turn of the event loop: no event falls between.
  for (const message of opening) call.write(message);
  const allowed = parts.backlog + opening.length;
  let stopped = false;
  const unsubscribe = parts.events.subscribe(group, (event) => {
    if (stopped) return;
    if (call.writableLength >= allowed) {
      stop();
      fail(
        new WireError(
          'resource-exhausted',
          '',
          `this Watch stream left ${parts.backlog} events unread (--watch-backlog): it is dropped; read faster or watch one group`,
        ),
      );
      return;
    }
    call.write(event);
  });
  const stop = (): void => {
    stopped = true;
    unsubscribe();
    unregister();
  };
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
}

/** The kept events after `afterId`, or OUT_OF_RANGE naming the field. */
export function resumed(afterId: bigint, group: string, events: EventHub, limit = Infinity): GroupEvent[] {
  const kept = events.after(afterId, group, limit);
  if (kept !== undefined) return kept;
  throw new WireError(
    'out-of-range',
    'after_id',
    `after_id: ${afterId} is not among the events this witness keeps (--event-history; the latest is ` +
      `${events.latestId}): watch without after_id to start from the groups' current state`,
  );
}

/** One state message per group (a group nobody has registered yet has none). */
function stateOf(group: string, parts: WatchParts): GroupEvent[] {
  const now = parts.now();
  const state = (view: GroupView): GroupEvent => ({
    group: view.group,
    kind: 'EVENT_KIND_STATE',
    node: '',
    epoch: view.epoch.toString(),
    message: describeGroup(view),
    id: parts.events.latestId.toString(),
    timeUnixMs: String(Math.max(0, Math.floor(parts.wallClockMs()))),
    rule: '',
    holder: view.holder,
    countdownMs: 0,
  });
  if (group !== '') return parts.arbiter.has(group) ? [state(parts.arbiter.view(group, now))] : [];
  const messages: GroupEvent[] = [];
  let after = '';
  for (;;) {
    const page = parts.arbiter.list(now, after, STATE_PAGE);
    for (const view of page.groups) messages.push(state(view));
    const last = page.groups[page.groups.length - 1];
    if (!page.more || last === undefined) return messages;
    after = last.group;
  }
}

function describeGroup(view: GroupView): string {
  const holder =
    view.holder === ''
      ? 'nobody holds the group'
      : `${view.holder} holds the group, its lease ${view.holderLeaseRemainingMs} ms from running out here`;
  const nodes = view.nodes.map((n) => `${n.node} (${n.role}, heard ${n.lastSeenMsAgo} ms ago)`).join(', ');
  const grace = view.inStartupGrace ? '; the witness is in its start-up grace' : '';
  return `${holder}; nodes: ${nodes || 'none registered'}${grace}`;
}

export function requireEventId(field: string, value: string): bigint {
  if (!/^[0-9]{1,20}$/.test(value)) throw invalid(field, 'must be an unsigned integer');
  return BigInt(value);
}
