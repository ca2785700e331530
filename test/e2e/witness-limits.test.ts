/**
 * The witness's limits (design §17.6) on a real process: each, when reached, gives its error naming
 * the option, and the witness keeps serving everyone else.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
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
      '--max-streams-per-connection',
      '2',
      '--max-keepalive-streams',
      '2',
      '--max-message-size',
      '1024',
    ]);
    clients = connect(witness.address);
  });

  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  after(async () => {
    clients?.close();
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fresh = (): Clients => {
    const c = connect(witness.address);
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
    const busy = fresh();
    const watches = [busy.admin.Watch({ group: 'g1' }), busy.admin.Watch({ group: 'g2' })];
    for (const w of watches) w.on('error', () => undefined);
    // Give both streams time to open on the one connection.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const waiting = await callError(unary((cb) => busy.witness.Renew(renewOf('g1'), deadline(500), cb)));
    expect(waiting.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    expect((await calls(fresh()).renew(renewOf('g1'))).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    for (const w of watches) w.cancel();
  });

  it('--max-watchers: a third Watch is RESOURCE_EXHAUSTED; a subscriber that does not read is dropped at --watch-backlog', async () => {
    const reader = fresh().admin.Watch({ group: '' });
    const seen: GroupEvent__Output[] = [];
    reader.on('data', (e: GroupEvent__Output) => seen.push(e));
    reader.on('error', () => undefined);
    const stalled = fresh().admin.Watch({ group: '' });
    stalled.pause();
    const dropped = new Promise<grpc.ServiceError>((resolve) => stalled.on('error', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const third = await new Promise<grpc.ServiceError>((resolve) => fresh().admin.Watch({}).on('error', resolve));
    expect(third.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(third.details).to.include('--max-watchers');
    // Events: refusals of a third node, each published; enough to fill the transport's windows.
    const c = calls(fresh());
    const filler = `${'n'.repeat(100)}`;
    for (let i = 0; i < 1500; i++) {
      await callError(c.renew({ ...renewOf('g1', `${filler}${i}`), role: 'ROLE_SECONDARY' }));
      if (seen.length > 0 && i > 50 && (await Promise.race([dropped.then(() => true), Promise.resolve(false)]))) break;
    }
    stalled.resume();
    const error = await dropped;
    expect(error.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.details).to.include('--watch-backlog');
    // The reader that reads is still subscribed and receives what follows.
    const before = seen.length;
    expect((await c.renew(renewOf('g2', 'b', 'ROLE_SECONDARY'))).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.length).to.be.greaterThan(before);
    reader.cancel();
  });
});
