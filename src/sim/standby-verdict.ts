/**
 * The standby table's "stay stopped" verdict for peer down, witness down (design §2.2, the
 * STANDBY_TABLE row of src/core/sidecar/behaviour-tables.ts), checked on the node the isolating
 * probe cut off for good. That row acts no differently from the waits around it (nothing is sent
 * either way), but it is the verdict the node reports (`SidecarView.lastDecision`, the status
 * `lastDecision`): an operator reading why a node stays stopped must read the table's reason.
 *
 * The isolated node ran until the probe: it made no promise, and its quiet period, cool-downs and
 * refusals are long over (the probe waits for them). It may still send an Acquire after the probe
 * while its view of both sides is stale but within the timeout (the check is then skipped). Once it has stopped, its lease has lapsed (it
 * no longer holds the group) and it has heard neither side within the timeout, nothing before
 * that row waits, so every decision it makes is that row's. The check takes the node's view twice,
 * a heartbeat and a half apart on its clock (its runtime decides at every heartbeat): if both show
 * it stopped, not holding, peer down and witness down, a decision in between saw them too, and the
 * view must report the table's reason.
 */
import { lookup, STANDBY_TABLE } from '../core/sidecar/behaviour-tables';
import type { SidecarView } from '../core/sidecar/types';
import type { SidecarNode } from './sidecar-node';
import type { World } from './world';

const cutOff = (v: SidecarView | undefined): boolean =>
  v !== undefined && v.workload === 'stopped' && !v.holding && !v.peerUp && !v.witnessUp;

/** Schedules the check so that its second look is just before real time `end` (the schedule's end). */
export function checkIsolatedVerdictBefore(world: World, victim: SidecarNode, probeAt: number, end: number): void {
  const sc = victim.sidecar;
  if (sc === undefined || victim.settings.mode !== 'standard') return;
  const second = end - 0.001;
  const first = second - (1.5 * victim.settings.heartbeatMs) / victim.rate;
  if (first <= world.t) return;
  world.at(first, () => {
    // An Acquire sent after the probe (its view of both sides was still "up", and stale) waits in
    // flight until a grant could no longer be used (§2.2, §8.4): the verdict waits with it.
    if (sc.lastAcquireAt >= probeAt) return;
    if (victim.sidecar !== sc || sc.paused || !cutOff(sc.runtime.view())) return;
    world.at(second, () => {
      const v = victim.sidecar === sc && !sc.paused ? sc.runtime.view() : undefined;
      if (v === undefined || !cutOff(v)) return;
      const row = lookup(STANDBY_TABLE, 'down', 'down');
      if (v.lastDecision === row.why) return;
      world.violate(
        'liveness',
        'standby-verdict',
        `${victim.name}, cut off from its peer and the witness, reports '${v.lastDecision}' (${v.lastRule}), ` +
          `not the table's '${row.action}: ${row.why}'`,
      );
    });
  });
}
