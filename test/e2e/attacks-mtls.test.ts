/**
 * The attacks of issue 10's "Why", repeated against a pair secured with mTLS everywhere (design
 * §16, §17), by an attacker who holds a VALID certificate of the same CA, but of another node of
 * the group (g1/c) or of another group (g2/a, g2/b). Node b's own certificate used by someone
 * who is not b is out of scope (§17.7: with it, the thief is b).
 *
 * Each attack runs against both ways the witness admits nodes (§17.1): the CA vouching (no groups
 * file) and declared members (--groups-file naming g1/a and g1/b). Each is refused with its code
 * and changes nothing: no overlap (the cluster's afterEach checks S1 again), no stop of the healthy
 * holder, failover within FAILOVER_LIMIT_MS, no group or member created. With client auth
 * required, a client without a certificate fails the TLS handshake (UNAVAILABLE): no call of a
 * secured port can be UNAUTHENTICATED, so a valid certificate of another identity is the attack.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { PeerClient } from '../../src/gen/witness/v1/Peer';
import type { PeerHeartbeatResponse__Output } from '../../src/gen/witness/v1/PeerHeartbeatResponse';
import type { PeerState } from '../../src/gen/witness/v1/PeerState';
import { loadWitnessProto } from '../../src/proto/load-proto';
import {
  type Cluster,
  type ClusterOptions,
  HEARTBEAT_MS,
  LEASE_MS,
  type NodeName,
  sleep,
  timeline,
  useCluster,
} from '../support/cluster';
import { coldStart, FAILOVER_LIMIT_MS, steady } from '../support/cluster-steady';
import { requireOpenssl } from '../support/require-openssl';
import { type KeyPair, makeTestCerts, type TestCerts, tlsCredentials } from '../support/test-certs';
import {
  callError,
  calls,
  connect,
  deadline,
  unary,
  type Clients,
  type WitnessCalls,
} from '../support/witness-process';

/** "Several leases": how long an attack goes on while nothing may change. */
const SEVERAL_LEASES_MS = 3 * LEASE_MS;
/** Clients reconnect at once to a restarted witness, as the cluster's own GetState clients do. */
const RECONNECT: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.min_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 200,
};
/** How often a forger sends. */
const FORGE_EVERY_MS = 20;

type Admission = 'ca' | 'declared';

function report(line: string): void {
  process.stdout.write(`      [measure] ${line}\n`);
}

/** The gRPC status name of a code, for readable failures. */
function codeName(code: number | undefined): string {
  return code === undefined ? 'none' : (grpc.status[code] ?? String(code));
}

