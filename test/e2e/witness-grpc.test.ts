/**
 * The witness over the wire: a real `witness serve` process on a loopback port, called by grpc-js
 * clients, by a raw client sending hand-made bytes, and by `buf curl` through server reflection
 * (grpcurl is not installable here; buf curl speaks the same reflection protocol).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { LeaseAnswer__Output } from '../../src/gen/witness/v1/LeaseAnswer';
import type { RenewRequest } from '../../src/gen/witness/v1/RenewRequest';
import { killAllTracked } from '../support/processes';
import {
  bufCurl,
  bufExitFor,
  bufJson,
  callError,
  calls,
  connect,
  EventCollector,
  rawUnary,
  startWitness,
  waitUntil,
  type Clients,
  type RunningWitness,
} from '../support/witness-process';

/** Short leases keep the start-up grace (lease*(1+drift)+margin = 555 ms) short. */
const WITNESS_ARGS = ['--lease', '500ms', '--default-lease', '500ms'];
const GRACE_TIMEOUT_MS = 5_000;
const TWO_63 = (1n << 63n).toString();
const MAX_U64 = ((1n << 64n) - 1n).toString();

// ---- hand-made protobuf wire bytes ----
function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wireType: number): number[] => varint((field << 3) | wireType);
const str = (field: number, text: string): number[] => {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...tag(field, 2), ...varint(bytes.length), ...bytes];
};
const uint = (field: number, value: number | bigint): number[] => [...tag(field, 0), ...varint(value)];

