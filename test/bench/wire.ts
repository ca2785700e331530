/**
 * Hand-written protobuf encoding of the few messages the load generator sends, and a partial
 * decoder of LeaseAnswer, so that the generator (which shares the cores with the server it
 * measures) spends as little CPU per message as it can: each node's RenewRequest is encoded once,
 * and only the sequence number is appended per heartbeat. The servers decode with their own,
 * normal deserializers; the bytes are what proto-loader would send (field order, proto3 defaults
 * omitted).
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

function varintLength(value: bigint): number {
  let n = 1;
  let v = value;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

class Writer {
  private readonly parts: Buffer[] = [];

  varintField(field: number, value: bigint | number): this {
    const v = BigInt(value);
    if (v === 0n) return this; // proto3: defaults are not sent
    this.parts.push(encodeVarint(BigInt((field << 3) | WIRE_VARINT)), encodeVarint(v));
    return this;
  }

  stringField(field: number, value: string): this {
    if (value === '') return this;
    const bytes = Buffer.from(value, 'utf8');
    this.parts.push(encodeVarint(BigInt((field << 3) | WIRE_LEN)), encodeVarint(BigInt(bytes.length)), bytes);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function encodeVarint(value: bigint): Buffer {
  const out = Buffer.alloc(varintLength(value));
  let v = value;
  let i = 0;
  while (v >= 0x80n) {
    out[i++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[i] = Number(v);
  return out;
}

export const ROLE_PRIMARY = 1;
export const ROLE_SECONDARY = 2;

export const VERDICT = {
  UNSPECIFIED: 0,
  GRANTED: 1,
  RENEWED: 2,
  ACKNOWLEDGED: 3,
  RELEASED: 4,
  REFUSED: 5,
} as const;

export const REFUSAL_STARTUP_GRACE = 2;

/** RenewRequest fields 1-6 (everything but the sequence). */
export function renewPrefix(
  group: string,
  node: string,
  role: number,
  heldEpoch: bigint,
  knownEpoch: bigint,
  leaseMs: number,
): Buffer {
  return new Writer()
    .stringField(1, group)
    .stringField(2, node)
    .varintField(3, role)
    .varintField(4, heldEpoch)
    .varintField(5, knownEpoch)
    .varintField(6, leaseMs)
    .finish();
}

const SEQUENCE_TAG = (7 << 3) | WIRE_VARINT;

/**
 * prefix + sequence (field 7), in one small allocation; with `framed`, preceded by the 5-byte
 * gRPC message prefix (compression flag 0, big-endian length). `sequence` < 2^31.
 */
export function renewWithSequence(prefix: Buffer, sequence: number, framed = false): Buffer {
  let len = 1;
  for (let v = sequence; v >= 0x80; v = Math.floor(v / 128)) len++;
  const head = framed ? 5 : 0;
  const size = prefix.length + 1 + len;
  const out = Buffer.allocUnsafe(head + size);
  if (framed) {
    out[0] = 0;
    out.writeUInt32BE(size, 1);
  }
  prefix.copy(out, head);
  let i = head + prefix.length;
  out[i++] = SEQUENCE_TAG;
  let v = sequence;
  while (v >= 0x80) {
    out[i++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[i] = v;
  return out;
}

/** `message` with the 5-byte gRPC message prefix. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

export function acquireRequest(
  group: string,
  node: string,
  knownEpoch: bigint,
  leaseMs: number,
  sequence: number,
): Buffer {
  return new Writer()
    .stringField(1, group)
    .stringField(2, node)
    .varintField(3, knownEpoch)
    .varintField(4, leaseMs)
    .varintField(5, sequence)
    .finish();
}

/** The LeaseAnswer fields the generator looks at. `epoch` only when asked (BigInt is slower). */
export interface AnswerFields {
  verdict: number;
  reason: number;
  sequence: number;
  retryAfterMs: number;
  epoch: bigint;
}

/**
 * Reads verdict (2), reason (3), epoch (6, if `withEpoch`), retry_after_ms (9) and sequence (10);
 * skips the rest. Fills and returns `out` (reused by the caller: no allocation per answer).
 */
export function decodeAnswer(bytes: Uint8Array, out: AnswerFields, withEpoch = false): AnswerFields {
  out.verdict = 0;
  out.reason = 0;
  out.sequence = 0;
  out.retryAfterMs = 0;
  out.epoch = 0n;
  let pos = 0;
  const len = bytes.length;
  while (pos < len) {
    // Tags of LeaseAnswer fit in one byte.
    const tag = bytes[pos++] as number;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_LEN) {
      let n = 0;
      let shift = 1;
      for (;;) {
        const b = bytes[pos++] as number;
        n += (b & 0x7f) * shift;
        if (b < 0x80) break;
        shift *= 128;
      }
      pos += n;
      continue;
    }
    if (wire !== WIRE_VARINT) throw new Error(`unexpected wire type ${wire} in LeaseAnswer`);
    if (field === 6 && withEpoch) {
      let v = 0n;
      let shift = 0n;
      for (;;) {
        const b = bytes[pos++] as number;
        v |= BigInt(b & 0x7f) << shift;
        if (b < 0x80) break;
        shift += 7n;
      }
      out.epoch = v;
      continue;
    }
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[pos++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    if (field === 2) out.verdict = v;
    else if (field === 3) out.reason = v;
    else if (field === 9) out.retryAfterMs = v;
    else if (field === 10) out.sequence = v;
  }
  return out;
}
