/**
 * WitnessLink's renewals on a KeepAlive stream (design §4.5), against a real grpc-js server on
 * loopback whose KeepAlive handler each test scripts: renewals travel as stream messages, each
 * answer reaches the renewal whose sequence it echoes, a message unanswered for its deadline fails
 * alone and sends the next renewals unary until the back-off ends, and a witness without the
 * stream (or one that ends it) costs no more than the renewals in flight.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import type { WitnessAnswer } from '../../src/core/sidecar/types';
import type { LeaseAnswer } from '../../src/gen/witness/v1/LeaseAnswer';
import type { RenewRequest__Output } from '../../src/gen/witness/v1/RenewRequest';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { linkSecurity } from '../../src/sidecar/link-security';
import { WitnessEndpoints } from '../../src/sidecar/witness-endpoints';
import { WitnessLink } from '../../src/sidecar/witness-link';
import type { FailedCallStatus } from '../../src/wire/undecided-refusal';

const DEADLINE_MS = 300;
const HEARTBEAT_MS = 100;

type Stream = grpc.ServerDuplexStream<RenewRequest__Output, LeaseAnswer>;

/** An answer that tells which request it answers: its lease is the request's lease. */
function answerTo(request: RenewRequest__Output): LeaseAnswer {
  return {
    group: request.group,
    verdict: 'VERDICT_RENEWED',
    holder: request.node,
    epoch: request.heldEpoch,
    leaseMs: request.leaseMs,
    sequence: request.sequence,
  };
}

interface Witness {
  readonly address: string;
  unary: number;
  streamsOpened: number;
  /** What the KeepAlive handler does with each stream; by default it answers every message. */
  onStream: (stream: Stream) => void;
  stop(): void;
}

