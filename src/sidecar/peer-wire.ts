/** Peer-link messages (generated types) to and from the sidecar core's vocabulary. */
import type { PeerReply, PeerState } from '../core/sidecar/types';
import type { PeerHeartbeatResponse, PeerHeartbeatResponse__Output } from '../gen/witness/v1/PeerHeartbeatResponse';
import type { PeerState as WirePeerState, PeerState__Output } from '../gen/witness/v1/PeerState';
import { fromWirePhase, toWirePhase, toWireRole } from '../wire/enum-mappings';
import { requireEpoch, requireId, requireRole } from '../wire/validate-request';
import { invalid } from '../wire/wire-error';

export function toWirePeerState(group: string, s: PeerState): WirePeerState {
  return {
    group,
    node: s.node,
    role: toWireRole(s.role),
    workload: toWirePhase(s.workload),
    epoch: s.epoch.toString(),
    knownEpoch: s.knownEpoch.toString(),
    acquiring: s.acquiring,
    eligible: s.eligible,
    handbackRequested: s.handbackRequested,
    handingOver: s.handingOver,
    maintenance: s.maintenance,
    durableEpochs: s.durableEpochs,
    coldStartEpoch: s.coldStartEpoch.toString(),
    incarnation: s.incarnation.toString(),
    statement: s.statement.toString(),
  };
}

/** Validates as it converts: a peer is another process and may be misconfigured or broken. */
export function fromWirePeerState(s: PeerState__Output | null, field: string): PeerState & { group: string } {
  if (s === null) throw invalid(field, 'is required');
  return {
    group: requireId(`${field}.group`, s.group),
    node: requireId(`${field}.node`, s.node),
    role: requireRole(`${field}.role`, s.role),
    workload: fromWirePhase(`${field}.workload`, s.workload),
    epoch: requireEpoch(`${field}.epoch`, s.epoch),
    knownEpoch: requireEpoch(`${field}.known_epoch`, s.knownEpoch),
    acquiring: s.acquiring,
    eligible: s.eligible,
    handbackRequested: s.handbackRequested,
    handingOver: s.handingOver,
    maintenance: s.maintenance,
    durableEpochs: s.durableEpochs,
    coldStartEpoch: requireEpoch(`${field}.cold_start_epoch`, s.coldStartEpoch),
    incarnation: requireEpoch(`${field}.incarnation`, s.incarnation),
    statement: requireEpoch(`${field}.statement`, s.statement),
  };
}

/**
 * A heartbeat's state must name the epoch of a run it reports (every run has one, design §5.5):
 * checked after the sender, so that a message from another group is refused for that first.
 */
export function requireEpochOfRun(state: PeerState, field: string): void {
  if ((state.workload === 'running' || state.workload === 'starting') && state.epoch === 0n)
    throw invalid(
      `${field}.epoch`,
      `is 0, but a node that ${state.workload === 'running' ? 'runs' : 'starts'} a workload runs under an epoch`,
    );
}

export function toWireReply(group: string, reply: PeerReply): PeerHeartbeatResponse {
  return {
    state: toWirePeerState(group, reply.state),
    leaseMs: reply.leaseMs,
    leaseForEpoch: reply.leaseForEpoch.toString(),
  };
}

/**
 * A reply to the heartbeat sent under `askedEpoch` (its epoch, or the cold-start epoch it proposed,
 * design §10.2). A lease names the epoch it was asked under (the peer echoes it, design §4.3); one
 * that names another comes from a broken peer.
 */
export function fromWireReply(
  r: Omit<PeerHeartbeatResponse__Output, 'sequence'>,
  askedEpoch: bigint,
): PeerReply & { state: { group: string } } {
  const leaseForEpoch = requireEpoch('lease_for_epoch', r.leaseForEpoch);
  if (r.leaseMs > 0 && leaseForEpoch !== askedEpoch)
    throw invalid('lease_for_epoch', `names epoch ${leaseForEpoch}, but the heartbeat was sent under ${askedEpoch}`);
  return { state: fromWirePeerState(r.state, 'state'), leaseMs: r.leaseMs, leaseForEpoch };
}
