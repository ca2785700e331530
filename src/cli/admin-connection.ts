/**
 * The operator commands' connection to the witness's Admin service: TLS when a CA is given (with
 * the operator's certificate for mTLS), a bearer token sent with every call, and calls that fail
 * as a `CallFailure` naming the gRPC status, which the commands print and exit 1 with.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { OperatorConfig } from '../config/operator-config';
import { readConfiguredSecret } from '../config/secret-file';
import type { AdminClient } from '../gen/witness/v1/Admin';
import { loadWitnessProto } from '../proto/load-proto';
import { AUTHORIZATION_METADATA } from '../wire/caller-credentials';

/** How long a unary Admin call may take before the command gives up. */
const CALL_DEADLINE_MS = 10_000;

export class CallFailure extends Error {}

export interface AdminConnection {
  readonly client: AdminClient;
  /** The metadata every call carries (the bearer token, when configured). */
  readonly metadata: () => grpc.Metadata;
  readonly deadline: () => grpc.CallOptions;
  close(): void;
}

export function connectAdmin(
  config: Pick<OperatorConfig, 'witness' | 'tlsCa' | 'tlsCert' | 'tlsKey' | 'serverName' | 'tokenFile'>,
): AdminConnection {
  const { grpcObject } = loadWitnessProto();
  const options: grpc.ChannelOptions =
    config.serverName === '' ? {} : { 'grpc.ssl_target_name_override': config.serverName };
  const client = new grpcObject.witness.v1.Admin(config.witness, credentials(config), options);
  const token =
    config.tokenFile === null ? undefined : readConfiguredSecret(config.tokenFile, 'tokenFile', '--token-file');
  return {
    client,
    metadata: () => {
      const metadata = new grpc.Metadata();
      if (token !== undefined) metadata.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
      return metadata;
    },
    deadline: () => ({ deadline: Date.now() + CALL_DEADLINE_MS }),
    close: () => client.close(),
  };
}

function credentials(config: Pick<OperatorConfig, 'tlsCa' | 'tlsCert' | 'tlsKey'>): grpc.ChannelCredentials {
  if (config.tlsCa === null) return grpc.credentials.createInsecure();
  const read = (file: string | null): Buffer | null => (file === null ? null : fs.readFileSync(file));
  return grpc.credentials.createSsl(read(config.tlsCa), read(config.tlsKey), read(config.tlsCert));
}

/** A unary call's answer, or a CallFailure saying what the witness (or the network) said. */
export function answerOf<T>(
  what: string,
  witness: string,
  start: (callback: (error: grpc.ServiceError | null, answer?: T) => void) => unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, answer) => {
      if (error !== null) reject(failure(what, witness, error));
      else resolve(answer as T);
    });
  });
}

export function failure(what: string, witness: string, error: grpc.ServiceError): CallFailure {
  const code = grpc.status[error.code] ?? String(error.code);
  return new CallFailure(`${what} at ${witness} failed: ${code}: ${error.details}`);
}
