/**
 * Request decoding that refuses what a strict protobuf parser refuses. protobufjs decodes
 * leniently (a varint where a string belongs is read as a string; a cut-short string is clamped),
 * so a broken client could register nodes with garbage. Each request is checked against its
 * message type as it is decoded (src/wire/strict-decoder.ts): field wire types, lengths, UTF-8 in
 * strings, nested messages. A request that fails reaches the handler as a MALFORMED marker,
 * answered INVALID_ARGUMENT, instead of grpc-js's INTERNAL.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { protoRoot } from '../proto/load-proto';
import { decodeStrictly, messagePlan } from './strict-decoder';
import { OVERSIZED } from './validate-request';

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
    const plan = messagePlan(requestType);
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (bytes.length > maxBytes.bytes) {
          return { [OVERSIZED]: `${bytes.length} bytes; at most ${maxBytes.bytes} are accepted (${maxBytes.option})` };
        }
        return decodeStrictly(plan, bytes);
      },
    };
  }
  return wrapped as T;
}