/** A deterministic pseudo-random generator (mulberry32), so "random garbage" is the same every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('witness gRPC API (real process on a loopback port)', function () {
  this.timeout(30_000);
  let dir: string;
  let w: RunningWitness;
  let clients: Clients;
  let api: ReturnType<typeof calls>;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-grpc-e2e-'));
    w = await startWitness(path.join(dir, 'data'), WITNESS_ARGS);
    clients = connect(w.address);
    api = calls(clients);
  });

  afterEach(async () => {
    clients?.close();
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const url = (method = ''): string => `http://${w.address}${method}`;
  const curl = (args: string[]) => bufCurl(args, path.join(dir, 'buf-cache'));

  const renew = (group: string, node: string, role: RenewRequest['role'], extra: Partial<RenewRequest> = {}) =>
    api.renew({ group, node, role, ...extra });

  /** Waits until the witness's start-up grace is over, as GetGroup reports it. */
  const graceOver = (group: string): Promise<void> =>
    waitUntil('start-up grace over', async () => !(await api.getGroup(group)).inStartupGrace, GRACE_TIMEOUT_MS);

  /** The call fails with `code`, and its details name `field` at their start (`field: ...`). */
  async function expectInvalid(promise: Promise<unknown>, field: string): Promise<void> {
    const error = await callError(promise);
    expect(error.code, `${error.code} ${error.details}`).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(error.details).to.match(new RegExp(`^${field}: `));
  }

  it('buf curl lists witness.v1.Witness, witness.v1.Admin and grpc.health.v1.Health through reflection', async () => {
    const result = await curl(['--list-services', url()]);
    expect(result.code, result.stderr).to.equal(0);
    const services = result.stdout.split('\n').map((l) => l.trim());
    expect(services).to.include.members(['witness.v1.Witness', 'witness.v1.Admin', 'grpc.health.v1.Health']);
  });

  it('buf curl calls Admin.GetGroup (holder/epoch fields), GetGroup of an unknown group (NOT_FOUND), ListGroups', async () => {
    expect((await renew('g1', 'node-a', 'ROLE_PRIMARY')).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    expect((await renew('g2', 'node-c', 'ROLE_SECONDARY')).verdict).to.equal('VERDICT_ACKNOWLEDGED');

    const got = await curl(['--emit-defaults', '-d', '{"group":"g1"}', url('/witness.v1.Admin/GetGroup')]);
    expect(got.code, got.stderr).to.equal(0);
    const status = bufJson(got);
    expect(status).to.include({ group: 'g1', holder: '', epoch: '0' });
    expect(status).to.have.property('inStartupGrace').that.is.a('boolean');
    expect(status.nodes).to.be.an('array').with.lengthOf(1);
    expect((status.nodes as Array<Record<string, unknown>>)[0]).to.include({
      node: 'node-a',
      role: 'ROLE_PRIMARY',
      holds: false,
    });

    const unknown = await curl(['-d', '{"group":"no-such-group"}', url('/witness.v1.Admin/GetGroup')]);
    expect(unknown.code, unknown.stdout + unknown.stderr).to.equal(bufExitFor(grpc.status.NOT_FOUND));
    expect(unknown.stdout + unknown.stderr)
      .to.match(/not_found/)
      .and.to.match(/unknown group no-such-group/);

    const list = await curl(['-d', '{}', url('/witness.v1.Admin/ListGroups')]);
    expect(list.code, list.stderr).to.equal(0);
    const all = bufJson(list);
    expect(all.total).to.equal(2);
    expect((all.groups as Array<Record<string, unknown>>).map((g) => g.group)).to.deep.equal(['g1', 'g2']);

    // Paging: one group per page, the token leads to the next one (JSON names, as buf curl prints them).
    const first = bufJson(await curl(['-d', '{"pageSize":1}', url('/witness.v1.Admin/ListGroups')]));
    expect((first.groups as Array<Record<string, unknown>>).map((g) => g.group)).to.deep.equal(['g1']);
    expect(first.nextPageToken).to.be.a('string').with.length.greaterThan(0);
    const second = bufJson(
      await curl([
        '-d',
        JSON.stringify({ pageSize: 1, pageToken: first.nextPageToken }),
        url('/witness.v1.Admin/ListGroups'),
      ]),
    );
    expect((second.groups as Array<Record<string, unknown>>).map((g) => g.group)).to.deep.equal(['g2']);
    expect(second.nextPageToken ?? '').to.equal('');
  });

  it('reflection describes fields by their .proto names: buf curl accepts page_size, held_epoch, lease_ms', async () => {
    // protojson accepts a field's .proto name and its JSON name; a schema whose field is named
    // "pageSize" instead of "page_size" rejects what the .proto (and the README's examples) say.
    const listed = await curl(['-d', '{"page_size":1}', url('/witness.v1.Admin/ListGroups')]);
    const renewed = await curl([
      '-d',
      '{"group":"snake","node":"n1","role":"ROLE_PRIMARY","held_epoch":"0","known_epoch":"0","lease_ms":500}',
      url('/witness.v1.Witness/Renew'),
    ]);
    expect([listed.code, renewed.code], `${listed.stderr}\n${renewed.stderr}`).to.deep.equal([0, 0]);
    expect(bufJson(renewed)).to.include({ group: 'snake', verdict: 'VERDICT_ACKNOWLEDGED' });
  });

  it('grpc.health.v1.Health/Check answers SERVING (grpc-js client), overall and per service', async () => {
    for (const service of ['', 'witness.v1.Witness', 'witness.v1.Admin']) {
      expect((await api.healthCheck(service)).status, service).to.equal('SERVING');
    }
  });

  it('buf curl calls grpc.health.v1.Health/Check through reflection: SERVING', async () => {
    const result = await curl(['-d', '{}', url('/grpc.health.v1.Health/Check')]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    expect(bufJson(result)).to.deep.equal({ status: 'SERVING' });
  });

  it('arbitration over the wire: grant, refusal while the holder renews, release, a higher epoch for the peer; Watch sees it', async () => {
    const watch = new EventCollector(clients.admin.Watch({ group: 'arb' }));
    try {
      await renew('arb', 'prim', 'ROLE_PRIMARY');
      await renew('arb', 'sec', 'ROLE_SECONDARY');
      await graceOver('arb');

      const granted = await api.acquire({ group: 'arb', node: 'prim' });
      expect(granted).to.include({ verdict: 'VERDICT_GRANTED', holder: 'prim', reason: 'REFUSAL_REASON_UNSPECIFIED' });
      const e1 = BigInt(granted.epoch);
      expect(e1 > 0n).to.equal(true);
      expect(granted.leaseMs).to.equal(500);

      const renewed = await renew('arb', 'prim', 'ROLE_PRIMARY', {
        heldEpoch: granted.epoch,
        knownEpoch: granted.epoch,
      });
      expect(renewed).to.include({ verdict: 'VERDICT_RENEWED', holder: 'prim', epoch: granted.epoch });

      const refused = await api.acquire({ group: 'arb', node: 'sec', knownEpoch: granted.epoch });
      expect(refused).to.include({
        verdict: 'VERDICT_REFUSED',
        reason: 'REFUSAL_REASON_HELD_BY_OTHER',
        holder: 'prim',
        epoch: granted.epoch,
      });
      expect(refused.retryAfterMs).to.be.greaterThan(0);

      // An operator sees the holder and the epoch through reflection too.
      const shown = bufJson(await curl(['-d', '{"group":"arb"}', url('/witness.v1.Admin/GetGroup')]));
      expect(shown).to.include({ group: 'arb', holder: 'prim', epoch: granted.epoch });

      const released = await api.release({
        group: 'arb',
        node: 'prim',
        epoch: granted.epoch,
        knownEpoch: granted.epoch,
      });
      expect(released).to.include({ verdict: 'VERDICT_RELEASED', holder: '' });

      const taken = await api.acquire({ group: 'arb', node: 'sec', knownEpoch: granted.epoch });
      expect(taken).to.include({ verdict: 'VERDICT_GRANTED', holder: 'sec' });
      expect(BigInt(taken.epoch) > e1, `${taken.epoch} > ${e1}`).to.equal(true);

      // The old holder's epoch is superseded: its heartbeat is refused with the current holder.
      const stale = await renew('arb', 'prim', 'ROLE_PRIMARY', { heldEpoch: granted.epoch, knownEpoch: granted.epoch });
      expect(stale).to.include({
        verdict: 'VERDICT_REFUSED',
        reason: 'REFUSAL_REASON_STALE_EPOCH',
        holder: 'sec',
        epoch: taken.epoch,
      });

      const first = await watch.waitFor((e) => e.kind === 'EVENT_KIND_GRANTED' && e.node === 'prim', 5000);
      expect(first).to.include({ group: 'arb', epoch: granted.epoch });
      await watch.waitFor((e) => e.kind === 'EVENT_KIND_RELEASED' && e.node === 'prim', 5000);
      const second = await watch.waitFor((e) => e.kind === 'EVENT_KIND_GRANTED' && e.node === 'sec', 5000);
      expect(second).to.include({ group: 'arb', epoch: taken.epoch });
      expect(watch.events.every((e) => e.group === 'arb')).to.equal(true);
    } finally {
      watch.call.cancel();
    }
  });

  /**
   * Writes heartbeats 1..n on one KeepAlive stream. Heartbeat 10 makes the witness adopt epoch 7,
   * a write to disk before its answer; the heartbeats behind it are decided at once but must still
   * be answered after it. With `halfClose`, the client ends its side right after the last write
   * (as a client that is done sending does), else only once every answer is in.
   */
  async function keepAliveRun(group: string, n: number, halfClose: boolean): Promise<LeaseAnswer__Output[]> {
    const stream = clients.witness.KeepAlive({ deadline: Date.now() + 10_000 });
    const answers: LeaseAnswer__Output[] = [];
    const done = new Promise<grpc.StatusObject>((resolve, reject) => {
      stream.on('data', (a: LeaseAnswer__Output) => {
        answers.push(a);
        if (!halfClose && answers.length === n) stream.end();
      });
      stream.on('status', resolve);
      stream.on('error', reject);
    });
    for (let seq = 1; seq <= n; seq += 1) {
      const heldEpoch = seq < 10 ? '0' : '7';
      stream.write({
        group,
        node: 'ka-1',
        role: 'ROLE_PRIMARY',
        heldEpoch,
        knownEpoch: heldEpoch,
        sequence: String(seq),
      });
    }
    if (halfClose) stream.end();
    const status = await done;
    expect(status.code, status.details).to.equal(grpc.status.OK);
    return answers;
  }

  function expectInOrder(answers: LeaseAnswer__Output[], n: number): void {
    expect(answers.map((a) => a.sequence)).to.deep.equal(Array.from({ length: n }, (_, k) => String(k + 1)));
    expect(answers.slice(0, 9).every((a) => a.verdict === 'VERDICT_ACKNOWLEDGED')).to.equal(true);
    expect(answers[9]).to.include({ verdict: 'VERDICT_RENEWED', holder: 'ka-1', epoch: '7' });
    expect(answers.slice(10).every((a) => a.verdict === 'VERDICT_RENEWED' && a.epoch === '7')).to.equal(true);
  }

  it('KeepAlive answers each heartbeat once, in order, echoing sequence (also behind a disk write)', async () => {
    expectInOrder(await keepAliveRun('ka', 40, false), 40);
  });

  it('KeepAlive still answers every heartbeat when the client half-closes right after its last one', async () => {
    expectInOrder(await keepAliveRun('ka-half', 40, true), 40);
  });

  it('malformed requests get INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION naming the field; nothing changes', async () => {
    await renew('m', 'p', 'ROLE_PRIMARY');
    await renew('m', 's', 'ROLE_SECONDARY');
    await renew('solo', 'p', 'ROLE_PRIMARY');
    const before = await api.getGroup('m');

    // Missing and malformed ids.
    await expectInvalid(api.renew({ node: 'p', role: 'ROLE_PRIMARY' }), 'group');
    await expectInvalid(api.renew({ group: 'm', role: 'ROLE_PRIMARY' }), 'node');
    await expectInvalid(renew('m', 'n'.repeat(129), 'ROLE_PRIMARY'), 'node');
    await expectInvalid(renew('g'.repeat(129), 'p', 'ROLE_PRIMARY'), 'group');
    for (const bad of ['a b', 'a/b', 'é', 'a\nb', 'a:b', '*']) {
      await expectInvalid(renew('m', bad, 'ROLE_PRIMARY'), 'node');
      await expectInvalid(renew(bad, 'p', 'ROLE_PRIMARY'), 'group');
      await expectInvalid(api.acquire({ group: 'm', node: bad }), 'node');
      await expectInvalid(api.getGroup(bad), 'group');
    }
    await expectInvalid(api.acquire({ node: 'p' }), 'group');
    await expectInvalid(api.release({ group: 'm' }), 'node');
    await expectInvalid(api.getGroup(''), 'group');

    // Role and durations.
    await expectInvalid(renew('m', 'p', 'ROLE_UNSPECIFIED'), 'role');
    await expectInvalid(renew('m', 'p', 'ROLE_PRIMARY', { leaseMs: 10 }), 'lease_ms');
    await expectInvalid(renew('m', 'p', 'ROLE_PRIMARY', { leaseMs: 600_001 }), 'lease_ms');
    await expectInvalid(api.acquire({ group: 'm', node: 'p', leaseMs: 49 }), 'lease_ms');

    // Ids that are fine, epochs above 2^63-1.
    await expectInvalid(renew('m', 'p', 'ROLE_PRIMARY', { heldEpoch: TWO_63 }), 'held_epoch');
    await expectInvalid(renew('m', 'p', 'ROLE_PRIMARY', { knownEpoch: MAX_U64 }), 'known_epoch');
    await expectInvalid(api.acquire({ group: 'm', node: 's', knownEpoch: TWO_63 }), 'known_epoch');
    await expectInvalid(api.release({ group: 'm', node: 'p', epoch: TWO_63 }), 'epoch');
    await expectInvalid(api.release({ group: 'm', node: 'p', epoch: '1', knownEpoch: MAX_U64 }), 'known_epoch');
    await expectInvalid(api.listGroups({ pageSize: 1001 }), 'page_size');
    await expectInvalid(api.listGroups({ pageToken: '!!not-a-token!!' }), 'page_token');

    // Unknown group, unknown node.
    for (const error of [
      await callError(api.acquire({ group: 'nope', node: 'p' })),
      await callError(api.release({ group: 'nope', node: 'p', epoch: '1' })),
      await callError(api.getGroup('nope')),
    ]) {
      expect(error.code, error.details).to.equal(grpc.status.NOT_FOUND);
      expect(error.details).to.match(/^unknown group nope\b/);
    }
    for (const error of [
      await callError(api.acquire({ group: 'm', node: 'ghost' })),
      await callError(api.release({ group: 'm', node: 'ghost', epoch: '1' })),
    ]) {
      expect(error.code, error.details).to.equal(grpc.status.NOT_FOUND);
      expect(error.details).to.match(/^node ghost is not registered in group m\b/);
    }

    // Membership: a third node, a second primary.
    const third = await callError(renew('m', 'third', 'ROLE_SECONDARY'));
    expect(third.code, third.details).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(third.details).to.include('third node');
    const twin = await callError(renew('solo', 'p2', 'ROLE_PRIMARY'));
    expect(twin.code, twin.details).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(twin.details).to.include('primary');

    // Nothing changed that should not have: same members, no holder, no new groups.
    const after = await api.getGroup('m');
    expect(after.nodes.map((n) => [n.node, n.role]).sort()).to.deep.equal(
      before.nodes.map((n) => [n.node, n.role]).sort(),
    );
    expect(after).to.include({ holder: '', epoch: '0' });
    expect((await api.getGroup('solo')).nodes.map((n) => n.node)).to.deep.equal(['p']);
    const list = await api.listGroups();
    expect(list.groups.map((g) => g.group)).to.deep.equal(['m', 'solo']);
    expect(list.total).to.equal(2);

    // And the server keeps serving.
    expect((await renew('m', 's', 'ROLE_SECONDARY')).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    expect((await api.healthCheck()).status).to.equal('SERVING');
    expect(w.proc.running).to.equal(true);
  });

  it('undecodable bytes from a raw client (garbage, bad wire types, truncation) get INVALID_ARGUMENT; the server keeps serving', async () => {
    await renew('raw', 'p', 'ROLE_PRIMARY');
    const good = [...str(1, 'raw'), ...str(2, 'q'), ...uint(3, 2)];
    const cases: Array<[string, number[]]> = [
      ['wire type 7 (does not exist)', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
      ['a start-group tag (wire type 3)', [...tag(1, 3)]],
      ['an end-group tag (wire type 4)', [...good, ...tag(9, 4)]],
      ['a varint cut short', [...good, 0x20, 0xff]],
      ['a fixed64 cut short', [...good, ...tag(12, 1), 1, 2, 3]],
      ['role (an enum) sent length-delimited', [...str(1, 'raw'), ...str(2, 'q'), ...tag(3, 2), 0x01, 0x01]],
      ['held_epoch sent as fixed32', [...good, ...tag(4, 5), 1, 2, 3, 4]],
      ['a length prefix longer than the message, on an unknown field', [...good, ...tag(15, 2), 0x7f, 1, 2]],
      ['an unknown role number (7)', [...str(1, 'raw'), ...str(2, 'q'), ...uint(3, 7)]],
      ['invalid UTF-8 in group', [...tag(1, 2), 2, 0xc3, 0x28, ...str(2, 'q'), ...uint(3, 2)]],
      ['lease_ms 2^32-1', [...good, ...uint(6, 0xffffffff)]],
      ['held_epoch 2^64-1', [...good, ...uint(4, (1n << 64n) - 1n)]],
    ];
    const random = prng(20241122);
    for (let k = 0; k < 20; k += 1) {
      const length = 1 + Math.floor(random() * 64);
      cases.push([`random garbage #${k}`, Array.from({ length }, () => Math.floor(random() * 256))]);
    }
    const wrong: string[] = [];
    for (const method of ['/witness.v1.Witness/Renew', '/witness.v1.Witness/Acquire', '/witness.v1.Witness/Release']) {
      for (const [what, bytes] of cases) {
        if (method !== '/witness.v1.Witness/Renew' && !what.startsWith('random') && !what.startsWith('wire type'))
          continue;
        try {
          const answer = await rawUnary(w.address, method, Buffer.from(bytes));
          wrong.push(`${method} ${what}: answered OK (${answer.toString('hex')})`);
        } catch (error) {
          const e = error as grpc.ServiceError;
          if (e.code !== grpc.status.INVALID_ARGUMENT)
            wrong.push(`${method} ${what}: ${grpc.status[e.code]} ${e.details}`);
        }
      }
    }
    for (const method of ['/witness.v1.Admin/GetGroup', '/witness.v1.Admin/ListGroups']) {
      const error = await callError(rawUnary(w.address, method, Buffer.from([0xff, 0xff, 0x0f])));
      if (error.code !== grpc.status.INVALID_ARGUMENT)
        wrong.push(`${method}: ${grpc.status[error.code]} ${error.details}`);
    }
    expect(wrong, wrong.join('\n')).to.deep.equal([]);

    // Garbage on the KeepAlive stream ends that stream with INVALID_ARGUMENT.
    const raw = new grpc.Client(w.address, grpc.credentials.createInsecure());
    try {
      const stream = raw.makeBidiStreamRequest(
        '/witness.v1.Witness/KeepAlive',
        (b: Buffer) => b,
        (b: Buffer) => b,
        { deadline: Date.now() + 5000 },
      );
      const status = new Promise<grpc.StatusObject>((resolve) => {
        stream.on('status', resolve);
        stream.on('error', () => undefined);
        stream.on('data', () => undefined);
      });
      stream.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
      expect((await status).code).to.equal(grpc.status.INVALID_ARGUMENT);
    } finally {
      raw.close();
    }

    const group = await api.getGroup('raw');
    expect(group.nodes.map((n) => n.node)).to.deep.equal(['p']);
    expect(group).to.include({ holder: '', epoch: '0' });
    expect((await renew('raw', 'q', 'ROLE_SECONDARY')).verdict).to.equal('VERDICT_ACKNOWLEDGED');
    expect(w.proc.running).to.equal(true);
  });

  it('bytes a protobuf parser must reject (string field sent as a varint, truncated string) get INVALID_ARGUMENT and register nobody', async () => {
    // Each would be a complete, valid Renew registering a node in group "lenient" if decoded
    // leniently; by the protobuf encoding rules both are malformed.
    const cases: Array<[string, number[]]> = [
      [
        // Field 1 (group, a string) with wire type 0: a varint 7, then the bytes "lenient" read as tags.
        'group sent with wire type 0 (varint) where a string is expected',
        [...tag(1, 0), 7, ...Buffer.from('lenient'), ...str(2, 'v1'), ...uint(3, 1)],
      ],
      [
        // Node declared 20 bytes long, 2 present: the message ends inside the field.
        'a length-delimited field truncated at the end of the message',
        [...str(1, 'lenient'), ...uint(3, 2), ...tag(2, 2), 20, ...Buffer.from('v2')],
      ],
    ];
    const wrong: string[] = [];
    for (const [what, bytes] of cases) {
      try {
        const answer = await rawUnary(w.address, '/witness.v1.Witness/Renew', Buffer.from(bytes));
        wrong.push(`${what}: answered OK (${answer.toString('hex')})`);
      } catch (error) {
        const e = error as grpc.ServiceError;
        if (e.code !== grpc.status.INVALID_ARGUMENT) wrong.push(`${what}: ${grpc.status[e.code]} ${e.details}`);
      }
    }
    const registered = await callError(api.getGroup('lenient')).then(
      (e) => `GetGroup lenient: ${grpc.status[e.code]}`,
      (e: Error) => `GetGroup lenient: ${e.message}`,
    );
    expect({ wrong, registered }).to.deep.equal({ wrong: [], registered: 'GetGroup lenient: NOT_FOUND' });
    expect((await api.healthCheck()).status).to.equal('SERVING');
  });

  it('SIGTERM with a KeepAlive stream open: the stream ends and the witness exits 0 within 5 s', async () => {
    const stream = clients.witness.KeepAlive({ deadline: Date.now() + 20_000 });
    const first = new Promise<LeaseAnswer__Output>((resolve) => stream.once('data', resolve));
    const closed = new Promise<grpc.StatusObject>((resolve) => {
      stream.on('status', resolve);
      stream.on('error', () => undefined);
    });
    stream.on('data', () => undefined);
    stream.write({ group: 'term', node: 't1', role: 'ROLE_PRIMARY', sequence: '1' });
    expect((await first).sequence).to.equal('1');

    const started = Date.now();
    expect(w.proc.kill('SIGTERM')).to.equal(true);
    const exit = await w.proc.waitForExit(5000);
    expect(exit, w.proc.output()).to.deep.equal({ code: 0, signal: null });
    expect(Date.now() - started).to.be.below(5000);
    await w.proc.waitForLine(/"msg":"witness stopped"/, 2000, { stream: 'stdout' });
    const status = await Promise.race([
      closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('stream not closed')), 5000)),
    ]);
    expect(status.code, status.details).to.be.oneOf([grpc.status.OK, grpc.status.UNAVAILABLE, grpc.status.CANCELLED]);
  });
});
