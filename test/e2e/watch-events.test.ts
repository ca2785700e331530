/**
 * Admin.Watch with a real witness process (design §18): the current state first, events with an
 * id, a time and the rule that decided them, and a resume from an id out of the bounded history.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { GroupEvent__Output } from '../../src/gen/witness/v1/GroupEvent';
import { killAllTracked } from '../support/processes';
import {
  calls,
  connect,
  EventCollector,
  grantToA,
  startWitness,
  type Clients,
  type RunningWitness,
} from '../support/witness-process';

/** A short lease keeps the start-up grace short; a history of 4 events makes "too old" reachable. */
const WITNESS_ARGS = ['--lease', '500ms', '--default-lease', '500ms', '--event-history', '4'];
const WAIT_MS = 5000;

function streamError(call: grpc.ClientReadableStream<GroupEvent__Output>): Promise<grpc.ServiceError> {
  return new Promise((resolve) => call.on('error', resolve));
}

describe('Admin.Watch: state first, event ids, resume (real process on a loopback port)', function () {
  this.timeout(30_000);
  let dir: string;
  let w: RunningWitness;
  let clients: Clients;
  let api: ReturnType<typeof calls>;
  const watches: EventCollector[] = [];
  const watch = (request: { group?: string; afterId?: string }): EventCollector => {
    const collector = new EventCollector(clients.admin.Watch(request));
    watches.push(collector);
    return collector;
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-watch-e2e-'));
    w = await startWitness(path.join(dir, 'data'), WITNESS_ARGS);
    clients = connect(w.address);
    api = calls(clients);
  });

  afterEach(async () => {
    for (const c of watches.splice(0)) c.call.cancel();
    clients?.close();
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("sends each group's state first, then events with increasing ids, a time and their rule", async () => {
    const before = Date.now();
    const granted = await grantToA(api, 'g1');
    await api.renew({ group: 'g2', node: 'x', role: 'ROLE_PRIMARY' });
    const all = watch({});
    const states = [
      await all.waitFor((e) => e.kind === 'EVENT_KIND_STATE' && e.group === 'g1', WAIT_MS),
      await all.waitFor((e) => e.kind === 'EVENT_KIND_STATE' && e.group === 'g2', WAIT_MS),
    ];
    expect(states[0]).to.include({ holder: 'a', epoch: granted.epoch, rule: '', node: '' });
    expect(states[0]!.message).to.match(/a holds the group/);
    expect(states[1]).to.include({ holder: '', epoch: '0' });
    expect(all.events.slice(0, 2).map((e) => e.kind)).to.deep.equal(['EVENT_KIND_STATE', 'EVENT_KIND_STATE']);
    // One group's watch gets that group's state only.
    const one = watch({ group: 'g1' });
    await one.waitFor((e) => e.kind === 'EVENT_KIND_STATE', WAIT_MS);
    expect(one.events.map((e) => e.group)).to.deep.equal(['g1']);

    const released = await api.release({ group: 'g1', node: 'a', epoch: granted.epoch, knownEpoch: granted.epoch });
    expect(released.verdict).to.equal('VERDICT_RELEASED');
    const taken = await api.acquire({ group: 'g1', node: 'b', knownEpoch: granted.epoch });
    expect(taken.verdict).to.equal('VERDICT_GRANTED');
    const release = await all.waitFor((e) => e.kind === 'EVENT_KIND_RELEASED', WAIT_MS);
    const grant = await all.waitFor((e) => e.kind === 'EVENT_KIND_GRANTED' && e.node === 'b', WAIT_MS);
    expect(release).to.include({ group: 'g1', node: 'a', rule: 'release-holder', holder: '' });
    expect(grant).to.include({ group: 'g1', rule: 'grant-new-epoch', holder: 'b', epoch: taken.epoch });
    expect(BigInt(grant.id) > BigInt(release.id)).to.equal(true);
    expect(BigInt(release.id) > BigInt(states[0]!.id)).to.equal(true);
    const time = Number(grant.timeUnixMs);
    expect(time).to.be.within(before, Date.now());
  });

  it('resumes after an id with exactly the events that followed it, and refuses an id it no longer keeps', async () => {
    const granted = await grantToA(api, 'g1');
    const live = watch({ group: 'g1' });
    const state = await live.waitFor((e) => e.kind === 'EVENT_KIND_STATE', WAIT_MS);
    await api.release({ group: 'g1', node: 'a', epoch: granted.epoch, knownEpoch: granted.epoch });
    const taken = await api.acquire({ group: 'g1', node: 'b', knownEpoch: granted.epoch });
    await live.waitFor((e) => e.kind === 'EVENT_KIND_GRANTED' && e.node === 'b', WAIT_MS);

    const resumed = watch({ group: 'g1', afterId: state.id });
    await resumed.waitFor((e) => e.kind === 'EVENT_KIND_GRANTED' && e.node === 'b', WAIT_MS);
    const since = live.events.filter((e) => e.kind !== 'EVENT_KIND_STATE');
    expect(resumed.events.map((e) => e.id)).to.deep.equal(since.map((e) => e.id));
    expect(resumed.events.every((e) => e.kind !== 'EVENT_KIND_STATE')).to.equal(true);

    // Five more events push the first ones out of a history of four.
    for (let i = 0; i < 5; i += 1) {
      const refused = await api.acquire({ group: 'g1', node: 'a', knownEpoch: taken.epoch });
      expect(refused.verdict).to.equal('VERDICT_REFUSED');
    }
    const old = clients.admin.Watch({ group: 'g1', afterId: state.id });
    const error = await streamError(old);
    expect(error.code).to.equal(grpc.status.OUT_OF_RANGE);
    expect(error.details).to.match(/^after_id: /);
    const future = clients.admin.Watch({ afterId: (BigInt(state.id) + 1_000_000n).toString() });
    expect((await streamError(future)).code).to.equal(grpc.status.OUT_OF_RANGE);
  });
});
