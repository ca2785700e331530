/**
 * Table conformance of the standby's Acquires (design §2.2, the STANDBY_TABLE of
 * src/core/sidecar/behaviour-tables.ts). The node not running the workload asks the witness only
 * where the table says "ask witness" (peer down, witness up) or where the text under it allows:
 * both nodes up and stopped with the witness reachable, the preferred primary asks; the secondary
 * asks only if the primary has given the group up after repeated workload failures (§9.1) or is in
 * maintenance (§9.6), or if the primary hands the group over in a planned stop (§9.5, it says `handing_over`). Every other row says
 * "stay stopped".
 *
 * The check reads the node's own view of its links (`SidecarView.peerUp` and `witnessUp`: heard
 * within the timeout) and the last state its peer told it (what the simulator delivered to the
 * runtime), never the rule rows it judges. The view's "peer up" is the narrower one (§2.3 also
 * counts a peer not heard since the node's start as up, and a peer whose promise stands), so where
 * the view says up, the table's "up" rows hold; where it says down, only the witness column is
 * judged. A restart's Acquire (§9.1, row `acquire-restart`: the holder asks again for a new epoch)
 * is not a standby decision and is not judged here.
 */
import { lookup, STANDBY_TABLE } from '../core/sidecar/behaviour-tables';
import type { PeerState, SidecarSettings, SidecarView } from '../core/sidecar/types';
import type { World } from './world';

/** The one Acquire the standby table does not govern (§9.1). */
const RESTART_RULE = 'acquire-restart';

/** Why the table (§2.2) says this stopped node must not ask the witness now; undefined if it may. */
export function standbyMayNotAsk(
  settings: SidecarSettings,
  view: SidecarView,
  peer: PeerState | undefined,
): string | undefined {
  if (settings.mode !== 'standard' || view.lastRule === RESTART_RULE || view.holding) return undefined;
  if (!view.witnessUp) {
    const row = lookup(STANDBY_TABLE, view.peerUp ? 'up' : 'down', 'down');
    return `the witness was not heard within the timeout (peer ${row.peer}, witness down: ${row.action}, ${row.why})`;
  }
  if (!view.peerUp) return undefined; // peer down, witness up: ask witness (or the peer is up: judged below only when sure)
  const row = lookup(STANDBY_TABLE, 'up', 'up');
  const base = `peer up, witness up: ${row.action}, ${row.why}`;
  if (peer === undefined) return `${base}; the peer has not said what it runs`;
  if (peer.workload !== 'stopped') return `${base}; the peer says its workload is ${peer.workload}`;
  if (settings.role === 'primary') return undefined; // both stopped: the preferred primary asks
  if (peer.handingOver) return undefined; // the primary's planned stop hands the group over (§9.5)
  if (peer.eligible) return `${base}; both stopped, and the primary has not given the group up`;
  return undefined;
}

/** Right when a node's runtime sends an Acquire: the standby table allows it. */
export function checkAcquireAgainstTable(
  world: World,
  nodeName: string,
  settings: SidecarSettings,
  view: SidecarView,
  peer: PeerState | undefined,
): void {
  const why = standbyMayNotAsk(settings, view, peer);
  if (why === undefined) return;
  world.violate(
    'liveness',
    view.witnessUp ? 'acquire-against-table-peer-up' : 'acquire-against-table-witness-down',
    `${nodeName} sends an Acquire (${view.lastRule}) although ${why}`,
  );
}

/**
 * Right after the supervisor's 'running' report reached the runtime: a workload this sidecar
 * already told to stop is not reported running again. The phase is what the supervisor reports
 * (`WorkloadPhase`, types.ts), and what the node tells its peer and its status (design §8.5: a node
 * that gives the group up stops first, then says so). A report that crosses the stop must not
 * undo it: the node would tell its peer it runs (the preferred primary waits out another
 * fail-back delay before it asks again, §9.4) and its health would say serving.
 */
export function checkNotRunningWhileStopping(
  world: World,
  nodeName: string,
  workload: { readonly epoch: bigint; readonly stopAsked: boolean; readonly alive: boolean },
  view: SidecarView,
): void {
  // Only the sidecar's own stop: one the watchdog began while the sidecar was frozen is news to
  // the core until the supervisor reports the workload gone (§8.3), and a renewal that arrived
  // meanwhile may keep its run going until then.
  if (!workload.alive || !workload.stopAsked || view.workload !== 'running') return;
  world.violate(
    'liveness',
    'running-after-stop',
    `${nodeName} reports workload ${world.trace.epoch(workload.epoch)} running after it was told to stop (${view.lastRule})`,
  );
}

/**
 * The sidecar stops a run once: its stop begins the stop sequence (SIGTERM, the grace, SIGKILL,
 * design §8.3), and the run is `stopping` until the supervisor reports the workload gone
 * (`WorkloadPhase`, types.ts). A second stop of the same workload from the same sidecar means it
 * took the stopping run for a running one in between (a 'running' report that crossed the stop).
 */
export function checkStoppedOnce(
  world: World,
  nodeName: string,
  workload: { readonly epoch: bigint; stopAsked: boolean },
): void {
  if (workload.stopAsked) {
    world.violate(
      'error',
      'stopped-twice',
      `${nodeName} stops workload ${world.trace.epoch(workload.epoch)} again, while its first stop is under way`,
    );
  }
  workload.stopAsked = true;
}
