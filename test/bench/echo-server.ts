/**
 * The ceiling the witness is measured against: a plain grpc-js server for the same service
 * definition (witness.v1.Witness, loaded by proto-loader exactly as the witness loads it, with
 * proto-loader's own deserializers) whose handlers have no logic at all: every RenewRequest,
 * AcquireRequest or ReleaseRequest is answered with one fixed LeaseAnswer, in which only `group`
 * and `sequence` are copied from the request (the generator matches stream answers by sequence).
 * The fixed answer is shaped like the witness's answer to a holder's renewal (same message text,
 * a 63-bit epoch), so both servers put about the same bytes on the wire.
 *
 *   node dist/test/bench/echo-server.js --listen 127.0.0.1:PORT
 *
 * Prints one JSON line {"msg":"echo listening","port":PORT} on stdout once bound. Server options
 * are the witness's (keepalive), so connection handling is the same.
 */
import * as grpc from '@grpc/grpc-js';
import type { LeaseAnswer } from '../../src/gen/witness/v1/LeaseAnswer';
import type { RenewRequest__Output } from '../../src/gen/witness/v1/RenewRequest';
import type { WitnessHandlers } from '../../src/gen/witness/v1/Witness';
import { loadWitnessProto } from '../../src/proto/load-proto';

/** The same values as the witness's server options (src/witness/witness-server.ts). */
const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.http2.min_ping_interval_without_data_ms': 100,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
};

const TEMPLATE: LeaseAnswer = {
  group: '',
  verdict: 'VERDICT_RENEWED',
  reason: 'REFUSAL_REASON_UNSPECIFIED',
  message: 'renew-holder: the holder reports in under the current epoch: its lease is extended',
  holder: 'p',
  epoch: '7437612468791296001',
  leaseMs: 2000,
  holderLeaseRemainingMs: 2070,
  retryAfterMs: 0,
  sequence: '0',
};

function answer(request: { group: string; sequence: string }): LeaseAnswer {
  return { ...TEMPLATE, group: request.group, sequence: request.sequence };
}

function handlers(): WitnessHandlers {
  return {
    Renew: (call, callback) => callback(null, answer(call.request)),
    Acquire: (call, callback) => callback(null, { ...answer(call.request), verdict: 'VERDICT_GRANTED' }),
    Release: (call, callback) => callback(null, { ...answer(call.request), verdict: 'VERDICT_RELEASED' }),
    KeepAlive: (call) => {
      call.on('data', (request: RenewRequest__Output) => call.write(answer(request)));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  };
}

function main(): void {
  const i = process.argv.indexOf('--listen');
  const listen = i >= 0 ? process.argv[i + 1] : undefined;
  if (listen === undefined) {
    process.stderr.write('usage: echo-server --listen HOST:PORT\n');
    process.exit(2);
  }
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadWitnessProto().grpcObject.witness.v1.Witness.service, handlers());
  server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`echo-server: ${error.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${JSON.stringify({ msg: 'echo listening', port, pid: process.pid })}\n`);
  });
  const stop = (): void => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The benchmark that started us holds our stdin: when it goes away, so do we.
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

if (require.main === module) main();
