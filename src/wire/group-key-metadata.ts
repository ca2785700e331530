/** The metadata a node's calls carry (design §17.3): its group's key when it has one, nothing otherwise. */
import * as grpc from '@grpc/grpc-js';
import { GROUP_KEY_METADATA } from './caller-credentials';

export function callMetadata(groupKey: string | undefined): () => grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (groupKey !== undefined) metadata.set(GROUP_KEY_METADATA, groupKey);
  // grpc-js may add to a call's metadata: each call gets its own copy.
  return () => metadata.clone();
}
