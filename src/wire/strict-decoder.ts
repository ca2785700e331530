/**
 * One pass over a request's bytes: the checks of a strict protobuf parser (field wire types,
 * lengths, UTF-8 in strings, nested messages) and the decoding into the object proto-loader hands
 * over with the options of src/proto/load-proto.ts (uint64 as decimal strings, enums by name,
 * defaults set, an absent message null). Checking and then decoding with protobufjs read every
 * request twice and built a Long per uint64 on the renewal path (design §19.2 measures it).
 *
 * What it refuses, and the words it uses, are those of the two passes it replaces (kept as the
 * reference of test/unit/strict-decoder.test.ts), with one exception: a varint of 6 to 9 bytes,
 * or of more than 10, in a 32-bit field, which protobufjs read as 5 bytes and then skipped 5 more
 * (misreading what follows), is refused. No encoder writes one: a 32-bit value takes at most 5
 * bytes, a negative int32 exactly 10.
 */
import { isUtf8 } from 'node:buffer';
import * as protobuf from 'protobufjs';
import { MALFORMED, type MalformedRequest } from './validate-request';

// Module constants: reading them through the namespace import costs a getter call per message.
const { Reader, Type, Enum, util } = protobuf;
const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
/** A varint longer than this is not one; protobufjs's words for it. */
const MAX_VARINT_BYTES = 10;
const MAX_32_BIT_VARINT_BYTES = 5;
const INVALID_VARINT = 'invalid varint encoding';
const TWO_TO_32 = 4294967296;
/** Below this high word, hi * 2^32 + lo is an exact double. */
const EXACT_HIGH_WORD = 0x200000;

type FieldKind = 'string' | 'bool' | 'uint32' | 'int32' | 'uint64' | 'enum' | 'message';

interface FieldPlan {
  /** The property of the decoded object (proto-loader's camelCase). */
  readonly key: string;
  /** As written in the .proto: what problems name. */
  readonly protoName: string;
  readonly kind: FieldKind;
  readonly wireType: number;
  /** An enum's names by number; a number without a name is handed over as the number. */
  readonly enumNames?: Readonly<Record<number, string>>;
  readonly nested?: MessagePlan;
}

export interface MessagePlan {
  /** The full name without the leading dot, e.g. witness.v1.RenewRequest. */
  readonly name: string;
  readonly fieldsById: ReadonlyMap<number, FieldPlan>;
  /** Every field at its default: each decoded object starts as a copy. */
  readonly defaults: Readonly<Record<string, unknown>>;
}

/** A problem the wire check found: the request is refused with these words. */
class WireProblem extends Error {}

/** What one decoding has found so far that protobufjs's decode, not the check, would have refused. */
interface DecodeState {
  decodeError: string | undefined;
}

/** The plan for `type`; throws for a field kind no request of this API uses (repeated, bytes, floats...). */
export function messagePlan(type: protobuf.Type): MessagePlan {
  return planOf(type, new Map());
}

function planOf(type: protobuf.Type, planned: Map<protobuf.Type, MessagePlan>): MessagePlan {
  const known = planned.get(type);
  if (known !== undefined) return known;
  const fieldsById = new Map<number, FieldPlan>();
  const defaults: Record<string, unknown> = {};
  const plan: MessagePlan = { name: type.fullName.slice(1), fieldsById, defaults };
  planned.set(type, plan);
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.repeated || field.map || field.partOf !== null) {
      throw new Error(`${plan.name}.${field.name}: repeated, map and oneof fields are not decoded in one pass`);
    }
    const fieldPlan = fieldPlanOf(plan.name, field, planned);
    fieldsById.set(field.id, fieldPlan);
    defaults[fieldPlan.key] = defaultOf(fieldPlan);
  }
  return plan;
}

function fieldPlanOf(typeName: string, field: protobuf.Field, planned: Map<protobuf.Type, MessagePlan>): FieldPlan {
  const base = { key: util.camelCase(field.name), protoName: field.name };
  const resolved = field.resolvedType;
  if (resolved instanceof Enum) {
    const enumNames: Record<number, string> = {};
    for (const [name, id] of Object.entries(resolved.values)) enumNames[id] ??= name;
    return { ...base, kind: 'enum', wireType: WIRE_VARINT, enumNames };
  }
  if (resolved instanceof Type) {
    return { ...base, kind: 'message', wireType: WIRE_LENGTH_DELIMITED, nested: planOf(resolved, planned) };
  }
  switch (field.type) {
    case 'string':
      return { ...base, kind: 'string', wireType: WIRE_LENGTH_DELIMITED };
    case 'bool':
    case 'uint32':
    case 'int32':
    case 'uint64':
      return { ...base, kind: field.type, wireType: WIRE_VARINT };
    default:
      throw new Error(`${typeName}.${field.name}: type ${field.type} is not decoded in one pass`);
  }
}

