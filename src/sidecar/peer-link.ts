/** The sidecar's heartbeats to its peer, each with a deadline. */
import * as grpc from '@grpc/grpc-js';
import type { PeerReply, PeerState } from '../core/sidecar/types';
import type { PeerClient } from '../gen/witness/v1/Peer';
import { loadWitnessProto } from '../proto/load-proto';
import { linkChannelOptions } from './channel-options';
import { fromWireReply, toWirePeerState } from './peer-wire';

export class PeerLink {
  private readonly client: PeerClient;

  constructor(
    address: string,
    private readonly group: string,
    private readonly deadlineMs: number,
    heartbeatMs: number,
  ) {
    const { grpcObject } = loadWitnessProto();
    this.client = new grpcObject.witness.v1.Peer(
      address,
      grpc.credentials.createInsecure(),
      linkChannelOptions(heartbeatMs, deadlineMs),
    );
  }

  heartbeat(state: PeerState, done: (reply: PeerReply | undefined) => void): void {
    this.client.Heartbeat(
      { state: toWirePeerState(this.group, state) },
      { deadline: Date.now() + this.deadlineMs },
      (error, response) => {
        if (error || response === undefined) return done(undefined);
        try {
          done(fromWireReply(response));
        } catch {
          done(undefined); // a malformed reply counts as no reply
        }
      },
    );
  }

  close(): void {
    this.client.close();
  }
}
