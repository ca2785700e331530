/** gRPC handlers of witness.v1.Admin: what operators ask with grpcurl. */
import type { Arbiter } from '../core/witness/arbiter';
import type { OperatorInput } from '../core/witness/types';
import type { AdminHandlers } from '../gen/witness/v1/Admin';
import type { GroupStatus } from '../gen/witness/v1/GroupStatus';
import { toWireGroupStatus } from '../wire/admin-messages';
import { fromWireFailback } from '../wire/enum-mappings';
import type { ServiceEdge } from '../wire/service-edge';
import { optionalId, requireId, requireWellFormed } from '../wire/validate-request';
import { invalid } from '../wire/wire-error';
import type { EventHub } from './event-hub';
import type { SyncNowDesk } from './sync-now-desk';
import { toWireSyncRun } from '../wire/sync-report';
import type { StreamRegistry } from './stream-registry';
import { answerOf, type ArbitrationService } from './arbitration-service';
import { TurnQueue } from './turn-queue';
import { requireEventId, resumed, watch } from './watch-stream';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Admin reads waiting for their turn (src/witness/turn-queue.ts) before more are refused. */
export const MAX_WAITING_ADMIN_READS = 1000;
/** How long SyncNow waits for the standby's run by default, and at most (design §21.2). */
export const DEFAULT_SYNC_NOW_TIMEOUT_MS = 60_000;
export const MAX_SYNC_NOW_TIMEOUT_MS = 3_600_000;

export function adminHandlers(
  arbiter: Arbiter,
  /** Decides operators' requests in each group's turn, as it does the nodes'. */
  arbitration: ArbitrationService,
  events: EventHub,
  streams: StreamRegistry,
  now: () => number,
  edge: ServiceEdge,
  /** Events a Watch stream may leave unread before it is dropped (`--watch-backlog`). */
  watchBacklog: number,
  wallClockMs: () => number,
  syncNow: SyncNowDesk,
): AdminHandlers {
  const turns = new TurnQueue(MAX_WAITING_ADMIN_READS);
  /** Decided (and durable) in the group's turn; answered with the group as it is then. */
  const operated = async (input: OperatorInput): Promise<GroupStatus> => {
    await answerOf((reply) => arbitration.operate(input, reply));
    return toWireGroupStatus(arbiter.view(input.group, now()));
  };
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
    ListEvents: edge.unary('ListEvents', (request) => {
      const { group, afterId, pageSize } = requireWellFormed(request);
      const name = optionalId('group', group);
      const after = requireEventId('after_id', afterId);
      if (pageSize > MAX_PAGE_SIZE) throw invalid('page_size', `must be at most ${MAX_PAGE_SIZE}`);
      const limit = pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
      const page = after === 0n ? events.latest(name, limit) : resumed(after, name, events, limit);
      return { events: page, latestId: events.latestId.toString() };
    }),
    SetMaintenance: edge.unary('SetMaintenance', (request) => {
      const { group, node, on, force } = requireWellFormed(request);
      return operated({
        kind: 'maintenance',
        group: requireId('group', group),
        node: requireId('node', node),
        on,
        force,
      });
    }),
    Switchover: edge.unary('Switchover', (request) => {
      const { group, force } = requireWellFormed(request);
      return operated({ kind: 'switchover', group: requireId('group', group), force });
    }),
    SyncNow: edge.unary('SyncNow', async (request) => {
      const { group, timeoutMs } = requireWellFormed(request);
      const name = requireId('group', group);
      if (timeoutMs > MAX_SYNC_NOW_TIMEOUT_MS)
        throw invalid('timeout_ms', `must be at most ${MAX_SYNC_NOW_TIMEOUT_MS}`);
      const node = await turns.run(() => arbiter.syncNowTarget(name, now()));
      const run = await syncNow.ask(name, node, timeoutMs === 0 ? DEFAULT_SYNC_NOW_TIMEOUT_MS : timeoutMs);
      return { group: name, node, run: toWireSyncRun(run) };
    }),
    SetFailback: edge.unary('SetFailback', (request) => {
      const { group, policy } = requireWellFormed(request);
      return operated({
        kind: 'failback',
        group: requireId('group', group),
        policy: fromWireFailback('policy', policy) ?? 'node',
      });
    }),
    RemoveNode: edge.unary('RemoveNode', (request) => {
      const { group, node, force } = requireWellFormed(request);
      return operated({
        kind: 'remove',
        group: requireId('group', group),
        node: requireId('node', node),
        readmit: false,
        force,
      });
    }),
    ReadmitNode: edge.unary('ReadmitNode', (request) => {
      const { group, node } = requireWellFormed(request);
      return operated({
        kind: 'remove',
        group: requireId('group', group),
        node: requireId('node', node),
        readmit: true,
        force: false,
      });
    }),
    BreakGroup: edge.unary('BreakGroup', (request) => {
      const { group, force, syncOnly } = requireWellFormed(request);
      return operated({ kind: 'break', group: requireId('group', group), force, syncOnly });
    }),
    Watch: edge.serverStream('Watch', (call, fail) =>
      watch(call, fail, { arbiter, events, streams, now, wallClockMs, backlog: watchBacklog }),
    ),
  };
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
