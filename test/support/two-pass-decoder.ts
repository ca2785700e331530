/**
 * The strict deserializer as it was before src/wire/strict-decoder.ts: a wire-format check, then
 * protobufjs's decode and toObject (proto-loader's deserializer). Kept only as the reference the
 * one-pass decoder is compared with (test/unit/strict-decoder.test.ts).
 */
import * as protobuf from 'protobufjs';
import { MALFORMED } from '../../src/wire/validate-request';

const { Reader, Type, Enum, types } = protobuf;
const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the old requestDeserialize returned: the decoded request, or a MALFORMED marker. */
export function twoPassDecode(type: protobuf.Type, deserialize: (bytes: Buffer) => unknown, bytes: Buffer): unknown {
  const problem = wireFormatProblem(type, bytes);
  if (problem !== undefined) return { [MALFORMED]: `not a valid ${type.fullName.slice(1)}: ${problem}` };
  try {
    return deserialize(bytes);
  } catch (error) {
    return { [MALFORMED]: error instanceof Error ? error.message : String(error) };
  }
}
export function wireFormatProblem(type: protobuf.Type, bytes: Uint8Array): string | undefined {
  const reader = Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const id = tag >>> 3;
      const wireType = tag & 7;
      if (id === 0) return 'field number 0';
      const field = type.fieldsById[id];
      if (field === undefined) {
        reader.skipType(wireType);
        continue;
      }
      const expected = expectedWireType(field);
      const packed = field.repeated && wireType === WIRE_LENGTH_DELIMITED && expected !== WIRE_LENGTH_DELIMITED;
      if (wireType !== expected && !packed) return `field ${field.name}: wire type ${wireType}, expected ${expected}`;
      if (wireType !== WIRE_LENGTH_DELIMITED) {
        reader.skipType(wireType);
        continue;
      }
      const length = reader.uint32();
      if (reader.pos + length > reader.len) return `field ${field.name}: length ${length} runs past the end`;
      const content = bytes.subarray(reader.pos, reader.pos + length);
      reader.pos += length;
      if (field.type === 'string') {
        try {
          utf8.decode(content);
        } catch {
          return `field ${field.name}: not valid UTF-8`;
        }
      } else if (field.resolvedType instanceof Type) {
        const nested = wireFormatProblem(field.resolvedType, content);
        if (nested !== undefined) return `${field.name}.${nested.replace(/^field /, '')}`;
      }
    }
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

function expectedWireType(field: protobuf.Field): number {
  if (field.resolvedType instanceof Enum) return WIRE_VARINT;
  if (field.resolvedType instanceof Type) return WIRE_LENGTH_DELIMITED;
  const basic = (types.basic as Record<string, number | undefined>)[field.type];
  return basic ?? WIRE_LENGTH_DELIMITED; // string and bytes
}
