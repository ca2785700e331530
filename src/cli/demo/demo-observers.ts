/**
 * What the demo reads, through the programs' own interfaces: each sidecar's Sidecar/GetState (who
 * runs, under which epoch, why) and the witness's Admin/Watch stream (what it decided, by which
 * rule), as an operator would with grpcurl or `witness events --follow`.
 */
import * as grpc from '@grpc/grpc-js';
import type { AdminClient } from '../../gen/witness/v1/Admin';
import type { GroupEvent__Output } from '../../gen/witness/v1/GroupEvent';
import type { SidecarClient } from '../../gen/witness/v1/Sidecar';
import type { SidecarState__Output } from '../../gen/witness/v1/SidecarState';
import { loadWitnessProto } from '../../proto/load-proto';

/** A GetState slower than this counts as no answer: a killed sidecar answers nothing. */
const STATE_DEADLINE_MS = 500;

export class SidecarProbe {
  private readonly client: SidecarClient;

  constructor(readonly address: string) {
    this.client = new (loadWitnessProto().grpcObject.witness.v1.Sidecar)(address, grpc.credentials.createInsecure());
  }

  /** The sidecar's state, or undefined when it does not answer in time. */
  state(): Promise<SidecarState__Output | undefined> {
    return new Promise((resolve) => {
      this.client.GetState({}, { deadline: Date.now() + STATE_DEADLINE_MS }, (error, state) =>
        resolve(error === null ? state : undefined),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The sidecar's workload runs (not starting, not stopping). */
export const runs = (state: SidecarState__Output | undefined): boolean =>
  state?.active === true && state.workload === 'WORKLOAD_PHASE_RUNNING';

/** The witness's arbitration events, from its Admin/Watch stream; reconnects until closed. */
export class WitnessEvents {
  private readonly client: AdminClient;
  private stream: grpc.ClientReadableStream<GroupEvent__Output> | undefined;
  private lastId = '0';
  private closed = false;

  constructor(
    address: string,
    private readonly onEvent: (event: GroupEvent__Output) => void,
  ) {
    this.client = new (loadWitnessProto().grpcObject.witness.v1.Admin)(address, grpc.credentials.createInsecure());
  }

  /** Resolves once the witness accepts connections; rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.waitForReady(Date.now() + timeoutMs, (error) => (error ? reject(error) : resolve())),
    );
  }

  watch(): void {
    if (this.closed) return;
    const stream = this.client.Watch({ group: '', afterId: this.lastId });
    this.stream = stream;
    stream.on('data', (event: GroupEvent__Output) => {
      if (event.kind !== 'EVENT_KIND_STATE') this.lastId = event.id;
      this.onEvent(event);
    });
    // A stream cut while the witness starts or stops: resume after the last event seen.
    stream.on('error', () => setTimeout(() => this.watch(), 200).unref());
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
    this.client.close();
  }
}
