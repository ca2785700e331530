/**
 * The one-pass strict decoder (src/wire/strict-decoder.ts) against the two passes it replaced
 * (test/support/two-pass-decoder.ts: the wire check, then proto-loader's deserializer): for every
 * request type of the three services, the same decoded object, or the same refusal in the same
 * words, on valid messages, on messages built field by field with wrong wire types, cut-short
 * values and lengths, bad UTF-8 and unknown fields, and on random bytes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type * as protobuf from 'protobufjs';
import { loadWitnessProto, protoRoot } from '../../src/proto/load-proto';
import { decodeStrictly, messagePlan } from '../../src/wire/strict-decoder';
import { MALFORMED } from '../../src/wire/validate-request';
import { twoPassDecode } from '../support/two-pass-decoder';

interface RequestType {
  readonly label: string;
  readonly type: protobuf.Type;
  readonly serialize: (value: object) => Buffer;
  readonly deserialize: (bytes: Buffer) => unknown;
}

function requestTypes(): RequestType[] {
  const { grpcObject } = loadWitnessProto();
  const services = {
    'witness.v1.Witness': grpcObject.witness.v1.Witness.service,
    'witness.v1.Admin': grpcObject.witness.v1.Admin.service,
    'witness.v1.Peer': grpcObject.witness.v1.Peer.service,
  };
  const types: RequestType[] = [];
  for (const [serviceName, definition] of Object.entries(services)) {
    const service = protoRoot().lookupService(serviceName);
    for (const [name, method] of Object.entries(definition)) {
      types.push({
        label: `${serviceName}/${name}`,
        type: service.methods[name]?.resolvedRequestType as protobuf.Type,
        serialize: method.requestSerialize as (value: object) => Buffer,
        deserialize: method.requestDeserialize,
      });
    }
  }
  return types;
}

/** A refusal as a plain object, so that deep equality compares its words. */
function comparable(result: unknown): unknown {
  const value = result as Record<string | symbol, unknown>;
  return MALFORMED in value ? { refused: value[MALFORMED] } : value;
}

const TYPES = requestTypes();
const RENEW = TYPES.find((t) => t.label === 'witness.v1.Witness/KeepAlive') as RequestType;

function varint(value: bigint): number[] {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, value);
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return bytes;
}

const tag = (id: number, wireType: number): number[] => varint(BigInt((id << 3) | wireType));

/** One field's encoding, right or wrong: the ids cover every request field, some unknown ones, and 0. */
function fieldBytes(depth: number): fc.Arbitrary<number[]> {
  const id = fc.integer({ min: 0, max: 12 });
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 12 }).map((a) => [...a]),
    fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => [...Buffer.from(s, 'utf8')]),
    fc.constantFrom([0xc3, 0x28], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf, 0x61], [0xf4, 0x90, 0x80, 0x80]),
    ...(depth > 0 ? [fc.array(fieldBytes(depth - 1), { maxLength: 4 }).map((fields) => fields.flat())] : []),
  );
  return fc.oneof(
    fc.tuple(id, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([i, v]) => [...tag(i, 0), ...varint(v)]),
    // Varints padded with continuation bytes: still one value, up to 10 bytes and past it.
    fc
      .tuple(id, fc.bigInt({ min: 0n, max: 1000n }), fc.integer({ min: 1, max: 12 }))
      .map(([i, v, pad]) => [...tag(i, 0), ...varint(v).map((b) => b | 0x80), ...Array(pad - 1).fill(0x80), 0]),
    fc.tuple(id, payload).map(([i, p]) => [...tag(i, 2), ...varint(BigInt(p.length)), ...p]),
    // A length that does not match what follows.
    fc
      .tuple(id, payload, fc.integer({ min: -3, max: 3 }))
      .map(([i, p, d]) => [...tag(i, 2), ...varint(BigInt(Math.max(0, p.length + d))), ...p]),
    fc
      .tuple(id, fc.constantFrom(1, 3, 4, 5, 6, 7), fc.uint8Array({ maxLength: 9 }))
      .map(([i, w, b]) => [...tag(i, w), ...b]),
  );
}

