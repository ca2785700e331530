/**
 * Fault episodes of the fault phase: each kind the plan draws recurs after exponential gaps and
 * lasts an exponential length. Partitions reset connections; blackholes and one-way cuts are
 * silent; isolation cuts a party from both others; sidecars crash (kill -9, restarted later), are
 * stopped (SIGTERM: a planned hand-over, then the process exits and starts again later) or pause
 * (SIGSTOP); the witness crashes. Operators ask for switchovers, put nodes in maintenance and pin
 * the group's fail-back policy (design §9.4, §9.6) through the witness's production service, as
 * the Admin RPCs do.
 */
import type { Network } from './network';
import type { Rng } from './prng';
import {
  type EpisodeKind,
  FREEZE_KINDS,
  OPERATOR_KINDS,
  PARTY_NAMES,
  RESTART_KINDS,
  PRIMARY,
  SECONDARY,
  WITNESS,
} from './plan';
import type { SidecarNode } from './sidecar-node';
import type { WitnessSite } from './witness-site';
import type { World } from './world';

const PAIRS: readonly (readonly [number, number])[] = [
  [PRIMARY, SECONDARY],
  [PRIMARY, WITNESS],
  [SECONDARY, WITNESS],
];

export interface FaultTargets {
  readonly network: Network;
  readonly witness: WitnessSite;
  readonly nodes: readonly SidecarNode[];
  /** The active node is about to be lost: time the failover. */
  readonly noteLoss: (node: SidecarNode) => void;
}

const lease = (w: World): number => Math.max(w.plan.primary.leaseMs, w.plan.primary.peerLeaseMs);

export class Faults {
  constructor(
    private readonly world: World,
    private readonly targets: FaultTargets,
  ) {}

  /** Schedules the first episode of every kind the plan draws. */
  begin(): void {
    const w = this.world;
    for (const [kind, episode] of Object.entries(w.plan.episodes)) {
      w.at(this.drawsFor(kind as EpisodeKind).exp(episode.meanGapMs), () => this.episode(kind as EpisodeKind));
    }
  }

  /** Each later kind draws from its own stream, so that schedules without it replay as before. */
  private drawsFor(kind: EpisodeKind): Rng {
    const w = this.world;
    if (FREEZE_KINDS.has(kind)) return w.freeze;
    return OPERATOR_KINDS.has(kind) ? w.operator : RESTART_KINDS.has(kind) ? w.restart : w.fault;
  }

