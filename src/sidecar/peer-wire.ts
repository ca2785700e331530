/** Peer-link messages (generated types) to and from the sidecar core's vocabulary. */
import type { PeerReply, PeerState, WorkloadPhase } from '../core/sidecar/types';
import type { PeerHeartbeatResponse, PeerHeartbeatResponse__Output } from '../gen/witness/v1/PeerHeartbeatResponse';
import type { PeerState as WirePeerState, PeerState__Output } from '../gen/witness/v1/PeerState';
import type { WorkloadPhase as WireWorkloadPhase } from '../gen/witness/v1/WorkloadPhase';
import { invalid, requireEpoch, requireId, requireRole } from '../witness/validate-request';

const PHASE_TO_WIRE: Record<WorkloadPhase, WireWorkloadPhase> = {
  stopped: 'WORKLOAD_PHASE_STOPPED',
  starting: 'WORKLOAD_PHASE_STARTING',
  running: 'WORKLOAD_PHASE_RUNNING',
  stopping: 'WORKLOAD_PHASE_STOPPING',
};

export function toWirePhase(phase: WorkloadPhase): WireWorkloadPhase {
  return PHASE_TO_WIRE[phase];
}

function fromWirePhase(field: string, phase: string): WorkloadPhase {
  for (const [core, wire] of Object.entries(PHASE_TO_WIRE)) if (wire === phase) return core as WorkloadPhase;
  throw invalid(field, 'must be one of WORKLOAD_PHASE_STOPPED, _STARTING, _RUNNING, _STOPPING');
}

export function toWirePeerState(group: string, s: PeerState): WirePeerState {
  return {
    group,
    node: s.node,
    role: s.role === 'primary' ? 'ROLE_PRIMARY' : 'ROLE_SECONDARY',
    workload: toWirePhase(s.workload),
    epoch: s.epoch.toString(),
    knownEpoch: s.knownEpoch.toString(),
    acquiring: s.acquiring,
    eligible: s.eligible,
    handbackRequested: s.handbackRequested,
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
  };
}

export function toWireReply(group: string, reply: PeerReply): PeerHeartbeatResponse {
  return {
    state: toWirePeerState(group, reply.state),
    leaseMs: reply.leaseMs,
    leaseForEpoch: reply.leaseForEpoch.toString(),
  };
}

export function fromWireReply(r: PeerHeartbeatResponse__Output): PeerReply & { state: { group: string } } {
  return {
    state: fromWirePeerState(r.state, 'state'),
    leaseMs: r.leaseMs,
    leaseForEpoch: requireEpoch('lease_for_epoch', r.leaseForEpoch),
  };
}
