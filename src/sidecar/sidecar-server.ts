/** The sidecar's own gRPC server: the peer link, its status, health and reflection. */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { PeerReply, PeerState } from '../core/sidecar/types';
import type { PeerHandlers } from '../gen/witness/v1/Peer';
import type { PeerHeartbeatRequest__Output } from '../gen/witness/v1/PeerHeartbeatRequest';
import type { PeerHeartbeatResponse } from '../gen/witness/v1/PeerHeartbeatResponse';
import type { SidecarHandlers } from '../gen/witness/v1/Sidecar';
import type { SidecarState } from '../gen/witness/v1/SidecarState';
import type { ReloadingCertificates } from '../grpc/reloading-certificates';
import { bindServer, shutdownGracefully } from '../grpc/server-lifecycle';
import { serverCredentials } from '../grpc/transport-credentials';
import type { Logger } from '../log/logger';
import { loadWitnessProto, reflectionDefinition } from '../proto/load-proto';
import { type CallGuard, ServiceEdge } from '../wire/service-edge';
import { strictDeserializers } from '../wire/strict-deserializers';
import { requireWellFormed } from '../wire/validate-request';
import { WireError } from '../wire/wire-error';
import { fromWirePeerState, requireEpochOfRun, toWireReply } from './peer-wire';

export interface SidecarServerHooks {
  readonly group: string;
  readonly node: string;
  readonly peerNode: string;
  /** TLS certificates (reloaded when their files change); undefined: plaintext. */
  readonly certificates: ReloadingCertificates | undefined;
  /** For what no handler expected: logged with a request id the caller is answered with. */
  readonly logger: Logger;
  /** A heartbeat was refused for who sent it: for a log line (the caller may rate-limit). */
  onRefusedSender(why: string): void;
  onPeerHeartbeat(state: PeerState): PeerReply;
  state(): SidecarState;
  /** Who may call the Peer and Sidecar services (design §17.3). */
  readonly guard: CallGuard;
}

/** `--listen` could not be bound: the sidecar cannot be reached by its peer, so it must not run. */
export class ListenError extends Error {
  constructor(address: string, cause: unknown) {
    const text = cause instanceof Error ? cause.message : String(cause);
    const why = /EADDRINUSE/.test(text) ? 'address already in use (EADDRINUSE): another process holds the port' : text;
    super(`cannot listen on ${address} (--listen): ${why}`);
    this.name = 'ListenError';
  }
}

/** The sidecar's server answers only its peer and operators: a short grace is enough. */
const SHUTDOWN_GRACE_MS = 2_000;

/** What reflection lists: what this port answers, not the witness's services of the same .proto files. */
const REFLECTED_SERVICES = ['witness.v1.Peer', 'witness.v1.Sidecar', 'grpc.health.v1.Health'];

const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.http2.min_ping_interval_without_data_ms': 100,
  'grpc.keepalive_permit_without_calls': 1,
};

export class SidecarServer {
  private readonly server = new grpc.Server(SERVER_OPTIONS);
  /** Ends each open HeartbeatStream: a shutdown ends them rather than wait out its grace on them. */
  private readonly openStreams = new Set<() => void>();
  readonly health = new HealthImplementation({
    '': 'SERVING',
    'witness.v1.Sidecar': 'SERVING',
    'witness.v1.Peer': 'SERVING',
  });

  constructor(private readonly hooks: SidecarServerHooks) {
    const { grpcObject } = loadWitnessProto();
    const peerEdge = new ServiceEdge({ service: 'witness.v1.Peer', logger: hooks.logger, guard: hooks.guard });
    const answer = (request: PeerHeartbeatRequest__Output): PeerHeartbeatResponse => {
      const state = fromWirePeerState(requireWellFormed(request).state, 'state');
      const refusal = senderRefusal(state, hooks);
      if (refusal !== undefined) {
        hooks.onRefusedSender(refusal.message);
        throw refusal;
      }
      requireEpochOfRun(state, 'state');
      return { ...toWireReply(hooks.group, hooks.onPeerHeartbeat(state)), sequence: request.sequence };
    };
    const peer: PeerHandlers = {
      Heartbeat: peerEdge.unary('Heartbeat', answer),
      // A message the unary call would refuse ends the stream with that status (design §4.5).
      HeartbeatStream: peerEdge.bidiStream('HeartbeatStream', (call, fail, check) => {
        let ended = false;
        const end = (): void => {
          if (!ended) call.end();
          ended = true;
        };
        this.openStreams.add(end);
        const forget = (): boolean => this.openStreams.delete(end);
        call.on('data', (request: PeerHeartbeatRequest__Output) => {
          if (ended) return;
          try {
            check(request);
            call.write(answer(request));
          } catch (error) {
            ended = true;
            forget();
            fail(error);
          }
        });
        call.on('end', () => {
          forget();
          end();
        });
        call.on('error', forget);
        call.on('cancelled', forget);
      }),
    };
    const sidecarEdge = new ServiceEdge({ service: 'witness.v1.Sidecar', logger: hooks.logger, guard: hooks.guard });
    const sidecar: SidecarHandlers = { GetState: sidecarEdge.unary('GetState', () => hooks.state()) };
    this.server.addService(strictDeserializers(grpcObject.witness.v1.Peer.service, 'witness.v1.Peer'), peer);
    this.server.addService(grpcObject.witness.v1.Sidecar.service, sidecar);
    this.health.addToServer(this.server);
    new ReflectionService(reflectionDefinition(), { services: REFLECTED_SERVICES }).addToServer(this.server);
  }

  async listen(address: string): Promise<number> {
    try {
      return await bindServer(this.server, address, serverCredentials(this.hooks.certificates));
    } catch (error) {
      throw new ListenError(address, error);
    }
  }

  shutdown(): Promise<void> {
    for (const end of this.openStreams) end();
    this.openStreams.clear();
    return shutdownGracefully(this.server, SHUTDOWN_GRACE_MS);
  }
}

/** Why a heartbeat is not the configured peer's, or undefined when it is. */
function senderRefusal(state: PeerState & { group: string }, hooks: SidecarServerHooks): WireError | undefined {
  if (state.group !== hooks.group) {
    return new WireError(
      'failed-precondition',
      'state.group',
      `state.group: this sidecar serves group ${hooks.group}, not ${state.group}`,
    );
  }
  if (state.node === hooks.node) {
    return new WireError(
      'failed-precondition',
      'state.node',
      `state.node: ${state.node} is this sidecar's own name; check --peer`,
    );
  }
  // Without a group key, the name is all that keeps a third node of the group from being taken
  // for the peer (and granted a peer lease); with one, it keeps a node from answering itself.
  if (state.node !== hooks.peerNode) {
    return new WireError(
      'failed-precondition',
      'state.node',
      `state.node: this sidecar's peer is ${hooks.peerNode} (--peer-node), not ${state.node}`,
    );
  }
  return undefined;
}
