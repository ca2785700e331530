/**
 * The order in which a peer said its states, for the checkers (table-conformance.ts and
 * prompt-stops.ts): the simulator numbers each PeerState as its sender makes it, a heartbeat's at
 * its send and a reply's when it answers (one counter for the run: events happen in time order,
 * and two made in the same instant keep the order they were made in). "What the peer told a node"
 * is the newest state delivered in that order, not the last to arrive: a reply and a heartbeat
 * travel on different connections.
 * The stamps are the simulator's own, not the state's numbering the core orders by (design §9.5).
 */
import type { PeerState } from '../core/sidecar/types';

const madeAt = new WeakMap<PeerState, number>();
let made = 0;

/** Notes that `state` was made now, after every state stamped before. */
export function stampPeerState(state: PeerState): void {
  made += 1;
  madeAt.set(state, made);
}

/** The newer of the state a node had and the one just delivered to it. */
export function newerPeerState(had: PeerState | undefined, delivered: PeerState): PeerState {
  if (had === undefined) return delivered;
  const hadAt = madeAt.get(had) ?? Number.NEGATIVE_INFINITY;
  const deliveredAt = madeAt.get(delivered) ?? Number.NEGATIVE_INFINITY;
  return deliveredAt >= hadAt ? delivered : had;
}
