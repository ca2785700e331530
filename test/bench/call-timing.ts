/**
 * Times the calls the production sidecar code makes, from inside a process that embeds sidecars
 * (test/bench/pairs-host.ts): the generated grpc-js client classes the sidecar links use
 * (witness.v1.Witness, witness.v1.Peer, loaded once per process by src/proto/load-proto.ts) get
 * their methods wrapped, so every call a sidecar makes is timed from the moment it hands the
 * request to grpc-js to the moment its callback (or, on a stream, the answer that echoes its
 * sequence) arrives:
 * the latency the sidecar sees, event-loop delay included, as the load generator measures it.
 *
 * The sidecar's own histogram (failover_sidecar_witness_rpc_duration_seconds) measures the same
 * span but only in 12 coarse buckets, behind one HTTP endpoint per sidecar; here each call is kept.
 * Nothing about the call changes: the request, metadata, options and answer pass through untouched.
 */
import { performance } from 'node:perf_hooks';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { loadWitnessProto } from '../../src/proto/load-proto';

/** Latencies (ms) and outcomes of one kind of call since the last take(). */
export class CallRecord {
  private latencies: number[] = [];
  errors = 0;
  errorCodes: Record<string, number> = {};

  answered(ms: number): void {
    this.latencies.push(ms);
  }

  failed(code: string): void {
    this.errors += 1;
    this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
  }

  /** What was recorded since the last take(), and a fresh start. */
  take(): { latencies: number[]; errors: number; errorCodes: Record<string, number> } {
    const taken = { latencies: this.latencies, errors: this.errors, errorCodes: this.errorCodes };
    this.latencies = [];
    this.errors = 0;
    this.errorCodes = {};
    return taken;
  }
}

export interface SidecarCalls {
  /** Unary witness.v1.Witness/Renew. */
  readonly renew: CallRecord;
  /** Answers on witness.v1.Witness/KeepAlive streams, matched to requests by sequence. */
  readonly keepAlive: CallRecord;
  /** Unary witness.v1.Peer/Heartbeat. */
  readonly peerHeartbeat: CallRecord;
  /** Answers on witness.v1.Peer/HeartbeatStream streams, matched to requests by sequence. */
  readonly peerHeartbeatStream: CallRecord;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;
type UnaryCallback = (error: { code?: number } | null, value?: unknown) => void;

function wrapUnary(prototype: Record<string, unknown>, name: string, record: CallRecord): void {
  const original = prototype[name] as Method;
  prototype[name] = function (this: unknown, ...args: unknown[]): unknown {
    const last = args.length - 1;
    const callback = args[last] as UnaryCallback;
    const sentAt = performance.now();
    args[last] = (error: { code?: number } | null, value?: unknown): void => {
      if (error) record.failed(String(error.code ?? 'unknown'));
      else record.answered(performance.now() - sentAt);
      callback(error, value);
    };
    return original.apply(this, args);
  };
}

/** Both stream methods' answers echo the sequence of the request they answer (design §4.5). */
interface Sequenced {
  readonly sequence: string;
}

function wrapStream(prototype: Record<string, unknown>, name: string, record: CallRecord): void {
  const original = prototype[name] as Method;
  prototype[name] = function (this: unknown, ...args: unknown[]): unknown {
    const stream = original.apply(this, args) as ClientDuplexStream<Sequenced, Sequenced>;
    const sentAt = new Map<string, number>();
    const write = stream.write.bind(stream) as (...writeArgs: unknown[]) => boolean;
    stream.write = ((...writeArgs: unknown[]): boolean => {
      sentAt.set((writeArgs[0] as Sequenced).sequence, performance.now());
      return write(...writeArgs);
    }) as typeof stream.write;
    stream.on('data', (answer: Sequenced) => {
      const at = sentAt.get(answer.sequence);
      sentAt.delete(answer.sequence);
      if (at === undefined) record.failed('answer without a request');
      else record.answered(performance.now() - at);
    });
    stream.on('error', (error: { code?: number }) => record.failed(String(error.code ?? 'unknown')));
    return stream;
  };
}

let installed: SidecarCalls | undefined;

/** Wraps the client classes once per process (before any sidecar starts); returns the records. */
export function timeSidecarCalls(): SidecarCalls {
  if (installed !== undefined) return installed;
  const services = loadWitnessProto().grpcObject.witness.v1;
  const witness = services.Witness.prototype as unknown as Record<string, unknown>;
  const peer = services.Peer.prototype as unknown as Record<string, unknown>;
  installed = {
    renew: new CallRecord(),
    keepAlive: new CallRecord(),
    peerHeartbeat: new CallRecord(),
    peerHeartbeatStream: new CallRecord(),
  };
  wrapUnary(witness, 'Renew', installed.renew);
  wrapStream(witness, 'KeepAlive', installed.keepAlive);
  wrapUnary(peer, 'Heartbeat', installed.peerHeartbeat);
  wrapStream(peer, 'HeartbeatStream', installed.peerHeartbeatStream);
  return installed;
}
