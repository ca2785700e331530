/**
 * Loads the .proto files at run time with the same options the TypeScript types in src/gen were
 * generated with (package.json "gen"), so the generated types describe what grpc-js hands us.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import type { ProtoGrpcType as SidecarGrpcType } from '../gen/sidecar';
import type { ProtoGrpcType as WitnessGrpcType } from '../gen/witness';

export type ProtoGrpcType = WitnessGrpcType & SidecarGrpcType;

/** proto/ at the package root; this file runs compiled, from dist/src/proto. */
export const PROTO_DIR = path.resolve(__dirname, '../../../proto');

const API_FILES = ['witness/v1/witness.proto', 'witness/v1/sidecar.proto'];
/** The standard health service, vendored without List, so reflection clients accept it. */
const HEALTH_FILE = 'grpc/health/v1/health.proto';

const RUNTIME_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let runtime: { definition: protoLoader.PackageDefinition; grpcObject: ProtoGrpcType } | undefined;
let reflection: protoLoader.PackageDefinition | undefined;
let root: protobuf.Root | undefined;

/** The witness.v1 services (witness and sidecar) as grpc-js loads them. */
export function loadWitnessProto(): { definition: protoLoader.PackageDefinition; grpcObject: ProtoGrpcType } {
  if (runtime === undefined) {
    const definition = protoLoader.loadSync(API_FILES, RUNTIME_OPTIONS);
    runtime = { definition, grpcObject: grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType };
  }
  return runtime;
}

/**
 * What server reflection describes: field names as written in the .proto (held_epoch, not
 * heldEpoch, so grpcurl requests use the documented names), plus the health service.
 */
export function reflectionDefinition(): protoLoader.PackageDefinition {
  reflection ??= protoLoader.loadSync([...API_FILES, HEALTH_FILE], { ...RUNTIME_OPTIONS, keepCase: true });
  return reflection;
}

/** protobufjs's view of the same files, for checking a request's wire format before decoding. */
export function protoRoot(): protobuf.Root {
  if (root === undefined) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.resolve(PROTO_DIR, target);
    root.loadSync(API_FILES, { keepCase: true });
    root.resolveAll();
  }
  return root;
}
