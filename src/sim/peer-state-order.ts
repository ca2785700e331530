/**
 * The order in which a peer said its states, for the checkers (table-conformance.ts and
 * prompt-stops.ts). "What the peer told a node" is the newest state delivered, not the last to
 * arrive: a reply and a heartbeat travel on different connections. Newest by the sender's own
 * numbering (its incarnation, then the state's number, design §9.5): the one place that knows in
 * which order a process made its states (a stamp the simulator's transport put on at the send
 * did not always agree with it; why was not found). States that carry no number are taken in the
 * order they arrive.
 */
import type { PeerState } from '../core/sidecar/types';

/** The newer of the state a node had and the one just delivered to it. */
export function newerPeerState(had: PeerState | undefined, delivered: PeerState): PeerState {
  if (had === undefined || had.incarnation === 0n || delivered.incarnation === 0n) return delivered;
  if (delivered.incarnation !== had.incarnation) return delivered.incarnation > had.incarnation ? delivered : had;
  return delivered.statement >= had.statement ? delivered : had;
}
