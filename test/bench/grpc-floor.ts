/**
 * The floor a sidecar's idle cost is measured against (bench:sidecar): a process with no logic
 * that makes the same gRPC traffic as an idle sidecar, using the same service definitions,
 * proto-loader, and the sidecar's own channel options (src/sidecar/channel-options.ts):
 *
 *   node dist/test/bench/grpc-floor.js --listen HOST:PORT --peer HOST:PORT --witness HOST:PORT
 *     --heartbeat MS [--timeout MS] [--witness-rpc unary|stream] [--peer-rpc unary|stream]
 *
 * It serves witness.v1.Peer/Heartbeat (a fixed answer), and every heartbeat period calls its
 * peer's Peer/Heartbeat and the witness (the bench's echo server): a unary Renew like the sidecar
 * (--witness-rpc unary), or one message on a KeepAlive stream (--witness-rpc stream), to show
 * what the transport alone costs either way. --peer-rpc stream sends the peer heartbeats as
 * messages on one long-lived stream too (served here as witness.v1.Witness/KeepAlive, an echo):
 * the cost of a peer link that had a streaming method. Every unary call has a deadline, as the
 * sidecar's do.
 * Prints {"msg":"floor listening",...} once bound; exits when stdin closes.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerHeartbeatResponse } from '../../src/gen/witness/v1/PeerHeartbeatResponse';
import type { PeerState } from '../../src/gen/witness/v1/PeerState';
import type { LeaseAnswer, LeaseAnswer__Output } from '../../src/gen/witness/v1/LeaseAnswer';
import type { RenewRequest, RenewRequest__Output } from '../../src/gen/witness/v1/RenewRequest';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { linkChannelOptions } from '../../src/sidecar/channel-options';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) {
    process.stderr.write(`grpc-floor: --${name} is required\n`);
    process.exit(2);
  }
  return v;
}

function main(): void {
  const listen = arg('listen');
  const peer = arg('peer');
  const witness = arg('witness');
  const heartbeatMs = Number(arg('heartbeat', '200'));
  const timeoutMs = Number(arg('timeout', '1000'));
  const witnessRpc = arg('witness-rpc', 'unary');
  const peerRpc = arg('peer-rpc', 'unary');
  const node = arg('node', 'a');
  const { grpcObject } = loadWitnessProto();
  const options = linkChannelOptions(heartbeatMs, timeoutMs);
  const state: PeerState = {
    group: 'g1',
    node,
    role: node === 'a' ? 'ROLE_PRIMARY' : 'ROLE_SECONDARY',
    workload: node === 'a' ? 'WORKLOAD_PHASE_RUNNING' : 'WORKLOAD_PHASE_STOPPED',
    epoch: node === 'a' ? '7437612468791296001' : '0',
    knownEpoch: '7437612468791296001',
    acquiring: false,
    eligible: true,
    handbackRequested: false,
  };

  const server = new grpc.Server();
  server.addService(grpcObject.witness.v1.Peer.service, {
    Heartbeat: (
      call: grpc.ServerUnaryCall<unknown, PeerHeartbeatResponse>,
      callback: grpc.sendUnaryData<PeerHeartbeatResponse>,
    ) => callback(null, { state, leaseMs: 2000, leaseForEpoch: '7437612468791296001' }),
  });
  server.addService(grpcObject.witness.v1.Witness.service, {
    KeepAlive: (call: grpc.ServerDuplexStream<RenewRequest__Output, LeaseAnswer>) => {
      call.on('data', (r: RenewRequest__Output) =>
        call.write({ group: r.group, verdict: 'VERDICT_ACKNOWLEDGED', leaseMs: 2000, sequence: r.sequence }),
      );
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    Renew: (_call: unknown, callback: grpc.sendUnaryData<LeaseAnswer>) => callback(null, {}),
    Acquire: (_call: unknown, callback: grpc.sendUnaryData<LeaseAnswer>) => callback(null, {}),
    Release: (_call: unknown, callback: grpc.sendUnaryData<LeaseAnswer>) => callback(null, {}),
  });

  const peerClient = new grpcObject.witness.v1.Peer(peer, grpc.credentials.createInsecure(), options);
  const peerStreamClient = new grpcObject.witness.v1.Witness(peer, grpc.credentials.createInsecure(), options);
  const witnessClient = new grpcObject.witness.v1.Witness(witness, grpc.credentials.createInsecure(), options);
  const renew: RenewRequest = {
    group: 'g1',
    node,
    role: state.role,
    heldEpoch: state.epoch,
    knownEpoch: state.knownEpoch,
    leaseMs: 2000,
  };
  const streams = new Map<grpc.Client, grpc.ClientDuplexStream<RenewRequest, LeaseAnswer__Output>>();
  let sequence = 0;
  const writeOnStream = (client: typeof witnessClient): void => {
    let stream = streams.get(client);
    if (stream === undefined) {
      const opened = client.KeepAlive();
      opened.on('data', () => undefined);
      opened.on('error', () => streams.delete(client));
      streams.set(client, opened);
      stream = opened;
    }
    stream.write({ ...renew, sequence: String(++sequence) });
  };
  const beat = (): void => {
    if (peerRpc === 'stream') writeOnStream(peerStreamClient);
    else peerClient.Heartbeat({ state }, { deadline: Date.now() + timeoutMs }, () => undefined);
    if (witnessRpc === 'stream') {
      writeOnStream(witnessClient);
    } else {
      witnessClient.Renew(renew, { deadline: Date.now() + timeoutMs }, () => undefined);
    }
    setTimeout(beat, heartbeatMs);
  };

  server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`grpc-floor: ${error.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${JSON.stringify({ msg: 'floor listening', port, pid: process.pid })}\n`);
    beat();
  });
  const stop = (): void => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

if (require.main === module) main();
