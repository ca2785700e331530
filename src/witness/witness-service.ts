/** gRPC handlers of witness.v1.Witness: unary calls and the KeepAlive stream. */
import type * as grpc from '@grpc/grpc-js';
import type { LeaseAnswer } from '../gen/witness/v1/LeaseAnswer';
import type { RenewRequest__Output } from '../gen/witness/v1/RenewRequest';
import type { WitnessHandlers } from '../gen/witness/v1/Witness';
import type { CheckMessage, FailStream, ServiceEdge } from '../wire/service-edge';
import { answerOf, type ArbitrationService } from './arbitration-service';
import type { StreamRegistry } from './stream-registry';

export function witnessHandlers(
  service: ArbitrationService,
  streams: StreamRegistry,
  edge: ServiceEdge,
): WitnessHandlers {
  return {
    Renew: edge.unary('Renew', (request) => answerOf((reply) => service.heartbeat(request, reply))),
    Acquire: edge.unary('Acquire', (request) => answerOf((reply) => service.acquire(request, reply))),
    Release: edge.unary('Release', (request) => answerOf((reply) => service.release(request, reply))),
    KeepAlive: edge.bidiStream('KeepAlive', (call, fail, check) =>
      keepAlive(call, fail, check, service, streams, () => edge.startTimer('KeepAlive')),
    ),
  };
}

/**
 * Each heartbeat is decided as it arrives, and answered as soon as its answer is ready: a group
 * whose decision waits for the disk holds back its own later answers (the Arbitration service
 * orders them), never another group's. Answers carry the request's sequence. A request the
 * witness cannot act on, or one the caller may not send (`check`, design §17), ends the stream
 * with its status.
 */
function keepAlive(
  call: grpc.ServerDuplexStream<RenewRequest__Output, LeaseAnswer>,
  failStream: FailStream,
  check: CheckMessage,
  service: ArbitrationService,
  streams: StreamRegistry,
  timeMessage: () => () => void,
): void {
  let waiting = 0;
  let halfClosed = false;
  let ended = false;
  const fail = (error: unknown): void => {
    if (ended) return;
    ended = true;
    failStream(error);
  };
  // Throws at the limit, before the stream holds anything: the edge ends it with the status.
  const unregister = streams.add('KeepAlive', () => {
    ended = true;
    call.end();
  });
  // The client half-closed: answer what is still waiting on the disk, then close our side.
  const endWhenAnswered = (): void => {
    if (!halfClosed || waiting > 0 || ended) return;
    ended = true;
    call.end();
  };
  call.on('data', (request: RenewRequest__Output) => {
    if (ended) return;
    try {
      check(request);
    } catch (error) {
      return fail(error);
    }
    waiting += 1;
    const timed = timeMessage();
    service.heartbeat(request, (outcome) => {
      timed();
      waiting -= 1;
      if (!outcome.ok) fail(outcome.error);
      else if (!ended) call.write(outcome.answer);
      endWhenAnswered();
    });
  });
  call.on('end', () => {
    unregister();
    halfClosed = true;
    endWhenAnswered();
  });
  call.on('error', unregister);
  call.on('cancelled', unregister);
}
