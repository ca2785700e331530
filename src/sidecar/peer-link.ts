/**
 * The sidecar's heartbeats to its peer, each with a deadline: messages on a HeartbeatStream
 * (design §4.5), unary Heartbeat calls while no stream may be used (a peer of an older version).
 */
import type { PeerReply, PeerState } from '../core/sidecar/types';
import type { PeerClient } from '../gen/witness/v1/Peer';
import type { PeerHeartbeatRequest } from '../gen/witness/v1/PeerHeartbeatRequest';
import type { PeerHeartbeatResponse__Output } from '../gen/witness/v1/PeerHeartbeatResponse';
import { loadWitnessProto } from '../proto/load-proto';
import { ChannelKeeper } from './channel-keeper';
import { linkChannelOptions } from './channel-options';
import { monotonicNowMs } from './monotonic-clock';
import type { LinkSecurity } from './link-security';
import { fromWireReply, toWirePeerState } from './peer-wire';
import { StreamedCalls } from './streamed-calls';

export class PeerLink {
  private readonly keeper: ChannelKeeper<PeerClient>;
  private readonly stream: StreamedCalls<PeerHeartbeatRequest, PeerHeartbeatResponse__Output>;

  constructor(
    address: string,
    private readonly group: string,
    private readonly peerNode: string,
    private readonly deadlineMs: number,
    heartbeatMs: number,
    private readonly security: LinkSecurity,
    /** A reply came from another node or group than the configured peer's: for a log line. */
    private readonly onWrongPeer: (why: string) => void = () => undefined,
  ) {
    const { grpcObject } = loadWitnessProto();
    const options = { ...linkChannelOptions(heartbeatMs, deadlineMs), ...security.options };
    this.keeper = new ChannelKeeper(
      new grpcObject.witness.v1.Peer(address, security.credentials, options),
      address,
      deadlineMs,
      monotonicNowMs(),
    );
    const client = this.keeper.client;
    this.stream = new StreamedCalls({
      open: () => client.HeartbeatStream(security.metadata()),
      deadlineMs,
      backoffMs: heartbeatMs,
    });
  }

  heartbeat(state: PeerState, done: (reply: PeerReply | undefined) => void): void {
    const request = { state: toWirePeerState(this.group, state) };
    const replied = (error: unknown, response?: PeerHeartbeatResponse__Output): void =>
      this.replied(state, error, response, done);
    if (this.stream.send((sequence) => ({ ...request, sequence }), replied)) return;
    this.keeper.client.Heartbeat(
      request,
      this.security.metadata(),
      { deadline: Date.now() + this.deadlineMs },
      replied,
    );
  }

  close(): void {
    this.stream.close();
    this.keeper.close();
  }

  private replied(
    state: PeerState,
    error: unknown,
    response: PeerHeartbeatResponse__Output | undefined,
    done: (reply: PeerReply | undefined) => void,
  ): void {
    if (error || response === undefined) {
      this.keeper.failed(monotonicNowMs());
      return done(undefined);
    }
    this.keeper.answered(monotonicNowMs());
    let reply: ReturnType<typeof fromWireReply>;
    try {
      reply = fromWireReply(response, state.coldStartEpoch > 0n ? state.coldStartEpoch : state.epoch);
    } catch {
      return done(undefined); // a malformed reply counts as no reply
    }
    // --peer pointing at another sidecar: its leases and state are not the peer's.
    const { group, node } = reply.state;
    if (group !== this.group || node !== this.peerNode) {
      this.onWrongPeer(`the sidecar at --peer is ${group}/${node}, not ${this.group}/${this.peerNode}`);
      return done(undefined);
    }
    done(reply);
  }
}
