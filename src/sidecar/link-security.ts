/**
 * How a sidecar's link (to the witness or to the peer) is secured and authenticated: credentials
 * and the name checked (design §16.2), and the metadata every call carries (the group key, §17.3).
 */
import type * as grpc from '@grpc/grpc-js';
import type { ReloadingCertificates } from '../grpc/reloading-certificates';
import { channelCredentials, serverNameOption } from '../grpc/transport-credentials';
import { callMetadata } from '../wire/group-key-metadata';

export interface LinkSecurity {
  readonly credentials: grpc.ChannelCredentials;
  /** Channel options: the server name checked in the far end's certificate, when not the dialled host. */
  readonly options: grpc.ChannelOptions;
  /** A fresh copy of the metadata for each call. */
  readonly metadata: () => grpc.Metadata;
}

export function linkSecurity(
  certificates: ReloadingCertificates | undefined,
  serverName?: string,
  groupKey?: string,
): LinkSecurity {
  return {
    credentials: channelCredentials(certificates),
    options: certificates === undefined ? {} : serverNameOption(serverName),
    metadata: callMetadata(groupKey),
  };
}
