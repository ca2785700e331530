/** `witness events`: the latest arbitration events the witness keeps, then (--follow) new ones. */
import type { OperatorConfig } from '../config/operator-config';
import type { GroupEvent__Output } from '../gen/witness/v1/GroupEvent';
import type { ListEventsResponse__Output } from '../gen/witness/v1/ListEventsResponse';
import { answerOf, connectAdmin, failure } from './admin-connection';

export async function runEvents(config: OperatorConfig, out: (text: string) => void): Promise<void> {
  const admin = connectAdmin(config);
  try {
    const { client, metadata, deadline } = admin;
    const latest = await answerOf<ListEventsResponse__Output>('ListEvents', config.witness, (done) =>
      client.ListEvents({ group: config.group, pageSize: config.limit }, metadata(), deadline(), done),
    );
    for (const event of latest.events) out(line(event, config));
    if (config.follow !== 'true') return;
    // After the id of the latest event: nothing between the list and the stream is missed.
    await new Promise<void>((_resolve, reject) => {
      const stream = client.Watch({ group: config.group, afterId: latest.latestId }, metadata());
      stream.on('data', (event: GroupEvent__Output) => out(line(event, config)));
      stream.on('error', (error: Parameters<typeof failure>[2]) => reject(failure('Watch', config.witness, error)));
    });
  } finally {
    admin.close();
  }
}

function line(event: GroupEvent__Output, config: OperatorConfig): string {
  if (config.json === 'true') return JSON.stringify(event);
  const time = new Date(Number(event.timeUnixMs)).toISOString();
  const kind = event.kind.replace('EVENT_KIND_', '').toLowerCase();
  const holder = event.holder === '' ? 'nobody holds' : `holder ${event.holder}`;
  return `${time}  ${event.group}  ${kind}  node ${event.node || '-'}  epoch ${event.epoch}  ${holder}  ${event.message}`;
}
