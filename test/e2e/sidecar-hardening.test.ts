/**
 * The sidecar refuses to run where it cannot be what it says (issue 8, items 10 and 11), with real
 * processes on loopback:
 *
 * - its --listen port is taken: it exits 1 naming the address, and no watchdog is left behind;
 * - a Peer heartbeat from a third node of the group is refused (FAILED_PRECONDITION naming
 *   state.node) and changes nothing, while the configured peer's is taken;
 * - a reply from a sidecar that is not the configured peer does not count as hearing the peer.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { PeerClient } from '../../src/gen/witness/v1/Peer';
import type { PeerHeartbeatResponse__Output } from '../../src/gen/witness/v1/PeerHeartbeatResponse';
import type { PeerState } from '../../src/gen/witness/v1/PeerState';
import type { SidecarClient } from '../../src/gen/witness/v1/Sidecar';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import { loadWitnessProto } from '../../src/proto/load-proto';
import type { TrackedProcess } from '../support/processes';
import { deadAddress, spawnSidecar, stopEverything, watchdogAlive, watchdogPids } from '../support/one-sidecar';
import { callError, sleep, unary, waitUntil } from '../support/witness-process';

const READY_MS = 10_000;
const TIMING = ['--heartbeat', '100ms', '--timeout', '500ms', '--lease', '1s', '--stop-timeout', '300ms'];

describe('sidecar hardening (real processes)', function () {
  this.timeout(30_000);
  let dir: string;
  const sidecars: TrackedProcess[] = [];
  const clients: grpc.Client[] = [];
  let occupier: net.Server | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-hardening-'));
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await new Promise<void>((resolve) => (occupier ? occupier.close(() => resolve()) : resolve()));
    occupier = undefined;
    await stopEverything(dir, sidecars.splice(0));
  });

  async function start(args: readonly string[], listen?: string): Promise<TrackedProcess> {
    const { proc } = await spawnSidecar(dir, args, listen);
    sidecars.push(proc);
    return proc;
  }

  function clientsOf(address: string): { peer: PeerClient; sidecar: SidecarClient } {
    const { grpcObject } = loadWitnessProto();
    const peer = new grpcObject.witness.v1.Peer(address, grpc.credentials.createInsecure());
    const sidecar = new grpcObject.witness.v1.Sidecar(address, grpc.credentials.createInsecure());
    clients.push(peer, sidecar);
    return { peer, sidecar };
  }

  /** Waits until `proc` listens; its address. */
  async function ready(proc: TrackedProcess): Promise<string> {
    const line = await proc.waitForLine(/"failoverBoundMs"/, READY_MS, { stream: 'stdout' });
    return (JSON.parse(line) as { listen: string }).listen;
  }

  const getState = (client: SidecarClient): Promise<SidecarState__Output> =>
    unary<SidecarState__Output>((cb) => client.GetState({}, { deadline: Date.now() + 2000 }, cb));

  it('a taken --listen port: exit 1, stderr names the address, no watchdog left', async () => {
    occupier = net.createServer();
    const server = occupier;
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, resolve));
    const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const proc = await start(
      ['--node', 'a', '--peer-node', 'b', '--peer', await deadAddress(), '--witness', await deadAddress(), ...TIMING],
      address,
    );

    const exit = await proc.waitForExit(5000);
    expect(exit.code, proc.output()).to.equal(1);
    expect(proc.stderrLines.join('\n')).to.include(`cannot listen on ${address} (--listen): address already in use`);
    const watchdogs = watchdogPids(proc);
    expect(watchdogs, 'the sidecar had started its watchdog before binding').to.have.lengthOf(1);
    expect(watchdogs.filter(watchdogAlive), 'watchdogs still alive').to.deep.equal([]);
  });

  it('a Peer heartbeat from a third node is refused naming state.node and changes nothing; the peer is heard', async () => {
    const proc = await start([
      ...['--node', 'a', '--peer-node', 'b', '--role', 'primary'],
      ...['--peer', await deadAddress(), '--witness', await deadAddress(), ...TIMING],
    ]);
    const { peer, sidecar } = clientsOf(await ready(proc));
    const heartbeat = (state: PeerState) =>
      unary<PeerHeartbeatResponse__Output>((cb) => peer.Heartbeat({ state }, { deadline: Date.now() + 2000 }, cb));
    const from = (node: string): PeerState => ({
      group: 'g1',
      node,
      role: 'ROLE_SECONDARY',
      workload: 'WORKLOAD_PHASE_RUNNING',
      epoch: '77',
      knownEpoch: '77',
      acquiring: false,
      eligible: true,
      handbackRequested: false,
    });

    const before = await getState(sidecar);
    const refused = await callError(heartbeat(from('c')));
    expect(refused.code, `${grpc.status[refused.code]} ${refused.details}`).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(refused.details)
      .to.match(/^state\.node: /)
      .and.to.include('b')
      .and.to.include('c');
    const after = await getState(sidecar);
    expect(after.knownEpoch, 'the refused epoch 77 was not taken in').to.equal(before.knownEpoch);
    expect(after.peerReachable, 'a third node is not the peer').to.equal(false);

    // The configured peer with the same message is heard: the refusal was about the name alone.
    const answer = await heartbeat(from('b'));
    expect(answer.state?.node).to.equal('a');
    const heard = await getState(sidecar);
    expect(heard).to.include({ knownEpoch: '77', peerReachable: true });
  });

  it("a reply from a sidecar that is not the configured peer does not count as the peer's", async () => {
    // c is a third node that takes a for its peer; a's --peer points at c by mistake.
    const c = await start([
      ...['--node', 'c', '--peer-node', 'a', '--role', 'secondary'],
      ...['--peer', await deadAddress(), '--witness', await deadAddress(), ...TIMING],
    ]);
    const cAddress = await ready(c);
    const a = await start([
      ...['--node', 'a', '--peer-node', 'b', '--role', 'primary'],
      ...['--peer', cAddress, '--witness', await deadAddress(), ...TIMING],
    ]);
    const { sidecar: aStatus } = clientsOf(await ready(a));
    const { sidecar: cStatus } = clientsOf(cAddress);

    await waitUntil('c hears a', async () => (await getState(cStatus)).peerReachable, 5000);
    // Several of a's heartbeats have been answered by c by now.
    await sleep(500);
    expect((await getState(aStatus)).peerReachable, 'a took c for its peer b').to.equal(false);
    await a.waitForLine(/"msg":"ignored a Peer heartbeat reply"/, 2000, { stream: 'stdout' });
  });
});
