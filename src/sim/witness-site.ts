/**
 * The witness as the sidecars reach it: one witness process over its own store, or witness
 * replicas over etcd (design §20), each a production ArbitrationService in a WitnessNode over the
 * shared store, its candidacy and leadership in sim-replica.ts. A sidecar's requests go to the
 * replica its endpoint list is on, and move on down the list when that one refuses or is silent.
 * Faults only replicas have are drawn here: the leader's path to etcd cut while the sidecars still
 * reach it, the leader paused for about its election lease, a site split, and SIGTERM.
 */
import { restartGrace } from '../core/lease';
import type { ArbiterConfig } from '../core/witness/arbiter-config';
import type { OperatorInput } from '../core/witness/types';
import type { LeaseAnswer__Output } from '../gen/witness/v1/LeaseAnswer';
import type { Network } from './network';
import { WitnessEndpoints } from '../sidecar/witness-endpoints';
import { isUnreachable } from '../sidecar/witness-link';
import { wireErrorStatus } from '../wire/status-mapping';
import { type FailedCallStatus, notLeading } from '../wire/undecided-refusal';
import { PARTY_NAMES, PRIMARY, SECONDARY, WITNESS } from './plan';
import type { ReplicaPlan } from './plan-replicas';
import { Rng } from './prng';
import { CAMPAIGN_RETRY_MS } from '../witness/store/etcd-leadership';
import { SimEtcd } from './sim-etcd';
import { SimReplica } from './sim-replica';
import type { ReplicaRole } from './replica-role';
import { newStoreContents, type SharedStore } from './simulated-store';
import { type CallFailed, type WitnessCall, WitnessNode, type WitnessNodeHooks } from './witness-node';
import type { World } from './world';
import { operatorIntentEnded, recordsMaintenance, recordsRemoval } from './simulated-store';

/** Replica episodes get their own stream, so that schedules without replicas replay as before. */
const REPLICA_EPISODE_DRAWS = 0x2e911ca5;

export class WitnessSite {
  readonly gen0: bigint;
  /** The one witness over its own store, when the schedule has no replicas. */
  private readonly singleNode: WitnessNode | undefined;
  private readonly replicas: SimReplica[] = [];
  private readonly etcd: SimEtcd | undefined;
  private readonly episodes: Rng;
  /** Each sidecar's ordered witness list (the production one), by party; replicas named W1, W2... */
  private readonly lists: WitnessEndpoints[] = [];

  constructor(
    private readonly world: World,
    private readonly network: Network,
    config: ArbiterConfig,
    hooks: WitnessNodeHooks,
  ) {
    const plan = world.plan.replicas;
    this.episodes = new Rng(world.plan.seed ^ REPLICA_EPISODE_DRAWS);
    if (plan === undefined) {
      this.singleNode = new WitnessNode(world, network, config, hooks);
      this.gen0 = this.singleNode.gen0;
      this.etcd = undefined;
      return;
    }
    this.singleNode = undefined;
    const etcd = new SimEtcd(world, plan.ttlMs, plan.etcdRate);
    this.etcd = etcd;
    const probe = new WitnessNode(world, network, config, hooks);
    this.gen0 = probe.gen0;
    const shared: SharedStore = { contents: newStoreContents(this.gen0) };
    const rates = [world.plan.clockRates[WITNESS], ...plan.otherRates];
    for (let i = 0; i < rates.length; i += 1) {
      const rate = rates[i] as number;
      const offset = this.episodes.range(0, 1e6);
      const node = (role: ReplicaRole): WitnessNode => new WitnessNode(world, network, config, hooks, shared, role);
      this.replicas.push(new SimReplica(world, etcd, i, `W${i + 1}`, rate, offset, node));
    }
    // With zones, the first replica is in the primary's zone and the second in the secondary's.
    const zone = (index: number): string => (plan.zones && index < 2 ? `z${index}` : '');
    const endpoints = this.replicas.map((r) => ({ address: r.name, zone: zone(r.index) }));
    for (const party of [PRIMARY, SECONDARY]) {
      this.lists[party] = new WitnessEndpoints(endpoints, zone(party), plan.probeEveryMs, 0);
    }
  }

  private get single(): WitnessNode | undefined {
    return this.singleNode;
  }

  /** The replica that leads and serves now (the one whose election key exists), if any. */
  private leader(): SimReplica | undefined {
    const holder = this.etcd?.keyHolder();
    if (holder === undefined) return undefined;
    return this.replicas.find((r) => r.lease === holder && r.alive && r.node.up && r.term !== undefined);
  }

  /** Up: the single witness runs, or a replica leads. */
  get up(): boolean {
    return this.single?.up ?? this.leader() !== undefined;
  }

