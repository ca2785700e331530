/**
 * What a caller presented, read once where a call enters (design §17.2): the identities its TLS
 * client certificate names, a group key and a bearer token from its metadata. Deciding what they
 * allow is each program's policy; this only reads them, and keeps secrets out of `describe`.
 */
import type * as grpc from '@grpc/grpc-js';
import { describeIdentity, parseSpiffeId, type SpiffeIdentity } from './spiffe-id';

/** Metadata keys. gRPC metadata keys are lower case; `authorization` is the usual bearer header. */
export const GROUP_KEY_METADATA = 'x-failover-group-key';
export const AUTHORIZATION_METADATA = 'authorization';

export interface CallerCredentials {
  /** The SPIFFE identities of a verified client certificate's URI SANs (empty without one). */
  readonly certificateIds: readonly SpiffeIdentity[];
  /** The certificate subject's CN, for deployments that name nodes by CN ('' without one). */
  readonly certificateCn: string;
  readonly groupKey: string | undefined;
  readonly bearerToken: string | undefined;
  /** Where the call came from (ip:port), for refusal lines. */
  readonly peer: string;
}

/** The parts of a server call this reads (every grpc-js server call has them). */
export interface IncomingCall {
  readonly metadata: grpc.Metadata;
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: { subject?: { CN?: string | string[] }; subjectaltname?: string } } | null;
}

export function readCredentials(call: IncomingCall): CallerCredentials {
  const certificate = call.getAuthContext()?.sslPeerCertificate;
  const cn = certificate?.subject?.CN;
  return {
    certificateIds: uriSans(certificate?.subjectaltname ?? '').flatMap((uri) => {
      const id = parseSpiffeId(uri);
      return id === undefined ? [] : [id];
    }),
    certificateCn: typeof cn === 'string' ? cn : '',
    groupKey: single(call.metadata, GROUP_KEY_METADATA),
    bearerToken: bearer(single(call.metadata, AUTHORIZATION_METADATA)),
    peer: call.getPeer(),
  };
}

/** True when the caller presented something at all (else a refusal is UNAUTHENTICATED). */
export function presentedAny(credentials: CallerCredentials): boolean {
  return (
    credentials.certificateIds.length > 0 ||
    credentials.certificateCn !== '' ||
    credentials.groupKey !== undefined ||
    credentials.bearerToken !== undefined
  );
}

/** Who the caller claims to be, for a refusal line: never a secret. */
export function describeCaller(credentials: CallerCredentials): string {
  const ids = credentials.certificateIds.map(describeIdentity);
  if (ids.length > 0) return ids.join(' ');
  if (credentials.certificateCn !== '') return `CN=${credentials.certificateCn}`;
  if (credentials.groupKey !== undefined) return 'a group key';
  if (credentials.bearerToken !== undefined) return 'a bearer token';
  return 'anonymous';
}

/** Node's `subjectaltname` is "DNS:a, URI:spiffe://..., IP Address:..."; URIs hold no ", ". */
function uriSans(subjectAltName: string): string[] {
  return subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length));
}

function single(metadata: grpc.Metadata, key: string): string | undefined {
  const values = metadata.get(key);
  const value = values[0];
  return values.length === 1 && typeof value === 'string' && value !== '' ? value : undefined;
}

function bearer(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer (\S+)$/i.exec(header);
  return match === null ? undefined : match[1];
}