const messageBytes = fc.oneof(
  fc.array(fieldBytes(2), { maxLength: 10 }).map((fields) => Buffer.from(fields.flat())),
  fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)),
);

describe('strict one-pass decoder', () => {
  it('has a plan for every request type of Witness, Admin and Peer', () => {
    expect(TYPES.length).to.be.greaterThan(15);
    for (const { type } of TYPES) expect(() => messagePlan(type), type.fullName).not.to.throw();
  });

  it('decodes what proto-loader encodes, field for field as proto-loader decodes it', () => {
    const sync = {
      synced: true,
      ageMs: '18446744073709551615',
      lastRun: {
        requestId: '9007199254740993',
        ok: false,
        exitCode: -1,
        durationMs: 4294967295,
        outputTail: 'é\u{1F600}',
        error: 'x',
      },
    };
    const renew = {
      group: 'g',
      node: 'n',
      role: 'ROLE_SECONDARY',
      heldEpoch: '1507130787089088531',
      knownEpoch: '2',
      leaseMs: 2000,
      sequence: '7',
      sync,
    };
    for (const value of [renew, { ...renew, sync: null }, {}, { role: 'ROLE_PRIMARY', heldEpoch: '4294967296' }]) {
      const bytes = RENEW.serialize(value);
      expect(decodeStrictly(messagePlan(RENEW.type), bytes)).to.deep.equal(RENEW.deserialize(bytes));
    }
  });

  it('keeps a leading byte-order mark in a string, as protobufjs did', () => {
    const bytes = Buffer.from([...tag(1, 2), 4, 0xef, 0xbb, 0xbf, 0x61]);
    expect((decodeStrictly(messagePlan(RENEW.type), bytes) as { group: string }).group).to.equal('\uFEFFa');
  });

  for (const request of TYPES) {
    it(`accepts and refuses exactly what the two passes did: ${request.label}`, () => {
      const plan = messagePlan(request.type);
      fc.assert(
        fc.property(messageBytes, (bytes) => {
          const now = comparable(decodeStrictly(plan, bytes));
          // The one refusal the two passes did not make (they misread the bytes that followed).
          fc.pre(!JSON.stringify(now).includes('for a 32-bit value'));
          expect(now).to.deep.equal(comparable(twoPassDecode(request.type, request.deserialize, bytes)));
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('refuses a 6-byte varint in a 32-bit field, which the two passes read into the next field', () => {
    // lease_ms 5 as a 6-byte varint, then held_epoch 3: protobufjs read 10 bytes for lease_ms.
    const bytes = Buffer.from([
      ...tag(6, 0),
      0x85,
      0x80,
      0x80,
      0x80,
      0x80,
      0x00,
      ...tag(4, 0),
      3,
      ...tag(1, 2),
      1,
      0x61,
    ]);
    const old = comparable(twoPassDecode(RENEW.type, RENEW.deserialize, bytes));
    expect(old).not.to.deep.include({ leaseMs: 5, heldEpoch: '3', group: 'a' });
    expect(comparable(decodeStrictly(messagePlan(RENEW.type), bytes))).to.deep.equal({
      refused: 'not a valid witness.v1.RenewRequest: field lease_ms: a varint of 6 bytes for a 32-bit value',
    });
  });

  it('refuses a uint64 varint of 11 bytes as protobufjs did, after the rest of the message is checked', () => {
    const long = [...tag(4, 0), ...Array(10).fill(0x80), 0];
    const plan = messagePlan(RENEW.type);
    expect(comparable(decodeStrictly(plan, Buffer.from(long)))).to.deep.equal({ refused: 'invalid varint encoding' });
    const thenBadUtf8 = Buffer.from([...long, ...tag(1, 2), 2, 0xc3, 0x28]);
    expect(comparable(decodeStrictly(plan, thenBadUtf8))).to.deep.equal({
      refused: 'not a valid witness.v1.RenewRequest: field group: not valid UTF-8',
    });
  });
});
