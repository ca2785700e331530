/**
 * What a simulated node is made of and what it reports to: its workloads (alive from the start
 * action until dead, with the watchdog's last deadline), its sidecar incarnations (each with its
 * own clock origin, and what arrived while it was paused), the parts of the world it is given,
 * and the observer (the checkers) it tells. sidecar-node.ts and node-machine.ts drive them.
 */
import type { SidecarRuntime } from '../sidecar/sidecar-runtime';
import type { CoreFactory } from '../sidecar/sidecar-runtime-parts';
import type { Failback, PeerState } from '../core/sidecar/types';

import type { Task } from './event-queue';
import type { PastDeadlineLanding } from './held-answers';
import type { Network } from './network';
import type { NodeMachine } from './node-machine';
import type { SidecarNode } from './sidecar-node';
import type { WitnessSite } from './witness-site';
import type { World } from './world';

export class SimWorkload {
  alive = true;
  /** SIGTERM sent (by the sidecar or the watchdog); no longer counts as active for liveness. */
  terminating = false;
  /** The sidecar asked for its stop (the stopped-twice check). */
  stopAsked = false;
  /** Watchdog: the last deadline fed (sidecar's clock), and a token that cancels older timers. */
  fedDeadline = Number.NaN;
  watchdogToken = 0;
  /** Started by a cold start with the witness down (design §10.2), under an epoch the pair agreed. */
  cold = false;
  /** When its machine first froze while it was alive (machine-freeze, design §14); undefined: never. */
  frozenAt: number | undefined;
  /** Until when (real ms) it may run stale beside the peer's workload after the thaw (+inf while frozen). */
  staleUntil = Number.NEGATIVE_INFINITY;
  /** What waits for its death (the next sidecar process of a restart that found it stopping). */
  readonly deathWaiters: (() => void)[] = [];

  constructor(
    readonly id: number,
    readonly machine: number,
    /** The sidecar incarnation that started it, or adopted it after a restart (design §9.8). */
    public owner: number,
    readonly epoch: bigint,
    readonly startedAt: number,
  ) {}
}

export class SidecarProcess {
  paused = false;
  /** Inputs and timers that came due while paused, run in order at SIGCONT. */
  deferred: Task[] = [];
  /** Cancels the SIGCONT of an earlier pause when the process is resumed otherwise. */
  pauseToken = 0;
  workload: SimWorkload | undefined;
  onRunning: () => void = () => undefined;
  onStopped: (byItself: boolean) => void = () => undefined;
  runtime!: SidecarRuntime;
  lastStatus = '';
  /** When this sidecar last sent an Acquire (real ms). */
  lastAcquireAt = Number.NEGATIVE_INFINITY;
  /** What the peer last said of itself, as handed to this runtime (the table checks read it). */
  peerState: PeerState | undefined;
  /** When (this sidecar's clock) the runtime was last handed anything the peer said. */
  peerHeardAt = Number.NEGATIVE_INFINITY;
  /** When (real ms) it sent the Acquire of each epoch it was granted: a start's basis (stale-runs.ts). */
  readonly grantsAskedAt = new Map<bigint, number>();
  /** When (real ms) it sent the peer heartbeat of the latest peer lease for each epoch: a cold start's basis. */
  readonly peerLeasesAskedAt = new Map<bigint, number>();
  /** The fail-back policy of the witness answer last handed to this runtime (prompt-stops.ts). */
  groupFailback: Failback | undefined;
  /** SIGTERM arrived: the planned hand-over runs (a second SIGTERM changes nothing). */
  handingOver = false;
  /** The runtime has been told of the SIGTERM (the process ran since it arrived): it is leaving. */
  leaving = false;

  constructor(
    readonly inc: number,
    /** This process's clock origin: local = rate * t + offset. */
    readonly offset: number,
  ) {}
}

/**
 * SIGUSR2's outcomes: the next process adopted the run; the run stopped at its deadline before one
 * came; nothing could be kept (a planned stop instead); the next process did not find it (another
 * --state-dir: it ran on to its deadline).
 */
export type KeptRestartOutcome = 'adopted' | 'stopped-before-adoption' | 'nothing-to-keep' | 'not-found';

/** What the node tells the checkers. */
export interface NodeObserver {
  onActivation(node: NodeMachine, workload: SimWorkload, why: string): void;
  /** `rule`: the sidecar's row that stopped it; undefined when the watchdog did, or it died. */
  onDeactivation(workload: SimWorkload, rule: string | undefined): void;
  /** A workload process of this node is dead. */
  onDeath(node: NodeMachine): void;
  /** The node's sidecar sends an Acquire. */
  onAcquire(node: SidecarNode): void;
  /** The sidecar heard that its workload crashed by itself (the failure cool-down counts from here). */
  onCrashReported(node: NodeMachine): void;
  /** How a restart that keeps the workload (design §9.8) ended. */
  onKeptRestart(outcome: KeptRestartOutcome): void;
  /** An answer held past its call's deadline landed at the node's sidecar (held-answers.ts). */
  onAnswerPastDeadline(how: PastDeadlineLanding): void;
  /** A workload that lived through a freeze of its machine is still alive at the end of its stale bound. */
  onStaleRunOutlived(node: NodeMachine, workload: SimWorkload): void;
}

export interface SidecarNodeParts {
  readonly world: World;
  readonly network: Network;
  readonly witness: WitnessSite;
  readonly observer: NodeObserver;
  /** The other node of the pair. */
  readonly peer: () => SidecarNode;
  /** Swaps in a deliberately broken core (tests of the simulator itself). */
  readonly createCore?: CoreFactory;
  /** Gives every sidecar incarnation a new number, across both nodes. */
  readonly nextIncarnation: () => number;
  readonly nextWorkloadId: () => number;
}
