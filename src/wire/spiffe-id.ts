/**
 * The identities a certificate may name (design §17.1): a node of a group, an operator who may
 * change things, or a viewer who may only read. Written as SPIFFE ids in a URI SAN, so that one CA
 * can serve several trust domains and a node's name and group cannot be confused with a DNS name.
 */
import { ID_PATTERN } from '../core/ids';

export type SpiffeIdentity =
  | { readonly kind: 'node'; readonly trustDomain: string; readonly group: string; readonly node: string }
  | { readonly kind: 'operator' | 'viewer'; readonly trustDomain: string; readonly name: string };

export const DEFAULT_TRUST_DOMAIN = 'failover-witness';
const TRUST_DOMAIN_PATTERN = /^[a-z0-9._-]{1,255}$/;

export function isTrustDomain(value: string): boolean {
  return TRUST_DOMAIN_PATTERN.test(value);
}

export function nodeSpiffeId(trustDomain: string, group: string, node: string): string {
  return `spiffe://${trustDomain}/group/${group}/node/${node}`;
}

/** The subject CN of a node's certificate (`witness certs init`), and the name a sidecar checks its peer's for. */
export function nodeCommonName(group: string, node: string): string {
  return `${node}.${group}`;
}

export function operatorSpiffeId(trustDomain: string, name: string, kind: 'operator' | 'viewer'): string {
  return `spiffe://${trustDomain}/${kind}/${name}`;
}

/** The identity a URI names, or undefined when it is not one of ours (then it is ignored). */
export function parseSpiffeId(uri: string): SpiffeIdentity | undefined {
  const match = /^spiffe:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (match === null) return undefined;
  const [, trustDomain, path] = match as unknown as [string, string, string];
  if (!isTrustDomain(trustDomain)) return undefined;
  const parts = path.split('/');
  if (parts.length === 4 && parts[0] === 'group' && parts[2] === 'node') {
    const [, group, , node] = parts as [string, string, string, string];
    if (ID_PATTERN.test(group) && ID_PATTERN.test(node)) return { kind: 'node', trustDomain, group, node };
    return undefined;
  }
  if (parts.length === 2 && (parts[0] === 'operator' || parts[0] === 'viewer') && ID_PATTERN.test(parts[1]!)) {
    return { kind: parts[0], trustDomain, name: parts[1]! };
  }
  return undefined;
}

/** How an identity is written in log lines and refusals. */
export function describeIdentity(identity: SpiffeIdentity): string {
  return identity.kind === 'node'
    ? nodeSpiffeId(identity.trustDomain, identity.group, identity.node)
    : operatorSpiffeId(identity.trustDomain, identity.name, identity.kind);
}