function defaultOf(field: FieldPlan): unknown {
  switch (field.kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'uint32':
    case 'int32':
      return 0;
    case 'uint64':
      return '0';
    case 'enum':
      return (field.enumNames as Record<number, string>)[0] ?? 0;
    case 'message':
      return null;
  }
}

/** The decoded request, or a MALFORMED marker saying why it is refused. */
export function decodeStrictly(plan: MessagePlan, bytes: Buffer): object | MalformedRequest {
  const state: DecodeState = { decodeError: undefined };
  try {
    const value = decodeMessage(plan, bytes, state);
    return state.decodeError === undefined ? value : { [MALFORMED]: state.decodeError };
  } catch (error) {
    return { [MALFORMED]: `not a valid ${plan.name}: ${(error as Error).message}` };
  }
}

function decodeMessage(plan: MessagePlan, bytes: Buffer, state: DecodeState): Record<string, unknown> {
  const decoded: Record<string, unknown> = { ...plan.defaults };
  const reader = Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const id = tag >>> 3;
      const wireType = tag & 7;
      if (id === 0) throw new WireProblem('field number 0');
      const field = plan.fieldsById.get(id);
      if (field === undefined) {
        reader.skipType(wireType);
        continue;
      }
      if (wireType !== field.wireType) {
        throw new WireProblem(`field ${field.protoName}: wire type ${wireType}, expected ${field.wireType}`);
      }
      if (wireType === WIRE_VARINT) {
        decoded[field.key] = varintValue(field, bytes, reader, state);
        continue;
      }
      const length = reader.uint32();
      const start = reader.pos;
      if (start + length > reader.len) {
        throw new WireProblem(`field ${field.protoName}: length ${length} runs past the end`);
      }
      reader.pos += length;
      if (field.kind === 'string') {
        if (!isAscii(bytes, start, start + length) && !isUtf8(bytes.subarray(start, start + length))) {
          throw new WireProblem(`field ${field.protoName}: not valid UTF-8`);
        }
        decoded[field.key] = bytes.toString('utf8', start, start + length);
      } else {
        decoded[field.key] = decodeNested(field, bytes.subarray(start, start + length), state);
      }
    }
  } catch (error) {
    if (error instanceof WireProblem) throw error;
    // The reader's own errors (a value cut short, a wire type that does not exist), in its words.
    throw new WireProblem(error instanceof Error ? error.message : String(error));
  }
  return decoded;
}

function decodeNested(field: FieldPlan, content: Buffer, state: DecodeState): Record<string, unknown> {
  try {
    return decodeMessage(field.nested as MessagePlan, content, state);
  } catch (error) {
    throw new WireProblem(`${field.protoName}.${(error as Error).message.replace(/^field /, '')}`);
  }
}

/**
 * Reads a varint field's value. The varint runs to its last byte whatever its length (the check);
 * a value cut short throws the reader's error. A uint64 longer than 10 bytes is refused as
 * protobufjs's decode refused it, after the check of the whole message found nothing.
 */
function varintValue(field: FieldPlan, bytes: Buffer, reader: protobuf.Reader, state: DecodeState): unknown {
  const start = reader.pos;
  reader.skip();
  const length = reader.pos - start;
  if (field.kind !== 'uint64' && length > MAX_32_BIT_VARINT_BYTES && length !== MAX_VARINT_BYTES) {
    throw new WireProblem(`field ${field.protoName}: a varint of ${length} bytes for a 32-bit value`);
  }
  if (length > MAX_VARINT_BYTES) {
    state.decodeError ??= INVALID_VARINT;
    return undefined;
  }
  // The low 64 bits, as protobufjs keeps them: lo has bits 0-31, hi bits 32-63.
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < length; i++) {
    const bits = (bytes[start + i] as number) & 0x7f;
    if (i < 4) lo |= bits << (7 * i);
    else if (i === 4) {
      lo |= bits << 28;
      hi |= bits >>> 4;
    } else hi |= bits << (7 * i - 32);
  }
  lo >>>= 0;
  hi >>>= 0;
  switch (field.kind) {
    case 'uint64':
      return uint64String(hi, lo);
    case 'uint32':
      return lo;
    case 'bool':
      return lo !== 0;
    case 'int32':
      return lo | 0;
    default: {
      const number = lo | 0;
      return (field.enumNames as Record<number, string>)[number] ?? number;
    }
  }
}

/** Ids and names are ASCII: checked without a view of the bytes (ASCII is valid UTF-8). */
function isAscii(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

function uint64String(hi: number, lo: number): string {
  if (hi < EXACT_HIGH_WORD) return String(hi * TWO_TO_32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}
