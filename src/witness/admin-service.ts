/** gRPC handlers of witness.v1.Admin: what operators ask with grpcurl. */
import type * as grpc from '@grpc/grpc-js';
import type { Arbiter } from '../core/witness/arbiter';
import type { AdminHandlers } from '../gen/witness/v1/Admin';
import type { GroupEvent } from '../gen/witness/v1/GroupEvent';
import type { WatchRequest__Output } from '../gen/witness/v1/WatchRequest';
import { toWireGroupStatus } from '../wire/admin-messages';
import type { FailStream, ServiceEdge } from '../wire/service-edge';
import { optionalId, requireId, requireWellFormed } from '../wire/validate-request';
import { invalid, WireError } from '../wire/wire-error';
import type { EventHub } from './event-hub';
import type { StreamRegistry } from './stream-registry';
import { TurnQueue } from './turn-queue';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Admin reads waiting for their turn (src/witness/turn-queue.ts) before more are refused. */
export const MAX_WAITING_ADMIN_READS = 1000;

export function adminHandlers(
  arbiter: Arbiter,
  events: EventHub,
  streams: StreamRegistry,
  now: () => number,
  edge: ServiceEdge,
  /** Events a Watch stream may leave unread before it is dropped (`--watch-backlog`). */
  watchBacklog: number,
): AdminHandlers {
  const turns = new TurnQueue(MAX_WAITING_ADMIN_READS);
  return {
    GetGroup: edge.unary('GetGroup', (request) => {
      const group = requireId('group', requireWellFormed(request).group);
      return turns.run(() => toWireGroupStatus(arbiter.view(group, now())));
    }),
    ListGroups: edge.unary('ListGroups', (request) => {
      const { pageSize, pageToken } = requireWellFormed(request);
      if (pageSize > MAX_PAGE_SIZE) throw invalid('page_size', `must be at most ${MAX_PAGE_SIZE}`);
      const after = decodePageToken(pageToken);
      return turns.run(() => {
        const page = arbiter.list(now(), after, pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize);
        const last = page.groups[page.groups.length - 1];
        return {
          groups: page.groups.map(toWireGroupStatus),
          nextPageToken: page.more && last !== undefined ? encodePageToken(last.group) : '',
          total: page.total,
        };
      });
    }),
    Watch: edge.serverStream('Watch', (call, fail) => watch(call, fail, events, streams, watchBacklog)),
  };
}

/**
 * A subscriber that does not read would make the witness buffer every event for it without end:
 * one that leaves `backlog` events unread is dropped with RESOURCE_EXHAUSTED (design §17.6).
 */
function watch(
  call: grpc.ServerWritableStream<WatchRequest__Output, GroupEvent>,
  fail: FailStream,
  events: EventHub,
  streams: StreamRegistry,
  backlog: number,
): void {
  // A malformed request, or one past the limit, throws here, before anything is subscribed: the
  // edge ends the call.
  const group = optionalId('group', requireWellFormed(call.request).group);
  const unregister = streams.add('Watch', () => call.end());
  let stopped = false;
  const unsubscribe = events.subscribe(group, (event) => {
    if (stopped) return;
    if (call.writableLength >= backlog) {
      stop();
      fail(
        new WireError(
          'resource-exhausted',
          '',
          `this Watch stream left ${backlog} events unread (--watch-backlog): it is dropped; read faster or watch one group`,
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

/** The token is the last group name of the page, opaque to clients. */
function encodePageToken(group: string): string {
  return Buffer.from(group, 'utf8').toString('base64url');
}

function decodePageToken(token: string): string {
  if (token === '') return '';
  const group = Buffer.from(token, 'base64url').toString('utf8');
  try {
    return requireId('page_token', group);
  } catch {
    throw invalid('page_token', 'is not a token returned by ListGroups');
  }
}
