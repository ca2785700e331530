/**
 * The witness's limits (design §17.6) on a real process: each, when reached, gives its error naming
 * the option, and the witness keeps serving everyone else.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import http2 from 'node:http2';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { GroupEvent__Output } from '../../src/gen/witness/v1/GroupEvent';
import type { LeaseAnswer__Output } from '../../src/gen/witness/v1/LeaseAnswer';
import type { RenewRequest } from '../../src/gen/witness/v1/RenewRequest';
import { killAllTracked } from '../support/processes';
import {
  callError,
  calls,
  type Clients,
  connect,
  deadline,
  type RunningWitness,
  startWitness,
  unary,
} from '../support/witness-process';

const renewOf = (group: string, node = 'a', role = 'ROLE_PRIMARY'): RenewRequest => ({
  group,
  node,
  role: role as RenewRequest['role'],
  heldEpoch: '0',
  knownEpoch: '0',
  leaseMs: 0,
});

describe('witness limits (real process)', function () {
  this.timeout(60_000);
  let dir: string;
  let witness: RunningWitness;
  let clients: Clients;
  const open: Clients[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-limits-'));
    witness = await startWitness(path.join(dir, 'data'), [
      '--max-groups',
      '3',
      '--max-watchers',
      '2',
      '--watch-backlog',
      '20',
      '--max-keepalive-streams',
      '2',
      '--max-message-size',
      '1024',
    ]);
    clients = fresh();
    open.length = 0;
  });

  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  after(async () => {
    clients?.close();
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Clients on a connection of their own (grpc-js shares one per address unless told not to). */
  const fresh = (address = witness.address): Clients => {
    const c = connect(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    open.push(c);
    return c;
  };

  it('--max-groups: a heartbeat that would create one group more is RESOURCE_EXHAUSTED; the groups it has go on', async () => {
    const c = calls(clients);
    for (const group of ['g1', 'g2', 'g3'])
      expect((await c.renew(renewOf(group))).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    const error = await callError(c.renew(renewOf('g4')));
    expect(error.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.details).to.include('--max-groups');
    await callError(c.getGroup('g4'));
    expect((await c.renew(renewOf('g1', 'b', 'ROLE_SECONDARY'))).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    expect((await c.listGroups()).total).to.equal(3);
  });

  it('--max-message-size: a larger request is RESOURCE_EXHAUSTED naming the option, and nothing is created', async () => {
    const c = calls(clients);
    const error = await callError(c.renew({ ...renewOf('g1'), group: 'x'.repeat(2000) }));
    expect(error.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.details).to.include('--max-message-size');
    expect((await c.renew(renewOf('g2'))).verdict).to.equal('VERDICT_ACKNOWLEDGED');
  });

  it('--max-keepalive-streams: a stream past the bound ends RESOURCE_EXHAUSTED; the open ones keep answering', async () => {
    const streams = [fresh(), fresh()].map((c) => c.witness.KeepAlive());
    const answers = streams.map(
      (s, i) =>
        new Promise<LeaseAnswer__Output>((resolve, reject) => {
          s.once('data', resolve);
          s.once('error', reject);
          s.write(renewOf(`g${i + 1}`));
        }),
    );
    await Promise.all(answers);
    const third = fresh().witness.KeepAlive();
    const refused = new Promise<grpc.ServiceError>((resolve) => third.on('error', resolve));
    third.write(renewOf('g3'));
    const error = await refused;
    expect(error.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.details).to.include('--max-keepalive-streams');
    const again = new Promise<LeaseAnswer__Output>((resolve) => streams[0]!.once('data', resolve));
    streams[0]!.write(renewOf('g1'));
    expect((await again).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    for (const s of streams) s.end();
  });

  it('--max-streams-per-connection: a call past it waits out its deadline; another connection is served', async () => {
    const own = await startWitness(path.join(dir, 'data-streams'), ['--max-streams-per-connection', '2']);
    const busy = fresh(own.address);
    const watches = [busy.admin.Watch({ group: 'g1' }), busy.admin.Watch({ group: 'g2' })];
    for (const w of watches) w.on('error', () => undefined);
    // Both streams open on the one connection before the third call is made.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const waiting = await callError(unary((cb) => busy.admin.GetGroup({ group: 'g1' }, deadline(500), cb)));
    expect(waiting.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    expect((await calls(fresh(own.address)).renew(renewOf('g1'))).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    for (const w of watches) w.cancel();
    own.proc.kill('SIGKILL');
  });

  it('--max-watchers: a third Watch is RESOURCE_EXHAUSTED; a subscriber that stops reading is dropped at --watch-backlog', async () => {
    const c = calls(fresh());
    await c.renew(renewOf('g1'));
    const reader = fresh().admin.Watch({ group: '' });
    const seen: GroupEvent__Output[] = [];
    reader.on('data', (e: GroupEvent__Output) => seen.push(e));
    reader.on('error', () => undefined);
    // grpc-js reads a stream eagerly whatever its consumer does; a client that really stops
    // reading stops at the transport: raw HTTP/2 that leaves the stream paused.
    const stalled = rawWatch(witness.address);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const third = await new Promise<grpc.ServiceError>((resolve) => fresh().admin.Watch({}).on('error', resolve));
    expect(third.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(third.details).to.include('--max-watchers');
    // Events: each Release by a node that holds nothing is refused and published. Enough of them
    // fill the flow-control windows, then the stalled stream's backlog.
    const release = { group: 'g1', node: 'a', epoch: '0', knownEpoch: '0' };
    for (let i = 0; i < 3_000; i++) expect((await c.release(release)).verdict).to.equal('VERDICT_REFUSED');
    const status = await stalled.resumeAndReadStatus();
    expect(status.code).to.equal(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(status.message).to.include('--watch-backlog');
    // The dropped subscriber's slot is free again, and the reader that reads still gets every event,
    // after the groups' state that opens every Watch.
    const states = seen.filter((e) => e.kind === 'EVENT_KIND_STATE');
    expect(states.map((e) => e.group)).to.include('g1');
    expect(seen.slice(0, states.length)).to.deep.equal(states);
    expect(seen.length - states.length).to.equal(3_000);
    const again = fresh().admin.Watch({ group: 'g1' });
    again.on('error', () => undefined);
    let event: GroupEvent__Output | undefined;
    again.once('data', (e: GroupEvent__Output) => (event = e));
    // The new stream subscribes once its call reaches the witness: publish until it hears (bounded).
    for (let i = 0; i < 100 && event === undefined; i++) {
      await c.release(release);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(event?.group).to.equal('g1');
    again.cancel();
    reader.cancel();
  });
});

/** An Admin.Watch of every group over raw HTTP/2, paused from the start: nothing is read. */
function rawWatch(address: string): { resumeAndReadStatus(): Promise<{ code: string; message: string }> } {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/witness.v1.Admin/Watch',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.pause();
  stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty WatchRequest: every group
  const status = new Promise<{ code: string; message: string }>((resolve) => {
    stream.on('trailers', (trailers) =>
      resolve({
        code: String(trailers['grpc-status']),
        message: decodeURIComponent(String(trailers['grpc-message'] ?? '')),
      }),
    );
  });
  return {
    async resumeAndReadStatus() {
      stream.on('data', () => undefined);
      stream.resume();
      try {
        return await status;
      } finally {
        session.close();
      }
    },
  };
}
