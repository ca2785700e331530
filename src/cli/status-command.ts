/**
 * `witness status`: every group the witness knows, one line per node, in the manner of
 * `pg_autoctl show state`; with --watch, again at every event that changes a group.
 */
import type { OperatorConfig } from '../config/operator-config';
import type { GroupEvent__Output } from '../gen/witness/v1/GroupEvent';
import type { GroupStatus__Output } from '../gen/witness/v1/GroupStatus';
import type { NodeStatus__Output } from '../gen/witness/v1/NodeStatus';
import { type AdminConnection, answerOf, connectAdmin, failure } from './admin-connection';
import { fromWireFailback } from '../wire/enum-mappings';
import { textTable } from './text-table';

/** Groups asked for per ListGroups page. */
const PAGE_SIZE = 1000;

export async function runStatus(config: OperatorConfig, out: (text: string) => void): Promise<void> {
  const admin = connectAdmin(config);
  try {
    out(renderGroups(await groups(admin, config), config.json === 'true'));
    if (config.follow === 'true') await reprintOnEvents(admin, config, out);
  } finally {
    admin.close();
  }
}

async function groups(admin: AdminConnection, config: OperatorConfig): Promise<GroupStatus__Output[]> {
  const { client, metadata, deadline } = admin;
  if (config.group !== '') {
    const one = await answerOf<GroupStatus__Output>('GetGroup', config.witness, (done) =>
      client.GetGroup({ group: config.group }, metadata(), deadline(), done),
    );
    return [one];
  }
  const all: GroupStatus__Output[] = [];
  let pageToken = '';
  do {
    const page = await answerOf<{ groups: GroupStatus__Output[]; nextPageToken: string }>(
      'ListGroups',
      config.witness,
      (done) => client.ListGroups({ pageSize: PAGE_SIZE, pageToken }, metadata(), deadline(), done),
    );
    all.push(...page.groups);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return all;
}

/** The groups as a table, one line per node (or as GroupStatus JSON lines); also what the operator actions print. */
export function renderGroups(list: readonly GroupStatus__Output[], json: boolean): string {
  if (json) return list.map((g) => JSON.stringify(g)).join('\n');
  if (list.length === 0) return 'no groups: no node has sent the witness a heartbeat yet';
  // The column appears once a node reports its sync (--sync-cmd, design §21.3).
  const withSync = list.some((g) => g.nodes.some((n) => n.syncReported));
  const rows = list.flatMap((g) => {
    const lease = g.holder === '' ? '-' : `${g.holderLeaseRemainingMs} ms`;
    const grace = g.inStartupGrace ? ' (start-up grace)' : '';
    // A removed node not heard since the witness started still has its place: it gets a line.
    const unheard = g.removed
      .filter((name) => !g.nodes.some((n) => n.node === name))
      .map((name) => ({
        node: name,
        role: '',
        lastSeenMsAgo: -1,
        holds: g.holder === name,
        maintenance: false,
        removed: true,
        syncReported: false,
        synced: false,
        syncAgeMs: '0',
        lastSyncRun: null,
      }));
    const heard = [...g.nodes, ...unheard];
    const nodes =
      heard.length > 0
        ? heard
        : [
            {
              node: '-',
              role: '',
              lastSeenMsAgo: -1,
              holds: false,
              maintenance: false,
              removed: false,
              syncReported: false,
              synced: false,
              syncAgeMs: '0',
              lastSyncRun: null,
            },
          ];
    const switchover = g.switchoverEpoch !== '0' ? ' (switchover asked)' : '';
    return nodes.map((n) => [
      g.group,
      n.node,
      n.role.replace('ROLE_', '').toLowerCase() || '-',
      n.holds ? 'yes' : 'no',
      n.holds ? g.epoch : '-',
      n.lastSeenMsAgo < 0 ? '-' : `${n.lastSeenMsAgo} ms ago`,
      n.holds ? `${lease}${grace}${switchover}` : grace.trim() || '-',
      n.removed ? 'removed' : n.maintenance ? 'yes' : 'no',
      fromWireFailback('failback', g.failback) ?? '-',
      ...(withSync ? [lastSync(n)] : []),
    ]);
  });
  const header = [
    'GROUP',
    'NODE',
    'ROLE',
    'HOLDS',
    'EPOCH',
    'LAST HEARD',
    'LEASE LEFT',
    'MAINTENANCE',
    'FAILBACK',
    ...(withSync ? ['LAST SYNC'] : []),
  ];
  return textTable(header, rows);
}

/**
 * The age of the node's last successful sync (design §21.3): '-' when it reports none (no
 * --sync-cmd) or holds the group (its copy is the source), 'never' before its first success.
 */
function lastSync(n: Omit<NodeStatus__Output, 'role'>): string {
  if (!n.syncReported || n.holds) return '-';
  const failing = n.lastSyncRun !== null && !n.lastSyncRun.ok ? ' (last run failed)' : '';
  if (!n.synced) return `never${failing}`;
  return `${(Number(n.syncAgeMs) / 1000).toFixed(1)} s ago${failing}`;
}

function reprintOnEvents(admin: AdminConnection, config: OperatorConfig, out: (text: string) => void): Promise<void> {
  return new Promise((_resolve, reject) => {
    const stream = admin.client.Watch({ group: config.group }, admin.metadata());
    let printing = Promise.resolve();
    stream.on('data', (event: GroupEvent__Output) => {
      if (event.kind === 'EVENT_KIND_STATE') return;
      printing = printing
        .then(async () => {
          const list = await groups(admin, config);
          if (config.json !== 'true')
            out(
              `\n-- ${new Date().toISOString()}: ${event.kind.replace('EVENT_KIND_', '').toLowerCase()} (${event.group}, ${event.node || '-'})`,
            );
          out(renderGroups(list, config.json === 'true'));
        })
        .catch((error: unknown) => {
          stream.cancel();
          reject(error);
        });
    });
    stream.on('error', (error: Parameters<typeof failure>[2]) => reject(failure('Watch', config.witness, error)));
  });
}
