/** How a sidecar's link (to the witness or to the peer) is secured: credentials and the name checked. */
import type * as grpc from '@grpc/grpc-js';
import type { ReloadingCertificates } from '../grpc/reloading-certificates';
import { channelCredentials, serverNameOption } from '../grpc/transport-credentials';

export interface LinkSecurity {
  readonly credentials: grpc.ChannelCredentials;
  /** Channel options: the server name checked in the far end's certificate, when not the dialled host. */
  readonly options: grpc.ChannelOptions;
}

export function linkSecurity(certificates: ReloadingCertificates | undefined, serverName?: string): LinkSecurity {
  return {
    credentials: channelCredentials(certificates),
    options: certificates === undefined ? {} : serverNameOption(serverName),
  };
}
