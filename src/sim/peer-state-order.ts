/**
 * The order in which a peer said its states, for the checkers (table-conformance.ts): the
 * simulator stamps each PeerState with the simulated time its sender made it, a heartbeat's at its
 * send and a reply's when it answered. "What the peer told a node" is the newest state delivered
 * in that order, not the last to arrive: a reply and a heartbeat travel on different connections.
 * The stamps are the simulator's own, not the state's numbering the core orders by (design §9.5).
 */
import type { PeerState } from '../core/sidecar/types';

const madeAt = new WeakMap<PeerState, number>();

/** Notes that `state` was made at simulated time `t`. */
export function stampPeerState(state: PeerState, t: number): void {
  madeAt.set(state, t);
}

/** The newer of the state a node had and the one just delivered to it. */
export function newerPeerState(had: PeerState | undefined, delivered: PeerState): PeerState {
  if (had === undefined) return delivered;
  const hadAt = madeAt.get(had) ?? Number.NEGATIVE_INFINITY;
  const deliveredAt = madeAt.get(delivered) ?? Number.NEGATIVE_INFINITY;
  return deliveredAt >= hadAt ? delivered : had;
}