  /**
   * Real time at which the serving witness's start-up grace ends; with no leader, when one could
   * be through its grace at the latest (the election key expires, a campaign, the grace).
   */
  get graceEnd(): number {
    const single = this.single;
    if (single !== undefined) return single.graceEnd;
    const leader = this.leader();
    if (leader !== undefined) return leader.node.graceEnd;
    const plan = this.world.plan;
    const slowest = Math.min(...this.replicas.map((r) => r.rate));
    const lease = Math.max(plan.witness.maxLeaseMs, plan.primary.leaseMs, plan.primary.peerLeaseMs);
    const campaign = (CAMPAIGN_RETRY_MS + 4 * (plan.replicas?.etcdDelayMaxMs ?? 0)) / slowest;
    return (this.etcd as SimEtcd).keyExpiresAt() + campaign + restartGrace(lease, plan.witness.bounds) / slowest;
  }

  start(wipe: boolean, why: string): void {
    const single = this.single;
    if (single !== undefined) {
      single.start(wipe, why);
      return;
    }
    for (const r of this.replicas) if (!r.alive) r.startCandidate(why);
    if (why === 'first start') this.scheduleEpisodes();
  }

  /** Every fault ends: replicas run, reach etcd and are not paused; the operators' intent ends. */
  healed(): void {
    const single = this.single;
    if (single !== undefined) {
      if (!single.up) single.start(false, 'restart at heal');
      else single.endOperatorIntent();
      return;
    }
    const w = this.world;
    for (const r of this.replicas) {
      r.etcdCutUntil = Math.min(r.etcdCutUntil, w.t);
      r.pausedUntil = Math.min(r.pausedUntil, w.t);
      r.cutFrom.fill(Math.min(w.t, ...r.cutFrom));
      r.resume();
    }
    this.start(false, 'restart at heal');
    this.endIntentOnceDeciding();
  }

  /**
   * After the heal the operators' intent ends, asked of the leader until the store says it has:
   * a replica elected, or back from a pause, refuses (store unavailable) until a keep-alive
   * confirms its election lease, and an operator would ask again.
   */
  private endIntentOnceDeciding(asked = false): void {
    const w = this.world;
    const leader = this.leader();
    // Asked at least once: a request made before the heal may still land, and the group's turns
    // put what is asked now after it.
    if (asked && leader !== undefined && operatorIntentEnded(leader.node.storeContents, w.plan.primary.group)) return;
    const deciding = leader !== undefined && leader.mayDecide(leader.now());
    if (deciding) leader.node.endOperatorIntent();
    w.at(w.t + CAMPAIGN_RETRY_MS, () => this.endIntentOnceDeciding(asked || deciding));
  }

  crash(why: string, downMs: number): void {
    const single = this.single;
    if (single !== undefined) {
      single.crash(why, downMs);
      return;
    }
    const f = this.world.fault;
    const alive = this.replicas.filter((r) => r.alive);
    if (alive.length === 0) return;
    const victim = f.chance(0.7) ? (this.leader() ?? f.pick(alive)) : f.pick(alive);
    if (victim === undefined) return;
    if (victim.node.up) victim.node.crash(why, downMs);
    else victim.down(downMs, `${why} (a candidate)`);
  }

  operate(input: OperatorInput): void {
    const target = this.single ?? this.leader()?.node ?? this.replicas[0]?.node;
    target?.operate(input);
  }

  /** Whether the store's record of `group` (the one a decision just wrote) has `node` in maintenance. */
  inMaintenance(group: string, node: string): boolean {
    return recordsMaintenance(this.anyNode().storeContents, group, node);
  }

  isRemoved(group: string, node: string): boolean {
    return recordsRemoval(this.anyNode().storeContents, group, node);
  }

  /** A witness process over the store (replicas share one): what the store holds is asked of it. */
  private anyNode(): WitnessNode {
    return this.singleNode ?? (this.replicas[0] as SimReplica).node;
  }

  receive(
    from: number,
    what: string,
    call: WitnessCall,
    answer: (a: LeaseAnswer__Output) => void,
    fail: CallFailed,
  ): void {
    const single = this.single;
    if (single !== undefined) {
      single.receive(from, what, call, answer, fail);
      return;
    }
    const w = this.world;
    const list = this.lists[from] as WitnessEndpoints;
    this.probePreferred(list);
    const r = this.replicaNamed(list.current.address);
    if (w.t < (r.cutFrom[from] as number)) {
      // Out of reach: the request vanishes, the caller's deadline runs out and its list moves on.
      if (w.trace.on2) w.trace.log(2, r.name, `${what} from ${PARTY_NAMES[from]}: out of reach (split)`);
      this.moveOn(from);
      return;
    }
    if (w.t < r.pausedUntil) {
      // Stopped (SIGSTOP): the kernel keeps the request; the caller's deadline runs out and its
      // list moves on; the replica handles the request once it runs again, with what it knows then.
      this.moveOn(from);
      const inc = r.inc;
      r.whenRunning(() => {
        if (r.inc === inc && r.alive) this.serve(r, from, what, call, answer, fail);
      });
      return;
    }
    this.serve(r, from, what, call, answer, fail);
  }