  private episode(kind: EpisodeKind): void {
    const w = this.world;
    if (w.healed || w.t >= w.plan.faultPhaseMs) return;
    const e = w.plan.episodes[kind];
    if (e === undefined) return;
    const f = this.drawsFor(kind);
    const { network, witness, nodes } = this.targets;
    const length = Math.max(0.1, f.exp(e.meanLengthMs));
    const both = (a: number, b: number): number[] => [a * 3 + b, b * 3 + a];
    switch (kind) {
      case 'partition': {
        const [a, b] = f.pick(PAIRS);
        network.cut(both(a, b), 'reset', length, `partition ${PARTY_NAMES[a]}<->${PARTY_NAMES[b]} (connections reset)`);
        break;
      }
      case 'blackhole': {
        const [a, b] = f.pick(PAIRS);
        network.cut(both(a, b), 'silent', length, `blackhole ${PARTY_NAMES[a]}<->${PARTY_NAMES[b]} (silent)`);
        break;
      }
      case 'one-way': {
        const [a, b] = f.pick(PAIRS);
        const [from, to] = f.chance(0.5) ? [a, b] : [b, a];
        network.cut([from * 3 + to], 'silent', length, `one-way cut ${PARTY_NAMES[from]}->${PARTY_NAMES[to]}`);
        break;
      }
      case 'isolate': {
        const party = f.int(3);
        const others = [0, 1, 2].filter((p) => p !== party);
        const links = others.flatMap((o) => both(party, o));
        const mode = f.chance(0.5) ? 'silent' : 'reset';
        network.cut(links, mode, length, `isolate ${PARTY_NAMES[party]}`);
        if (party !== WITNESS) this.targets.noteLoss(nodes[party] as SidecarNode);
        // One failure, two effects (a switch or a rack's power): the witness crashes as the node is
        // cut off, so it restarts while the holder it restores cannot renew.
        const crashesWitness = w.plan.isolationCrashesWitnessProbability;
        if (party !== WITNESS && crashesWitness > 0 && f.chance(crashesWitness)) {
          witness.crash('kill -9, with the isolation', f.range(0, 0.3) * lease(w));
          // Where the plan draws it, the node stays cut off for one to three leases, as long as a
          // repair of the failed switch takes: the restarted witness must hold the group through
          // its grace for a holder it cannot hear, which runs on the lease it was given before.
          if (w.plan.longIsolationWithWitnessCrash) {
            network.cut(links, mode, f.range(1, 3) * lease(w), `isolate ${PARTY_NAMES[party]} (outlasts the restart)`);
          }
        }
        break;
      }
      case 'sidecar-crash': {
        const node = nodes[f.int(2)] as SidecarNode;
        if (node.machine.frozen || node.sidecar === undefined) break;
        this.targets.noteLoss(node);
        node.crashSidecar(`CRASHES (kill -9); restarts in ${length.toFixed(1)}ms`);
        w.at(w.t + length, () => {
          if (!w.healed) node.startSidecar();
        });
        break;
      }
      case 'sidecar-sigterm': {
        const node = nodes[f.int(2)] as SidecarNode;
        if (node.machine.frozen || node.sidecar === undefined || node.sidecar.paused) break;
        node.sigtermSidecar(length);
        break;
      }
      case 'sidecar-restart': {
        // Mostly the active node's: the one with a run to keep.
        const active = nodes.find((n) => n.activeWorkload() !== undefined);
        const node = active !== undefined && f.chance(0.8) ? active : (nodes[f.int(2)] as SidecarNode);
        if (node.machine.frozen || node.sidecar === undefined || node.sidecar.paused) break;
        this.targets.noteLoss(node);
        node.restartKeepingWorkload(length);
        break;
      }
      case 'machine-freeze': {
        // A paused VM: long enough, mostly, for the peer to take over, so that the frozen node's
        // workload resumes stale; half the time its monotonic clock did not count the pause.
        const active = nodes.find((n) => n.activeWorkload() !== undefined);
        const node = active !== undefined && f.chance(0.8) ? active : (nodes[f.int(2)] as SidecarNode);
        if (node.machine.frozen) break;
        this.targets.noteLoss(node);
        node.freezeMachine(f.range(0.2, 3) * lease(w), f.chance(0.5));
        break;
      }
      case 'sidecar-pause': {
        const node = nodes[f.int(2)] as SidecarNode;
        if (node.machine.frozen || node.sidecar === undefined || node.sidecar.paused) break;
        this.targets.noteLoss(node);
        node.pauseSidecar(length);
        break;
      }
      case 'witness-crash':
        witness.crash('kill -9', length);
        break;
      case 'switchover':
        // With the freshness gate, half the switchovers are forced past it (design §21.4); the
        // draw is made only then, so that other schedules replay as before.
        witness.operate({
          kind: 'switchover',
          group: w.plan.primary.group,
          force: w.plan.freshness !== undefined && w.freshness.chance(0.5),
        });
        break;
      case 'failback-policy': {
        // An operator pins the group's fail-back for a while, then returns it to the nodes' own.
        const group = w.plan.primary.group;
        witness.operate({ kind: 'failback', group, policy: f.pick(['auto', 'manual'] as const) });
        w.at(w.t + length, () => {
          if (!w.healed) witness.operate({ kind: 'failback', group, policy: 'node' });
        });
        break;
      }
      case 'maintenance': {
        const node = (nodes[f.int(2)] as SidecarNode).settings.node;
        const group = w.plan.primary.group;
        witness.operate({ kind: 'maintenance', group, node, on: true, force: f.chance(0.5) });
        w.at(w.t + length, () => {
          if (!w.healed) witness.operate({ kind: 'maintenance', group, node, on: false, force: false });
        });
        break;
      }
      case 'remove-node': {
        // An operator removes one node, or breaks the group, and readmits after a while.
        const group = w.plan.primary.group;
        const names = nodes.map((n) => n.settings.node);
        const force = f.chance(0.5);
        const removed = f.chance(0.3) ? names : [(nodes[f.int(2)] as SidecarNode).settings.node];
        // With the sync schedule, half the breaks break the sync relationship only (design §21.5).
        const syncOnly = removed.length === 2 && w.plan.freshness !== undefined && w.freshness.chance(0.5);
        if (removed.length === 2) witness.operate({ kind: 'break', group, force, syncOnly });
        else witness.operate({ kind: 'remove', group, node: removed[0] as string, readmit: false, force });
        w.at(w.t + length, () => {
          if (w.healed) return;
          for (const node of removed) witness.operate({ kind: 'remove', group, node, readmit: true, force: false });
        });
        break;
      }
    }
    w.at(w.t + f.exp(e.meanGapMs), () => this.episode(kind));
  }
}
