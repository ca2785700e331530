/**
 * What a SidecarRuntime is given (sidecar-runtime.ts): its ports (sidecar-ports.ts), the listeners
 * of its events and actions, a run kept by the previous process, and the core it drives.
 */
import type { SidecarCore } from '../core/sidecar/sidecar-core';
import type { Action, EpochRecordAtStart, KeptRun, SidecarSettings } from '../core/sidecar/types';
import type { Logger } from '../log/logger';
import type { Clock, EpochRecord, HealthFlag, PeerTransport, Timers, WitnessTransport } from './sidecar-ports';
import type { SidecarEvent } from './sidecar-events';
import type { StandbySync } from './sync/standby-sync';
import type { WorkloadDriver } from './workload-driver';

/** Makes the core: production's, or (the simulator's tests) a deliberately broken or watched one. */
export type CoreFactory = (settings: SidecarSettings, now: number, recorded?: EpochRecordAtStart) => SidecarCore;

export interface SidecarRuntimeParts {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly peer: PeerTransport;
  /** Absent in simple mode. */
  readonly witness: WitnessTransport | undefined;
  readonly workload: WorkloadDriver;
  readonly logger: Logger;
  /** Readiness follows the active copy (`--health-active-only`) when given. */
  readonly activeHealth?: HealthFlag;
  /** Told of every event (design §18.4), after its log line; `--on-event` listens here. */
  readonly onEvent?: (event: SidecarEvent) => void;
  /** Told about every action carried out, for the metrics (design §19.3). */
  readonly onAction?: (action: Action) => void;
  /** The run a previous sidecar process of this node kept for this one (design §9.8), already in the workload driver. */
  readonly adopted?: KeptRun;
  /** --state-dir's epoch record (design §10.2); absent without one. */
  readonly epochRecord?: EpochRecord;
  /** The standby's sync schedule (`--sync-cmd`, design §21.1); absent: the node reports no sync. */
  readonly sync?: StandbySync;
  /** The simulator swaps in deliberately broken cores through this; production never does. */
  readonly createCore?: CoreFactory;
}