  private serve(
    r: SimReplica,
    from: number,
    what: string,
    call: WitnessCall,
    answer: (a: LeaseAnswer__Output) => void,
    fail: CallFailed,
  ): void {
    const w = this.world;
    if (r.alive && r.node.up && !r.stopping) {
      r.node.receive(from, what, call, answer, (status) => {
        // As the production link: a refusal the witness gave (an unknown group) keeps the list where it is.
        if (isUnreachable(status ?? null)) this.moveOn(from);
        fail(status);
      });
      return;
    }
    // Down or resigning (connection refused), or a follower (UNAVAILABLE, naming the leader in
    // the trailer, follower-server.ts): the list moves on.
    const follower = r.alive && !r.stopping;
    if (w.trace.on2)
      w.trace.log(2, r.name, `${what} from ${PARTY_NAMES[from]}: ${follower ? 'not leading' : 'down'}, refused`);
    this.moveOn(from);
    const status = follower ? followerRefusal() : undefined;
    this.network.transmit(WITNESS, from, 'refusal', () => fail(status), undefined);
  }

  private moveOn(from: number): void {
    this.lists[from]?.failed();
  }

  /**
   * The production sidecar's probe of its first endpoint while on a later one (an epoch-less
   * Renew that disturbs nothing): taken as answered when that replica serves and may decide.
   */
  private probePreferred(list: WitnessEndpoints): void {
    const preferred = list.probeDue(this.world.t);
    if (preferred === undefined) return;
    const r = this.replicaNamed(preferred.address);
    const answers = r.alive && r.node.up && this.world.t >= r.pausedUntil && r.mayDecide(r.now());
    if (answers) list.preferredAnswered();
  }

  private replicaNamed(name: string): SimReplica {
    return this.replicas.find((r) => r.name === name) as SimReplica;
  }

  // ---- faults only replicas have ------------------------------------------------------------

  private scheduleEpisodes(): void {
    const plan = this.world.plan.replicas as ReplicaPlan;
    for (const [kind, episode] of [
      ['cut', plan.etcdCut],
      ['pause', plan.pause],
      ['split', plan.split],
      ['resign', plan.resign],
    ] as const) {
      if (episode === undefined) continue;
      const next = (): void => {
        const w = this.world;
        if (w.healed || w.t >= w.plan.faultPhaseMs) return;
        // Bounded: a pause of minutes says nothing a pause of a few election leases does not.
        const longest = Math.min(3 * episode.meanLengthMs, this.world.plan.faultPhaseMs / 4);
        const length = Math.min(longest, this.episodes.exp(episode.meanLengthMs));
        this.episode(kind, Math.max(0.1, length));
        w.at(w.t + this.episodes.exp(episode.meanGapMs), next);
      };
      this.world.at(this.episodes.exp(episode.meanGapMs), next);
    }
  }

  private episode(kind: 'cut' | 'pause' | 'split' | 'resign', lengthMs: number): void {
    const w = this.world;
    // Mostly the leader: the replica whose loss matters.
    const r = this.leader() ?? this.episodes.pick(this.replicas);
    if (!r.alive) return;
    if (kind === 'resign') {
      if (r.node.up && !r.stopping) r.resign(r.inc, lengthMs);
      return;
    }
    if (kind === 'split') {
      // The side the leader is on: the sidecar it serves now, or the primary.
      const near =
        this.lists[SECONDARY]?.current.address === r.name && this.lists[PRIMARY]?.current.address !== r.name
          ? SECONDARY
          : PRIMARY;
      const far = 1 - near;
      r.etcdCutUntil = Math.max(r.etcdCutUntil, w.t + lengthMs);
      r.cutFrom[far] = Math.max(r.cutFrom[far] as number, w.t + lengthMs);
      for (const other of this.replicas)
        if (other !== r) other.cutFrom[near] = Math.max(other.cutFrom[near] as number, w.t + lengthMs);
      const peerLinks = [near * 3 + far, far * 3 + near];
      this.network.cut(
        peerLinks,
        'silent',
        lengthMs,
        `site SPLIT: ${r.name} and ${PARTY_NAMES[near]} apart from etcd, the other replicas and ${PARTY_NAMES[far]}`,
      );
      return;
    }
    if (kind === 'cut') {
      r.etcdCutUntil = Math.max(r.etcdCutUntil, w.t + lengthMs);
      if (w.trace.on1)
        w.trace.log(1, r.name, `path to etcd CUT for ${lengthMs.toFixed(1)}ms (the sidecars still reach it)`);
    } else {
      r.pausedUntil = Math.max(r.pausedUntil, w.t + lengthMs);
      if (w.trace.on1) w.trace.log(1, r.name, `PAUSED for ${lengthMs.toFixed(1)}ms`);
      w.at(r.pausedUntil, () => r.resume());
    }
  }
}

/** A follower's answer to every call (follower-server.ts): UNAVAILABLE with the leader's trailer. */
function followerRefusal(): FailedCallStatus {
  const { code, metadata } = wireErrorStatus(notLeading('', ''));
  return { code, metadata };
}
