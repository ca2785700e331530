/**
 * Request decoding that refuses what a strict protobuf parser refuses. protobufjs decodes
 * leniently (a varint where a string belongs is read as a string; a cut-short string is clamped),
 * so a broken client could register nodes with garbage. Each request is first checked against its
 * message type: field wire types, lengths, UTF-8 in strings, nested messages. A request that fails
 * reaches the handler as a MALFORMED marker, answered INVALID_ARGUMENT, instead of grpc-js's INTERNAL.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { protoRoot } from '../proto/load-proto';
import { MALFORMED, OVERSIZED } from './validate-request';

// Module constants: reading them through the namespace import costs a getter call per message.
const { Reader, Type, Enum, types } = protobuf;
const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Wraps each method's deserializer of `serviceName` (e.g. witness.v1.Witness). A request longer
 * than `maxBytes` is not decoded at all: it reaches the handler as an OVERSIZED marker, answered
 * RESOURCE_EXHAUSTED naming the option (grpc-js's own limit would not name it).
 */
export function strictDeserializers<T extends ServiceDefinition>(
  definition: T,
  serviceName: string,
  maxBytes: { readonly bytes: number; readonly option: string } = { bytes: Infinity, option: '' },
): T {
  const service = protoRoot().lookupService(serviceName);
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const requestType = service.methods[name]?.resolvedRequestType;
    if (requestType === null || requestType === undefined)
      throw new Error(`no request type for ${serviceName}/${name}`);
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (bytes.length > maxBytes.bytes) {
          return { [OVERSIZED]: `${bytes.length} bytes; at most ${maxBytes.bytes} are accepted (${maxBytes.option})` };
        }
        const problem = wireFormatProblem(requestType, bytes);
        if (problem !== undefined) return { [MALFORMED]: `not a valid ${requestType.fullName.slice(1)}: ${problem}` };
        try {
          return method.requestDeserialize(bytes);
        } catch (error) {
          return { [MALFORMED]: error instanceof Error ? error.message : String(error) };
        }
      },
    };
  }
  return wrapped as T;
}

/** Why `bytes` is not a valid encoding of `type`, or undefined when it is. Unknown fields are fine. */
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
