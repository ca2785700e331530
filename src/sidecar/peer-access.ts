/**
 * Who may call this sidecar (design §17.3): the configured peer alone may send Peer heartbeats,
 * so a forged "I have stopped" or "I am running" from anyone else changes nothing; GetState is
 * for the peer and for operators. A caller proves who it is by the group key, or, with mTLS, by a
 * certificate naming the peer's identity (or an operator's, a viewer's for GetState). Without
 * either (plaintext on loopback), anyone who reaches the port may. Which node the heartbeat claims
 * to be is checked after this, by the server (it must be the configured peer).
 */
import { type CallerCredentials, GROUP_KEY_METADATA } from '../wire/caller-credentials';
import type { RefusalLog } from '../wire/refusal-log';
import { secretsEqual } from '../wire/secret-compare';
import type { CallGuard } from '../wire/service-edge';
import { describeIdentity } from '../wire/spiffe-id';
import { WireError } from '../wire/wire-error';

export interface PeerAccessSettings {
  readonly groupKey: string | undefined;
  /** With mTLS: the SPIFFE id the peer's certificate must name; undefined without mTLS. */
  readonly peerIdentity: string | undefined;
  readonly trustDomain: string;
}

export function peerAccessGuard(settings: PeerAccessSettings, refusals: RefusalLog): CallGuard {
  const { groupKey, peerIdentity } = settings;
  if (groupKey === undefined && peerIdentity === undefined) return () => undefined;
  return (call) => {
    const refusal = refusalOf(call.credentials, call.service === 'witness.v1.Sidecar', settings);
    if (refusal === undefined) return;
    refusals.refused(call, refusal);
    throw refusal;
  };
}

function refusalOf(
  credentials: CallerCredentials,
  statusCall: boolean,
  { groupKey, peerIdentity, trustDomain }: PeerAccessSettings,
): WireError | undefined {
  const ids = credentials.certificateIds.map(describeIdentity);
  if (peerIdentity !== undefined && ids.includes(peerIdentity)) return undefined;
  const operator = credentials.certificateIds.some(
    (id) => id.trustDomain === trustDomain && (id.kind === 'operator' || id.kind === 'viewer'),
  );
  if (statusCall && operator) return undefined;
  const key = credentials.groupKey;
  if (groupKey !== undefined && key !== undefined) {
    if (secretsEqual(key, groupKey)) return undefined;
    return new WireError('unauthenticated', '', "the group key presented is not this group's");
  }
  if (ids.length > 0) {
    const who = statusCall ? `the peer (${String(peerIdentity)}) or an operator` : `the peer, ${String(peerIdentity)}`;
    return new WireError('permission-denied', '', `the certificate names ${ids.join(' ')}; only ${who} may call`);
  }
  return new WireError(
    'unauthenticated',
    '',
    groupKey !== undefined
      ? `no group key: calls to this sidecar carry the group's key in metadata ${GROUP_KEY_METADATA}`
      : "no client certificate naming the peer's identity",
  );
}
