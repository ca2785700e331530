/**
 * Who may call this sidecar (design §17.3): with a group key, every Peer and Sidecar call must
 * carry it, so a forged "I have stopped" or "I am running" from anyone else changes nothing;
 * without one (plaintext on loopback), anyone who reaches the port may. Which node the heartbeat
 * claims to be is checked after this, by the server (it must be the configured peer).
 */
import { GROUP_KEY_METADATA } from '../wire/caller-credentials';
import type { RefusalLog } from '../wire/refusal-log';
import { secretsEqual } from '../wire/secret-compare';
import type { CallGuard } from '../wire/service-edge';
import { WireError } from '../wire/wire-error';

export function peerAccessGuard(groupKey: string | undefined, refusals: RefusalLog): CallGuard {
  if (groupKey === undefined) return () => undefined;
  return (call) => {
    const presented = call.credentials.groupKey;
    if (presented !== undefined && secretsEqual(presented, groupKey)) return;
    const why =
      presented === undefined
        ? `no group key: calls to this sidecar carry the group's key in metadata ${GROUP_KEY_METADATA}`
        : "the group key presented is not this group's";
    refusals.refused({
      caller: presented === undefined ? 'anonymous' : 'a group key',
      peer: call.credentials.peer,
      method: `${call.service}/${call.method}`,
      code: 'UNAUTHENTICATED',
      why,
    });
    throw new WireError('unauthenticated', '', why);
  };
}