async function startWitness(withKeepAlive = true): Promise<Witness> {
  const { grpcObject } = loadWitnessProto();
  const server = new grpc.Server();
  const witness: Witness = {
    address: '',
    unary: 0,
    streamsOpened: 0,
    onStream: (stream) => stream.on('data', (r: RenewRequest__Output) => stream.write(answerTo(r))),
    stop: () => server.forceShutdown(),
  };
  const handlers: grpc.UntypedServiceImplementation = {
    Renew: (call: grpc.ServerUnaryCall<RenewRequest__Output, LeaseAnswer>, done: grpc.sendUnaryData<LeaseAnswer>) => {
      witness.unary += 1;
      done(null, answerTo(call.request));
    },
    Acquire: (_call: unknown, done: grpc.sendUnaryData<LeaseAnswer>) => done({ code: grpc.status.UNIMPLEMENTED }),
    Release: (_call: unknown, done: grpc.sendUnaryData<LeaseAnswer>) => done({ code: grpc.status.UNIMPLEMENTED }),
  };
  if (withKeepAlive) {
    handlers['KeepAlive'] = (stream: Stream) => {
      witness.streamsOpened += 1;
      witness.onStream(stream);
    };
  }
  server.addService(grpcObject.witness.v1.Witness.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return Object.assign(witness, { address: `127.0.0.1:${port}` });
}

function linkTo(address: string): WitnessLink {
  return new WitnessLink(
    new WitnessEndpoints([{ address, zone: '' }], '', 60_000, 0),
    { group: 'g1', node: 'a', role: 'ROLE_PRIMARY' },
    DEADLINE_MS,
    HEARTBEAT_MS,
    linkSecurity(undefined),
  );
}

interface Renewal {
  readonly answer: WitnessAnswer | undefined;
  readonly error: FailedCallStatus | undefined;
}

/** A renewal asking for `leaseMs`, which the scripted witness echoes as the lease it grants. */
function renew(link: WitnessLink, leaseMs: number): Promise<Renewal> {
  return new Promise((resolve) => link.renew(7n, 7n, leaseMs, (answer, error) => resolve({ answer, error })));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('WitnessLink renewals on a KeepAlive stream', () => {
  let witness: Witness;
  let link: WitnessLink;

  afterEach(() => {
    link.close();
    witness.stop();
  });

  it('sends every renewal as a message on one stream', async () => {
    witness = await startWitness();
    link = linkTo(witness.address);
    for (let i = 1; i <= 5; i += 1) {
      const { answer } = await renew(link, 1000 + i);
      expect(answer).to.include({ verdict: 'renewed', leaseMs: 1000 + i });
    }
    expect(witness.streamsOpened).to.equal(1);
    expect(witness.unary).to.equal(0);
  });

  it('hands each answer to the renewal whose sequence it echoes, whatever their order', async () => {
    witness = await startWitness();
    const held: RenewRequest__Output[] = [];
    witness.onStream = (stream) =>
      stream.on('data', (request: RenewRequest__Output) => {
        held.push(request);
        // Answer the pair in reverse order once both are in.
        if (held.length === 2) for (const r of [...held].reverse()) stream.write(answerTo(r));
      });
    link = linkTo(witness.address);
    const [first, second] = await Promise.all([renew(link, 1111), renew(link, 2222)]);
    expect(first.answer?.leaseMs).to.equal(1111);
    expect(second.answer?.leaseMs).to.equal(2222);
    expect(held.map((r) => r.sequence)).to.deep.equal(['1', '2']);
  });

  it('fails a message unanswered for its deadline, renews unary during the back-off, then streams again', async () => {
    witness = await startWitness();
    let silent = true;
    witness.onStream = (stream) =>
      stream.on('data', (request: RenewRequest__Output) => {
        if (!silent) stream.write(answerTo(request));
      });
    link = linkTo(witness.address);
    const started = performance.now();
    const lost = await renew(link, 1000);
    const waited = performance.now() - started;
    expect(lost.answer).to.equal(undefined);
    expect(lost.error?.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    expect(waited).to.be.within(DEADLINE_MS - 5, DEADLINE_MS + 200);
    silent = false;
    // Within the back-off (one heartbeat): unary.
    expect((await renew(link, 1001)).answer?.leaseMs).to.equal(1001);
    expect(witness.unary).to.equal(1);
    await sleep(HEARTBEAT_MS + 20);
    expect((await renew(link, 1002)).answer?.leaseMs).to.equal(1002);
    expect(witness.unary).to.equal(1);
    expect(witness.streamsOpened).to.equal(2);
  });

  it('a late answer to a message that timed out reaches nobody', async () => {
    witness = await startWitness();
    witness.onStream = (stream) =>
      stream.on('data', (request: RenewRequest__Output) =>
        setTimeout(() => stream.write(answerTo(request)), DEADLINE_MS + 100),
      );
    link = linkTo(witness.address);
    const replies: Renewal[] = [];
    link.renew(7n, 7n, 1000, (answer, error) => replies.push({ answer, error }));
    await sleep(DEADLINE_MS + 250);
    expect(replies).to.have.length(1);
    expect(replies[0]?.answer).to.equal(undefined);
  });

  it('renews unary against a witness without KeepAlive, after the one renewal the refusal costs', async () => {
    witness = await startWitness(false);
    link = linkTo(witness.address);
    const first = await renew(link, 1000);
    expect(first.answer).to.equal(undefined);
    expect(first.error?.code).to.equal(grpc.status.UNIMPLEMENTED);
    for (let i = 1; i <= 3; i += 1) expect((await renew(link, 1000 + i)).answer?.leaseMs).to.equal(1000 + i);
    expect(witness.unary).to.equal(3);
  });

  it('a stream the witness ends fails what waits on it as unreachable, and the link goes on', async () => {
    witness = await startWitness();
    let streams = 0;
    witness.onStream = (stream) => {
      streams += 1;
      if (streams === 1) stream.on('data', () => stream.end());
      else stream.on('data', (request: RenewRequest__Output) => stream.write(answerTo(request)));
    };
    link = linkTo(witness.address);
    const ended = await renew(link, 1000);
    expect(ended.answer).to.equal(undefined);
    expect(ended.error?.code).to.equal(grpc.status.UNAVAILABLE);
    expect((await renew(link, 1001)).answer?.leaseMs).to.equal(1001); // unary, in the back-off
    await sleep(HEARTBEAT_MS + 20);
    expect((await renew(link, 1002)).answer?.leaseMs).to.equal(1002);
    expect(witness.streamsOpened).to.equal(2);
    expect(witness.unary).to.equal(1);
  });
});
