/** The sidecar's state as its Status call answers it (sidecar.proto SidecarState), from the core's view. */
import { failoverBoundMs } from '../core/sidecar/timing';
import type { SidecarSettings, SidecarView } from '../core/sidecar/types';
import type { SidecarState } from '../gen/witness/v1/SidecarState';
import { toWirePhase, toWireRole } from '../wire/enum-mappings';
import { toWireSyncReport } from '../wire/sync-report';
import type { SidecarRuntimeParts } from './sidecar-runtime-parts';

export function statusOf(
  settings: SidecarSettings,
  view: SidecarView,
  parts: Pick<SidecarRuntimeParts, 'witness' | 'sync'>,
): SidecarState {
  return {
    group: settings.group,
    node: settings.node,
    role: toWireRole(settings.role),
    mode: settings.mode,
    workload: toWirePhase(view.workload),
    active: view.workload === 'running' || view.workload === 'starting',
    epoch: view.epoch.toString(),
    knownEpoch: view.knownEpoch.toString(),
    holding: view.holding,
    peerReachable: view.peerUp,
    witnessReachable: view.witnessUp,
    msUntilStop: view.msUntilStop,
    witnessLeaseRemainingMs: view.witnessLeaseMs,
    peerLeaseRemainingMs: view.peerLeaseMs,
    witnessEndpoint: parts.witness?.endpoint ?? '',
    lastDecision: view.lastDecision,
    lastRule: view.lastRule,
    failoverBoundMs: failoverBoundMs(settings),
    ...(parts.sync === undefined ? {} : { sync: toWireSyncReport(parts.sync.report()) }),
    syncing: parts.sync?.syncing ?? false,
  };
}
