/**
 * L3, the stops that are asked for (design §3.5): a node told that its run is over begins to stop
 * in the same turn, not when its leases run out. It is told so by the witness answering a
 * heartbeat under the running epoch with another holder or epoch (superseded or released, §6.2),
 * by the stopped preferred primary asking for the group back (§9.4), and by a SIGTERM, whose
 * hand-over stops the workload first (§9.5; checked in sidecar-node.ts). S1 does not rest on these stops (the leases end the run in
 * time), so without this check nothing would notice if one were lost.
 */
import type { Failback, PeerState, SidecarSettings, WitnessAnswer } from '../core/sidecar/types';
import type { World } from './world';

/** What a node's workload process looks like to the check. */
export interface RunningWorkload {
  readonly epoch: bigint;
  readonly alive: boolean;
  readonly terminating: boolean;
}

/** Why the witness's answer to a heartbeat sent under `heldEpoch` ends the run of `epoch`, if it does. */
export function witnessEndsRun(
  settings: SidecarSettings,
  epoch: bigint,
  heldEpoch: bigint,
  answer: WitnessAnswer,
): string | undefined {
  if (settings.mode !== 'standard' || heldEpoch === 0n || heldEpoch !== epoch) return undefined;
  if (answer.holder === settings.node && answer.epoch === heldEpoch) return undefined;
  return `the witness answered its heartbeat under epoch ${heldEpoch} with holder '${answer.holder}' and epoch ${answer.epoch} (${answer.verdict})`;
}

/**
 * Why what the peer says of itself ends this node's run, if it does. `groupPolicy` is the fail-back
 * policy of the witness's answer the node was last handed (design §9.4); undefined: its own.
 */
export function peerEndsRun(
  settings: SidecarSettings,
  peer: PeerState,
  groupPolicy: Failback | undefined,
): string | undefined {
  if (settings.mode !== 'standard') return undefined;
  const handback =
    settings.role === 'secondary' &&
    (groupPolicy ?? settings.failback) === 'auto' &&
    peer.role === 'primary' &&
    peer.workload === 'stopped' &&
    peer.handbackRequested;
  return handback ? 'the stopped preferred primary asks for the group back' : undefined;
}

/**
 * Checks, right after the runtime took an input, that a workload the input ended is stopping.
 * `workload` is the one its sidecar incarnation started, if any.
 */
export function checkStopped(
  world: World,
  nodeName: string,
  workload: RunningWorkload | undefined,
  endsRun: (epoch: bigint) => string | undefined,
): void {
  if (workload === undefined || !workload.alive || workload.terminating) return;
  const why = endsRun(workload.epoch);
  if (why === undefined) return;
  world.violate(
    'liveness',
    'ran-on-after-told-to-stop',
    `${nodeName} keeps running epoch ${world.trace.epoch(workload.epoch)} although ${why}`,
  );
}
