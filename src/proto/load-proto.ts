/**
 * Loads the .proto files at run time with the same options the TypeScript types in src/gen were
 * generated with (package.json "gen"), so the generated types describe what grpc-js hands us.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { ProtoGrpcType as SidecarGrpcType } from '../gen/sidecar';
import type { ProtoGrpcType as WitnessGrpcType } from '../gen/witness';

export type ProtoGrpcType = WitnessGrpcType & SidecarGrpcType;

/** proto/ at the package root; this file runs compiled, from dist/src/proto. */
export const PROTO_DIR = path.resolve(__dirname, '../../../proto');

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cached: { definition: protoLoader.PackageDefinition; grpcObject: ProtoGrpcType } | undefined;

/** The witness.v1 package (witness and sidecar services) plus grpc.health.v1, as one definition: reflection describes it all. */
export function loadWitnessProto(): { definition: protoLoader.PackageDefinition; grpcObject: ProtoGrpcType } {
  if (cached === undefined) {
    const definition = protoLoader.loadSync(['witness/v1/witness.proto', 'witness/v1/sidecar.proto', healthProtoPath], LOADER_OPTIONS);
    cached = { definition, grpcObject: grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType };
  }
  return cached;
}
