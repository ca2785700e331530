/**
 * The peer link on a HeartbeatStream (design §4.5), between the production PeerLink and
 * SidecarServer over loopback: heartbeats travel as stream messages with their answers matched,
 * a sender the unary call would refuse ends the stream with the same status, a peer of an older
 * version (no HeartbeatStream) is heartbeaten unary, and a shutdown ends open streams at once.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { PeerReply, PeerState } from '../../src/core/sidecar/types';
import type { PeerHeartbeatRequest__Output } from '../../src/gen/witness/v1/PeerHeartbeatRequest';
import type { PeerHeartbeatResponse } from '../../src/gen/witness/v1/PeerHeartbeatResponse';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { linkSecurity } from '../../src/sidecar/link-security';
import { PeerLink } from '../../src/sidecar/peer-link';
import { toWireReply } from '../../src/sidecar/peer-wire';
import { SidecarServer, type SidecarServerHooks } from '../../src/sidecar/sidecar-server';
import { peerState } from '../support/sidecar-test-settings';

const DEADLINE_MS = 500;
const HEARTBEAT_MS = 100;

/** The reply s gives: no lease, and s's state carrying the epoch it was asked under, to match it. */
function replyOf(asked: PeerState): PeerReply {
  return { state: peerState('s', 'stopped', asked.epoch), leaseMs: 0, leaseForEpoch: 0n };
}

/** s's server, whose peer is p. */
function serverOf(hooks: Pick<SidecarServerHooks, 'onRefusedSender' | 'onPeerHeartbeat' | 'guard'>): SidecarServer {
  const silent = pino({ level: 'silent' });
  return new SidecarServer({
    group: 'g1',
    node: 's',
    peerNode: 'p',
    certificates: undefined,
    logger: silent,
    state: () => ({}),
    ...hooks,
  });
}

function heartbeat(link: PeerLink, epoch: bigint): Promise<PeerReply | undefined> {
  return new Promise((resolve) => link.heartbeat(peerState('p', 'running', epoch), resolve));
}

describe('PeerLink and SidecarServer on a HeartbeatStream', () => {
  let server: SidecarServer;
  let port: number;
  const heard: PeerState[] = [];
  const refused: string[] = [];
  /** The method of each message the guard saw. */
  const methods: string[] = [];
  const links: PeerLink[] = [];

  const linkAs = (node: string): PeerLink => {
    const link = new PeerLink(`127.0.0.1:${port}`, 'g1', node, DEADLINE_MS, HEARTBEAT_MS, linkSecurity(undefined));
    links.push(link);
    return link;
  };

  beforeEach(async () => {
    heard.length = 0;
    refused.length = 0;
    methods.length = 0;
    server = serverOf({
      onRefusedSender: (why) => refused.push(why),
      onPeerHeartbeat: (state) => {
        heard.push(state);
        return replyOf(state);
      },
      guard: (call) => {
        methods.push(call.method);
      },
    });
    port = await server.listen('127.0.0.1:0');
  });

  afterEach(async () => {
    for (const link of links.splice(0)) link.close();
    await server.shutdown();
  });

  it('answers each heartbeat of a stream with the reply to that heartbeat', async () => {
    const link = linkAs('s');
    const replies = await Promise.all([1n, 2n, 3n].map((epoch) => heartbeat(link, epoch)));
    expect(replies.map((r) => r?.state.epoch)).to.deep.equal([1n, 2n, 3n]);
    expect(heard.map((s) => s.epoch)).to.deep.equal([1n, 2n, 3n]);
    expect(methods).to.deep.equal(['HeartbeatStream', 'HeartbeatStream', 'HeartbeatStream']);
  });

  it('ends the stream of a sender the unary call would refuse, with the status naming the field', async () => {
    const { grpcObject } = loadWitnessProto();
    const client = new grpcObject.witness.v1.Peer(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const stream = client.HeartbeatStream();
    const status = await new Promise<grpc.ServiceError>((resolve) => {
      stream.on('data', () => undefined);
      stream.on('error', resolve);
      const wire = toWireReply('g1', replyOf(peerState('p', 'running', 4n))).state;
      stream.write({ state: { ...wire, node: 'c' }, sequence: '1' });
    });
    client.close();
    expect(status.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(status.details).to.match(/^state\.node: this sidecar's peer is p/);
    expect(heard).to.deep.equal([]);
    expect(refused).to.have.length(1);
  });

  it('a shutdown ends open streams instead of waiting out its grace', async () => {
    const link = linkAs('s');
    expect(await heartbeat(link, 1n)).to.not.equal(undefined);
    const started = performance.now();
    await server.shutdown();
    expect(performance.now() - started).to.be.below(1000); // the grace is 2 s
    server = serverOf({ onRefusedSender: () => undefined, onPeerHeartbeat: replyOf, guard: () => undefined }); // afterEach shuts one down
  });
});

describe('PeerLink to a peer without HeartbeatStream (an older sidecar)', () => {
  it('heartbeats it unary after the one heartbeat the refusal costs', async () => {
    const { grpcObject } = loadWitnessProto();
    const server = new grpc.Server();
    let unary = 0;
    server.addService(grpcObject.witness.v1.Peer.service, {
      Heartbeat: (
        call: grpc.ServerUnaryCall<PeerHeartbeatRequest__Output, PeerHeartbeatResponse>,
        done: grpc.sendUnaryData<PeerHeartbeatResponse>,
      ) => {
        unary += 1;
        done(
          null,
          toWireReply('g1', {
            state: peerState('s', 'stopped', BigInt(call.request.state?.epoch ?? 0)),
            leaseMs: 0,
            leaseForEpoch: 0n,
          }),
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const link = new PeerLink(`127.0.0.1:${port}`, 'g1', 's', DEADLINE_MS, HEARTBEAT_MS, linkSecurity(undefined));
    try {
      expect(await heartbeat(link, 1n)).to.equal(undefined);
      for (const epoch of [2n, 3n, 4n]) expect((await heartbeat(link, epoch))?.state.epoch).to.equal(epoch);
      expect(unary).to.equal(3);
    } finally {
      link.close();
      server.forceShutdown();
    }
  });
});
