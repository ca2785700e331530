/** gRPC handlers of witness.v1.Witness: unary calls and the KeepAlive stream. */
import * as grpc from '@grpc/grpc-js';
import type { LeaseAnswer } from '../gen/witness/v1/LeaseAnswer';
import type { RenewRequest__Output } from '../gen/witness/v1/RenewRequest';
import type { WitnessHandlers } from '../gen/witness/v1/Witness';
import type { Answer, ArbitrationService } from './arbitration-service';
import { toServiceError } from './status-mapping';
import type { StreamRegistry } from './stream-registry';

export function witnessHandlers(service: ArbitrationService, streams: StreamRegistry): WitnessHandlers {
  return {
    Renew: unary((request) => service.heartbeat(request)),
    Acquire: unary((request) => service.acquire(request)),
    Release: unary((request) => service.release(request)),
    KeepAlive: (call) => keepAlive(call, service, streams),
  };
}

function unary<Req>(
  handle: (request: Req) => Answer,
): (call: grpc.ServerUnaryCall<Req, LeaseAnswer>, callback: grpc.sendUnaryData<LeaseAnswer>) => void {
  return (call, callback) => {
    try {
      const answer = handle(call.request);
      if (answer instanceof Promise)
        answer.then(
          (a) => callback(null, a),
          (e: unknown) => callback(toServiceError(e)),
        );
      else callback(null, answer);
    } catch (error) {
      callback(toServiceError(error));
    }
  };
}

/**
 * Each heartbeat is decided the moment it arrives (its receipt time is what the lease counts
 * from); answers are written in request order, so one waiting on the disk holds back later ones.
 * A request the witness cannot act on ends the stream with its status.
 */
function keepAlive(
  call: grpc.ServerDuplexStream<RenewRequest__Output, LeaseAnswer>,
  service: ArbitrationService,
  streams: StreamRegistry,
): void {
  let backlog: Promise<void> | undefined;
  let ended = false;
  const fail = (error: unknown): void => {
    if (ended) return;
    ended = true;
    call.emit('error', toServiceError(error));
  };
  const unregister = streams.add(() => {
    ended = true;
    call.end();
  });
  call.on('data', (request: RenewRequest__Output) => {
    if (ended) return;
    let answer: Answer;
    try {
      answer = service.heartbeat(request);
    } catch (error) {
      fail(error);
      return;
    }
    if (backlog === undefined && !(answer instanceof Promise)) {
      call.write(answer);
      return;
    }
    const previous = backlog ?? Promise.resolve();
    const current: Promise<void> = previous
      .then(() => answer)
      .then((a) => {
        if (!ended) call.write(a);
      }, fail)
      .finally(() => {
        if (backlog === current) backlog = undefined;
      });
    backlog = current;
  });
  // The client half-closed: answer what is still waiting on the disk, then close our side.
  const finish = (): void => {
    unregister();
    void (backlog ?? Promise.resolve()).then(() => {
      if (ended) return;
      ended = true;
      call.end();
    });
  };
  call.on('end', finish);
  call.on('error', unregister);
  call.on('cancelled', unregister);
}
