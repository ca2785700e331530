/**
 * The service edge (src/wire/service-edge.ts) on a loopback server: the witness's Admin handlers
 * over an arbiter and an event hub that fail unexpectedly, and a bare Sidecar service for the
 * guard. An unexpected error reaches the client as INTERNAL with a request id, and the log
 * line carries the same id and the stack; a typed error keeps its code and names the field.
 */
import { SyncNowDesk } from '../../src/witness/sync-now-desk';
import { expect } from 'chai';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { Arbiter } from '../../src/core/witness/arbiter';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { type CallGuard, type GuardedRequest, ServiceEdge } from '../../src/wire/service-edge';
import { strictDeserializers } from '../../src/wire/strict-deserializers';
import { decidedNothing } from '../../src/wire/undecided-refusal';
import { WireError } from '../../src/wire/wire-error';
import { adminHandlers } from '../../src/witness/admin-service';
import type { ArbitrationService } from '../../src/witness/arbitration-service';
import type { EventHub } from '../../src/witness/event-hub';
import { storeErrorToWire } from '../../src/witness/store-error-to-wire';
import { StoreUnconfirmedError, StoreWriteError } from '../../src/witness/store/witness-store';
import { StreamRegistry } from '../../src/witness/stream-registry';

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  method?: string;
  kind?: string;
  err?: { message: string; stack: string };
}

const STREAM_LIMITS = {
  KeepAlive: { max: 1000, option: '--max-keepalive-streams' },
  Watch: { max: 1000, option: '--max-watchers' },
};

const REQUEST_ID = /^internal error \(request id ([0-9a-f]{16})\)$/;

function capturedLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

function failure(call: (done: (error: grpc.ServiceError | null) => void) => void): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) =>
    call((error) => (error === null ? reject(new Error('expected the call to fail')) : resolve(error))),
  );
}

function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

describe('ServiceEdge (handler wrappers of the witness and the sidecar)', () => {
  const { grpcObject } = loadWitnessProto();
  const v1 = grpcObject.witness.v1;
  const { logger, lines } = capturedLogger();
  const seen: GuardedRequest[] = [];
  const guard: CallGuard = (call) => {
    seen.push(call);
    if (call.credentials.bearerToken === 'refuse-me') throw new WireError('permission-denied', '', 'not for you');
  };
  const server = new grpc.Server();
  let address = '';

  before(async () => {
    const brokenArbiter = {
      has: () => false,
      view: (group: string) => {
        if (group === 'unconfirmed') throw new StoreUnconfirmedError();
        if (group === 'write-failed') throw new StoreWriteError(new Error('disk full'));
        throw new Error('the arbiter fell over');
      },
    } as unknown as Arbiter;
    const brokenHub = {
      subscribe: () => {
        throw new Error('the event hub fell over');
      },
    } as unknown as EventHub;
    const adminEdge = new ServiceEdge({ service: 'witness.v1.Admin', logger, knownError: storeErrorToWire });
    server.addService(
      strictDeserializers(v1.Admin.service, 'witness.v1.Admin'),
      adminHandlers(
        brokenArbiter,
        {} as ArbitrationService,
        brokenHub,
        new StreamRegistry(STREAM_LIMITS),
        () => 0,
        adminEdge,
        1000,
        () => 0,
        new SyncNowDesk(0),
      ),
    );
    const sidecarEdge = new ServiceEdge({ service: 'witness.v1.Sidecar', logger, guard });
    server.addService(v1.Sidecar.service, {
      GetState: sidecarEdge.unary<unknown, SidecarState__Output>('GetState', () => {
        throw new Error('should not be reached when refused');
      }),
    });
    address = `127.0.0.1:${await listen(server)}`;
  });

  after(() => server.forceShutdown());

  const admin = () => new v1.Admin(address, grpc.credentials.createInsecure());

  it('answers an unexpected error INTERNAL with a request id, and logs the same id with the stack', async () => {
    const client = admin();
    const error = await failure((done) => client.GetGroup({ group: 'g1' }, (e: grpc.ServiceError | null) => done(e)));
    client.close();
    expect(error.code).to.equal(grpc.status.INTERNAL);
    const requestId = REQUEST_ID.exec(error.details)?.[1];
    expect(requestId, error.details).to.be.a('string');
    const line = lines.find((l) => l.requestId === requestId);
    expect(line, JSON.stringify(lines)).to.not.equal(undefined);
    expect(line).to.include({ level: 50, method: 'GetGroup', kind: 'unary' });
    expect(line?.err?.message).to.equal('the arbiter fell over');
    expect(line?.err?.stack).to.match(/Error: the arbiter fell over\n\s+at /);
    expect(error.details).to.not.include('fell over');
  });

  it('ends a stream whose handler fails unexpectedly the same way', async () => {
    const client = admin();
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      const call = client.Watch({ group: 'g1' });
      call.on('error', resolve);
    });
    client.close();
    expect(error.code).to.equal(grpc.status.INTERNAL);
    const requestId = REQUEST_ID.exec(error.details)?.[1];
    const line = lines.find((l) => l.requestId !== undefined && l.requestId === requestId);
    expect(line).to.include({ method: 'Watch', kind: 'server-stream' });
    expect(line?.err?.stack).to.include('the event hub fell over');
  });

  it('keeps a typed error its code and message, naming the field, and logs nothing', async () => {
    const before = lines.length;
    const client = admin();
    const invalid = await failure((done) =>
      client.GetGroup({ group: 'a b' }, (e: grpc.ServiceError | null) => done(e)),
    );
    const unavailable = await failure((done) =>
      client.GetGroup({ group: 'unconfirmed' }, (e: grpc.ServiceError | null) => done(e)),
    );
    const writeFailed = await failure((done) =>
      client.GetGroup({ group: 'write-failed' }, (e: grpc.ServiceError | null) => done(e)),
    );
    const malformedStream = await new Promise<grpc.ServiceError>((resolve) =>
      client.Watch({ group: 'a/b' }).on('error', resolve),
    );
    client.close();
    expect(invalid.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(invalid.details).to.match(/^group: /);
    expect(unavailable.code).to.equal(grpc.status.UNAVAILABLE);
    expect(unavailable.details).to.equal(new StoreUnconfirmedError().message);
    // Refused before deciding, and the trailer that says so crossed the socket (design §8.4); a
    // failed write may have landed, so its UNAVAILABLE does not carry it.
    expect(decidedNothing(unavailable), JSON.stringify(unavailable.metadata.getMap())).to.equal(true);
    expect(writeFailed.code).to.equal(grpc.status.UNAVAILABLE);
    expect(decidedNothing(writeFailed)).to.equal(false);
    expect(malformedStream.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(malformedStream.details).to.match(/^group: /);
    expect(lines.length).to.equal(before);
  });

  it('runs its guard before the handler with the call kind, method and credentials; it may refuse the call', async () => {
    const client = new v1.Sidecar(address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer refuse-me');
    const error = await failure((done) => client.GetState({}, metadata, (e: grpc.ServiceError | null) => done(e)));
    client.close();
    expect(error.code).to.equal(grpc.status.PERMISSION_DENIED);
    expect(error.details).to.equal('not for you');
    expect(seen.map((c) => [c.service, c.method, c.kind])).to.deep.equal([['witness.v1.Sidecar', 'GetState', 'unary']]);
    expect(seen[0]?.credentials).to.include({ bearerToken: 'refuse-me', groupKey: undefined, certificateCn: '' });
    expect(seen[0]?.credentials.certificateIds).to.deep.equal([]);
  });
});
