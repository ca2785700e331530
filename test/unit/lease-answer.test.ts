/**
 * A witness answer as the sidecar reads it (src/wire/lease-answer.ts): every field is validated,
 * as a peer's messages are, and WitnessLink counts a malformed answer as a failed call, says why
 * once to its caller and throws nothing out of the gRPC callback.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import type { WitnessAnswer } from '../../src/core/sidecar/types';
import { MAX_EPOCH } from '../../src/core/epoch';
import type { LeaseAnswer, LeaseAnswer__Output } from '../../src/gen/witness/v1/LeaseAnswer';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { WitnessEndpoints } from '../../src/sidecar/witness-endpoints';
import { linkSecurity } from '../../src/sidecar/link-security';
import { WitnessLink } from '../../src/sidecar/witness-link';
import { fromWireAnswer } from '../../src/wire/lease-answer';
import type { FailedCallStatus } from '../../src/wire/undecided-refusal';

const GOOD: LeaseAnswer__Output = {
  group: 'g1',
  verdict: 'VERDICT_GRANTED',
  reason: 'REFUSAL_REASON_UNSPECIFIED',
  message: 'granted',
  holder: 'a',
  epoch: '42',
  leaseMs: 2000,
  holderLeaseRemainingMs: 2000,
  retryAfterMs: 0,
  sequence: '0',
  handOver: false,
  maintenance: false,
  failback: 'FAILBACK_POLICY_UNSPECIFIED',
  syncNowId: '0',
};

describe('fromWireAnswer (a witness answer into the sidecar core)', () => {
  it('converts a well-formed answer', () => {
    expect(fromWireAnswer(GOOD)).to.deep.equal({
      group: 'g1',
      verdict: 'granted',
      holder: 'a',
      epoch: 42n,
      leaseMs: 2000,
      retryAfterMs: 0,
      handOver: false,
      maintenance: false,
    });
    expect(fromWireAnswer({ ...GOOD, handOver: true, maintenance: true })).to.include({
      handOver: true,
      maintenance: true,
    });
    expect(
      fromWireAnswer({ ...GOOD, verdict: 'VERDICT_REFUSED', reason: 'REFUSAL_REASON_HELD_BY_OTHER', holder: '' }),
    ).to.include({ verdict: 'refused', holder: '' });
  });

  const broken: Array<[string, Partial<Record<keyof LeaseAnswer__Output, unknown>>]> = [
    ['group', { group: '' }],
    ['group', { group: 'a b' }],
    ['verdict', { verdict: 'VERDICT_UNSPECIFIED' }],
    ['verdict', { verdict: 9 }],
    ['reason', { reason: 7 }],
    ['holder', { holder: 'x/y' }],
    ['epoch', { epoch: (MAX_EPOCH + 1n).toString() }],
    ['epoch', { epoch: '-1' }],
    ['lease_ms', { leaseMs: -1 }],
    ['lease_ms', { leaseMs: 1.5 }],
    ['retry_after_ms', { retryAfterMs: 2 ** 32 }],
    ['holder_lease_remaining_ms', { holderLeaseRemainingMs: Number.NaN }],
    ['sequence', { sequence: 'x' }],
    ['message', { message: 5 }],
  ];
  for (const [field, change] of broken) {
    it(`refuses ${JSON.stringify(change)}, naming ${field}`, () => {
      const answer = { ...GOOD, ...change } as LeaseAnswer__Output;
      expect(() => fromWireAnswer(answer)).to.throw(new RegExp(`^${field}: `));
    });
  }
});

describe('WitnessLink with a witness that answers garbage', () => {
  const { grpcObject } = loadWitnessProto();
  let answer: LeaseAnswer = GOOD;
  const server = new grpc.Server();
  let link: WitnessLink;
  const malformed: string[] = [];

  before(async () => {
    server.addService(grpcObject.witness.v1.Witness.service, {
      Renew: (_call: unknown, callback: grpc.sendUnaryData<LeaseAnswer>) => callback(null, answer),
      Acquire: (_call: unknown, callback: grpc.sendUnaryData<LeaseAnswer>) => callback(null, answer),
      Release: (_call: unknown, callback: grpc.sendUnaryData<LeaseAnswer>) => callback(null, answer),
      KeepAlive: () => undefined,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const endpoints = new WitnessEndpoints([{ address: `127.0.0.1:${port}`, zone: '' }], '', 1000, 0);
    link = new WitnessLink(
      endpoints,
      { group: 'g1', node: 'a', role: 'ROLE_PRIMARY' },
      2000,
      200,
      linkSecurity(undefined),
      (why) => malformed.push(why),
    );
  });

  after(() => {
    link.close();
    server.forceShutdown();
  });

  const acquire = (): Promise<{ answer: WitnessAnswer | undefined; error: FailedCallStatus | undefined }> =>
    new Promise((resolve) => link.acquire(0n, 2000, 2000, (a, error) => resolve({ answer: a, error })));

  it('hands a well-formed answer to the core', async () => {
    answer = GOOD;
    const { answer: got } = await acquire();
    expect(got).to.include({ verdict: 'granted', holder: 'a', epoch: 42n });
    expect(malformed).to.deep.equal([]);
  });

  it('counts an answer with an unknown verdict as a failed call and says why', async () => {
    answer = { ...GOOD, verdict: 9 as unknown as LeaseAnswer['verdict'] }; // a number no Verdict has
    const result = await acquire();
    expect(result).to.deep.equal({ answer: undefined, error: undefined });
    expect(malformed).to.have.length(1);
    expect(malformed[0]).to.match(/sent a malformed answer: verdict: /);
  });

  it('counts an answer for another group as a failed call', async () => {
    malformed.length = 0;
    answer = { ...GOOD, group: 'g2' };
    expect((await acquire()).answer).to.equal(undefined);
    expect(malformed).to.deep.equal([`the witness at ${link.endpoint} answered for group g2, not g1`]);
  });
});