describe('attacks with a valid certificate of another node or group, against a pair secured with mTLS', function () {
  this.timeout(40_000);
  let dir: string;
  let certs: TestCerts;
  let groupsFile: string;
  const open: { close(): void }[] = [];

  before(function () {
    requireOpenssl(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attacks-mtls-e2e-'));
    certs = makeTestCerts(path.join(dir, 'certs'), ['g1/a', 'g1/b', 'g1/c', 'g2/a', 'g2/b']);
    groupsFile = path.join(dir, 'groups.yaml');
    fs.writeFileSync(
      groupsFile,
      [
        'groups:',
        '  - group: g1',
        '    members:',
        '      - { node: a, role: primary }',
        '      - { node: b, role: secondary }',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  after(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The attackers' certificates: another node of the group, and nodes of another group. */
  const thirdNode = (): KeyPair => certs.node('g1', 'c');
  const otherGroup = (): KeyPair => certs.node('g2', 'a');

  function options(admission: Admission): ClusterOptions {
    return { tls: certs, ...(admission === 'declared' ? { witnessArgs: ['--groups-file', groupsFile] } : {}) };
  }

  /** A cold start of the secured pair, checked to run the admission asked for, then steady. */
  async function securedPair(admission: Admission): Promise<Cluster> {
    const c = await coldStart(options(admission));
    const listening = c.logged('witness', 'witness listening')[0];
    expect(listening, 'the witness admission').to.include({ admission, transport: 'mtls' });
    await steady(c);
    return c;
  }

  /** Witness and Admin calls straight to the witness's port, presenting `identity` (none: no certificate). */
  function witnessAs(c: Cluster, identity: KeyPair | undefined): WitnessCalls {
    const clients: Clients = connect(`127.0.0.1:${c.ports.witness}`, tlsCredentials(certs, identity), RECONNECT);
    open.push(clients);
    return calls(clients);
  }

  /** A Peer client straight to `node`'s port (its certificate names NODE.g1), presenting `identity`. */
  function peerOf(c: Cluster, node: NodeName, identity: KeyPair | undefined): PeerClient {
    const { grpcObject } = loadWitnessProto();
    const client = new grpcObject.witness.v1.Peer(`127.0.0.1:${c.ports[node]}`, tlsCredentials(certs, identity), {
      'grpc.ssl_target_name_override': `${node}.g1`,
    });
    open.push(client);
    return client;
  }

  function heartbeat(client: PeerClient, state: PeerState): Promise<PeerHeartbeatResponse__Output> {
    return unary((cb) => client.Heartbeat({ state }, deadline(), cb));
  }

  const operators = new WeakMap<Cluster, WitnessCalls>();
  function operatorOf(c: Cluster): WitnessCalls {
    let operator = operators.get(c);
    if (operator === undefined) {
      operator = witnessAs(c, certs.operator);
      operators.set(c, operator);
    }
    return operator;
  }

  /** The witness's view of g1, read with the operator's certificate. */
  async function g1(c: Cluster): Promise<{ epoch: string; holder: string; nodes: string[] }> {
    const group = await operatorOf(c).getGroup('g1');
    return { epoch: group.epoch, holder: group.holder, nodes: group.nodes.map((n) => n.node).sort() };
  }

  /**
   * Sends `forge()` every FORGE_EVERY_MS until `stop()` resolves; collects each refusal's code.
   * A forgery that is answered (not refused) is recorded as 'OK' with its answer.
   */
  async function forgeUntil(forge: () => Promise<unknown>, done: Promise<unknown>): Promise<Map<string, number>> {
    const codes = new Map<string, number>();
    let over = false;
    void done.finally(() => (over = true)).catch(() => undefined);
    while (!over) {
      let code: string;
      try {
        code = `OK ${JSON.stringify(await forge())}`;
      } catch (error) {
        code = codeName((error as grpc.ServiceError).code);
      }
      codes.set(code, (codes.get(code) ?? 0) + 1);
      await sleep(FORGE_EVERY_MS);
    }
    return codes;
  }

  function expectAllRefused(what: string, codes: Map<string, number>, code = 'PERMISSION_DENIED'): void {
    const total = [...codes.values()].reduce((a, b) => a + b, 0);
    report(`${what}: ${total} forgeries, ${[...codes].map(([got, n]) => `${n} x ${got}`).join(', ')}`);
    expect(total, `${what}: forgeries sent`).to.be.greaterThan(0);
    expect([...codes.keys()], `${what}: every forgery refused ${code}`).to.deep.equal([code]);
  }

  /** a's one run is still open and a's sidecar never logged a stop; b never started. */
  function aUninterrupted(c: Cluster): boolean {
    const a = c.intervalsOf('a');
    return (
      a.length === 1 &&
      a[0]!.endedBy === 'last-tick' &&
      c.logged('a', 'stop').length === 0 &&
      c.intervalsOf('b').length === 0 &&
      c.logged('b', 'start').length === 0
    );
  }

  for (const admission of ['ca', 'declared'] as const) {
    describe(`witness admission '${admission}'`, function () {
      useCluster();

      it('Admin needs an operator; a node certificate for another group or node cannot renew, raise the epoch, register or create groups; a certificate-less client fails the handshake', async () => {
        const c = await securedPair(admission);
        const operator = operatorOf(c);
        const before = await g1(c);
        const listed = await operator.listGroups();
        expect(listed.groups.map((g) => g.group)).to.deep.equal(['g1']);

        // Admin with a node certificate: PERMISSION_DENIED, whichever node; the operator is answered.
        for (const identity of [certs.node('g1', 'a'), otherGroup()]) {
          const error = await callError(witnessAs(c, identity).listGroups());
          expect(codeName(error.code), error.details).to.equal('PERMISSION_DENIED');
          expect(error.details, 'a refusal names no member or epoch').to.not.match(/holder|epoch \d/);
        }

        // No certificate at all: the TLS handshake fails, on the witness's port and on each sidecar's.
        const anonymous = await callError(
          witnessAs(c, undefined).renew({ group: 'g1', node: 'a', role: 'ROLE_PRIMARY' }),
        );
        expect(codeName(anonymous.code), anonymous.details).to.equal('UNAVAILABLE');
        for (const node of ['a', 'b'] as const) {
          const refused = await callError(
            heartbeat(peerOf(c, node, undefined), { group: 'g1', node: node === 'a' ? 'b' : 'a' }),
          );
          expect(codeName(refused.code), `${node}'s Peer port without a certificate: ${refused.details}`).to.equal(
            'UNAVAILABLE',
          );
        }

        // Attack 5: a Renew for node a with a higher held_epoch (and known_epoch), from g1/c and g2/a.
        const higher = (BigInt(before.epoch) + 1n).toString();
        for (const identity of [thirdNode(), otherGroup()]) {
          const error = await callError(
            witnessAs(c, identity).renew({
              group: 'g1',
              node: 'a',
              role: 'ROLE_PRIMARY',
              heldEpoch: higher,
              knownEpoch: higher,
            }),
          );
          expect(codeName(error.code), error.details).to.equal('PERMISSION_DENIED');
          expect(error.details).to.not.include(before.epoch);
        }

        // Attack 6 (fake members): g1/c speaking as itself, g2/a speaking as g1/x and as g1/b.
        const asC = await callError(
          witnessAs(c, thirdNode()).renew({ group: 'g1', node: 'c', role: 'ROLE_SECONDARY' }),
        );
        // Declared: c is no member (PERMISSION_DENIED). The CA vouching: c's certificate is c's own,
        // but g1 has its two members: a third node is refused (design §17.6).
        expect(codeName(asC.code), asC.details).to.equal(
          admission === 'declared' ? 'PERMISSION_DENIED' : 'FAILED_PRECONDITION',
        );
        for (const node of ['x', 'b']) {
          const error = await callError(
            witnessAs(c, otherGroup()).renew({ group: 'g1', node, role: 'ROLE_SECONDARY' }),
          );
          expect(codeName(error.code), `g2/a as g1/${node}: ${error.details}`).to.equal('PERMISSION_DENIED');
        }

        // Attack 7 (fake groups): 50 Renews for made-up groups with g2/a's certificate, and g1/c's.
        const forgers = [witnessAs(c, otherGroup()), witnessAs(c, thirdNode())];
        const made = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            callError(
              forgers[i % 2]!.renew({
                group: `fake-${i}`,
                node: 'a',
                role: 'ROLE_PRIMARY',
              }),
            ),
          ),
        );
        expect([...new Set(made.map((e) => codeName(e.code)))], 'every made-up group refused').to.deep.equal([
          'PERMISSION_DENIED',
        ]);

        const after = await g1(c);
        expect(after, 'g1 at the witness: same holder, same epoch, only a and b').to.deep.equal({
          ...before,
          nodes: ['a', 'b'],
        });
        const listedAfter = await operator.listGroups();
        expect(listedAfter.total, 'ListGroups total unchanged').to.equal(listed.total);
        expect(listedAfter.groups.map((g) => g.group)).to.deep.equal(['g1']);
        expect(aUninterrupted(c), 'a kept running, b never started').to.equal(true);
      });

      it('forged Peer heartbeats from g1/c and g2/b: to the healthy active a (as b, stopped, running under a newer epoch, acquiring) and to b (as a, stopped): refused; a keeps running, b does not start', async () => {
        const c = await securedPair(admission);
        const { epoch } = await g1(c);
        const newer = (BigInt(epoch) + 1n).toString();
        // Attack 3, to a as b: running, or starting, under a newer epoch; stopped and acquiring.
        const asB = { group: 'g1', node: 'b', role: 'ROLE_SECONDARY', eligible: true } as const;
        const forgedToA: PeerState[] = [
          { ...asB, workload: 'WORKLOAD_PHASE_RUNNING', epoch: newer, knownEpoch: newer },
          { ...asB, workload: 'WORKLOAD_PHASE_STARTING', epoch: newer, knownEpoch: newer },
          { ...asB, workload: 'WORKLOAD_PHASE_STOPPED', knownEpoch: newer, acquiring: true },
        ];
        // Attack 2: "a has stopped", to b; a's own heartbeats to b cut, so b hears only the forger.
        c.cut('a->b');
        const forgedToB: PeerState = {
          group: 'g1',
          node: 'a',
          role: 'ROLE_PRIMARY',
          workload: 'WORKLOAD_PHASE_STOPPED',
          epoch,
          knownEpoch: epoch,
          eligible: true,
        };
        const forgers = [thirdNode(), certs.node('g2', 'b')].flatMap((identity) => [
          { to: peerOf(c, 'a', identity), states: forgedToA },
          { to: peerOf(c, 'b', identity), states: [forgedToB] },
        ]);
        let i = 0;
        const watch = c.holdFor(
          'a keeps running and b does not start under forged Peer heartbeats',
          () => aUninterrupted(c),
          SEVERAL_LEASES_MS,
        );
        const codes = await forgeUntil(() => {
          const forger = forgers[i++ % forgers.length]!;
          return heartbeat(forger.to, forger.states[i % forger.states.length]!);
        }, watch);
        await watch;
        expectAllRefused(`admission ${admission}: forged Peer heartbeats`, codes);
        expect((await c.state('a'))?.knownEpoch, "a's known epoch: the forged newer one was not taken").to.equal(epoch);
        c.heal('a->b');
        await steady(c);
        expect((await g1(c)).epoch, 'the epoch at the witness').to.equal(epoch);
      });

      it("attack 1: a forged Release in the holder a's name while its peer link is cut, from g1/c and g2/a: refused; b does not start", async () => {
        const c = await securedPair(admission);
        const { epoch } = await g1(c);
        c.cut('a->b');
        c.cut('b->a');
        const forgers = [witnessAs(c, thirdNode()), witnessAs(c, otherGroup())];
        let i = 0;
        const watch = c.holdFor(
          'a keeps running and b does not start under forged Releases',
          () => aUninterrupted(c),
          SEVERAL_LEASES_MS,
        );
        const codes = await forgeUntil(
          () => forgers[i++ % forgers.length]!.release({ group: 'g1', node: 'a', epoch, knownEpoch: epoch }),
          watch,
        );
        await watch;
        expectAllRefused(`admission ${admission}: forged Release`, codes);
        expect(await g1(c), 'the witness still has a as the holder under the same epoch').to.include({
          holder: 'a',
          epoch,
        });
        c.heal('a->b');
        c.heal('b->a');
        await steady(c);
      });

      it('attack 4: forged Renews in the name of a after it is killed, from g1/c and g2/a: refused; b takes over within the failover bound', async () => {
        const c = await securedPair(admission);
        const { epoch } = await g1(c);
        const forgers = [witnessAs(c, thirdNode()), witnessAs(c, otherGroup())];
        const renewAsA = { group: 'g1', node: 'a', role: 'ROLE_PRIMARY' as const, heldEpoch: epoch, knownEpoch: epoch };
        // Connected before the kill, so the forgeries start at once.
        for (const forger of forgers)
          expect(codeName((await callError(forger.renew(renewAsA))).code)).to.equal('PERMISSION_DENIED');
        const t0 = timeline();
        await c.kill('a');
        let i = 0;
        const takeover = c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, 5000);
        const codes = await forgeUntil(() => forgers[i++ % forgers.length]!.renew(renewAsA), takeover);
        await takeover;
        const failover = c.intervalsOf('b')[0]!.start - t0;
        report(
          `admission ${admission}: failover ${failover.toFixed(0)} ms (kill -9 of a -> b's workload start) under forged Renews`,
        );
        expectAllRefused(`admission ${admission}: forged Renews as the dead a`, codes);
        expect(failover, 'failover time').to.be.below(FAILOVER_LIMIT_MS);
        expect((await g1(c)).holder).to.equal('b');
        c.assertNoOverlaps();
      });

      it('attack 6 after a witness restart: the fake member is refused from the first call and the real pair rejoins', async () => {
        const c = await securedPair(admission);
        const before = await g1(c);
        // From the moment the witness is back, for a lease and until the pair has rejoined: g2/a as
        // g1/x; with declared members, g1/c as itself too. With the CA vouching, g1/c's own
        // certificate is c's: the restarted witness has forgotten who registered first, so c may
        // take b's place (design §17.7: declare the members to prevent it); not an attack here.
        const fakes = [{ as: 'x', calls: witnessAs(c, otherGroup()) }];
        if (admission === 'declared') fakes.push({ as: 'c', calls: witnessAs(c, thirdNode()) });
        await c.restart('witness');
        const rejoined = c.waitFor(
          'the restarted witness hears a and b again, a still the holder, and a renews with it',
          async () => {
            const group = await operatorOf(c).getGroup('g1');
            const heard = group.nodes.filter((n) => n.lastSeenMsAgo < 5 * HEARTBEAT_MS).map((n) => n.node);
            return (
              group.holder === 'a' &&
              heard.sort().join() === 'a,b' &&
              ((await c.state('a'))?.witnessLeaseRemainingMs ?? 0) > 0
            );
          },
          5000,
        );
        const window = Promise.all([rejoined, sleep(LEASE_MS)]);
        const codes = await Promise.all(
          fakes.map((fake) =>
            forgeUntil(() => fake.calls.renew({ group: 'g1', node: fake.as, role: 'ROLE_SECONDARY' }), window),
          ),
        );
        const took = await rejoined;
        report(`admission ${admission}: the pair rejoined the restarted witness ${took.toFixed(0)} ms after its start`);
        fakes.forEach((fake, i) =>
          expectAllRefused(`admission ${admission}: a fake g1/${fake.as} right after a witness restart`, codes[i]!),
        );
        expect(await g1(c)).to.deep.equal({ ...before, nodes: ['a', 'b'] });
        expect(aUninterrupted(c), 'a kept running, b never started').to.equal(true);
      });
    });
  }
});
