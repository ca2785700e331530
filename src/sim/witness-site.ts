/**
 * The witness as the sidecars reach it: one witness process over its own store, or witness
 * replicas over etcd (design §20), each a production ArbitrationService in a WitnessNode over the
 * shared store. A replica campaigns and keeps its etcd lease alive on its own clock, decides only
 * before its election lease can have run out (electionLeaseEnd, as the production EtcdStore), and
 * writes through the fence; faults crash the leader, cut its path to etcd while the sidecars still
 * reach it, and pause it for longer than its election lease. A sidecar's requests go to the
 * replica its endpoint list is on, and move on down the list when that one refuses or is silent.
 */
import { electionLeaseEnd, restartGrace } from '../core/lease';
import type { ArbiterConfig } from '../core/witness/arbiter-config';
import type { OperatorInput } from '../core/witness/types';
import type { LeaseAnswer__Output } from '../gen/witness/v1/LeaseAnswer';
import type { Task } from './event-queue';
import type { Network } from './network';
import { WitnessEndpoints } from '../sidecar/witness-endpoints';
import { PARTY_NAMES, PRIMARY, type ReplicaPlan, SECONDARY, WITNESS } from './plan';
import { Rng } from './prng';
import { CAMPAIGN_RETRY_MS, KEEPALIVES_PER_TTL } from '../witness/store/etcd-leadership';
import { SimEtcd } from './sim-etcd';
import {
  type FencedWrite,
  newStoreContents,
  type SharedStore,
  type WitnessCall,
  WitnessNode,
  type WitnessNodeHooks,
} from './witness-node';
import type { World } from './world';

/** Replica episodes get their own stream, so that schedules without replicas replay as before. */
const REPLICA_EPISODE_DRAWS = 0x2e911ca5;

interface Replica {
  readonly index: number;
  readonly name: string;
  readonly rate: number;
  readonly offset: number;
  readonly node: WitnessNode;
  /** The process runs (as a candidate or as the leader). */
  alive: boolean;
  /** Process incarnation: timers and answers of an earlier one are dropped. */
  inc: number;
  /** The term it won, while it leads. */
  term: number | undefined;
  /** Its etcd lease, once granted (a new one at every start, and after the old one ran out). */
  lease: number | undefined;
  /** On its own clock: until when it may decide (the last answered keep-alive's bound). */
  validUntil: number;
  /** Real time until which the process is stopped (SIGSTOP). */
  pausedUntil: number;
  /** What the stopped process will do once it runs again, in order: requests, timers, answers. */
  deferred: (() => void)[];
  /** Real time until which its path to etcd is cut. */
  etcdCutUntil: number;
  /** Real time until which each sidecar (by party) cannot reach it. */
  readonly cutFrom: number[];
  /** SIGTERMed: it takes no new call, finishes its writes, resigns and exits. */
  stopping: boolean;
}

export class WitnessSite {
  readonly gen0: bigint;
  private readonly replicas: Replica[] = [];
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
      const node = new WitnessNode(world, network, config, hooks);
      this.gen0 = node.gen0;
      this.replicas.push(this.replica(0, 'W', 1, 0, node));
      this.etcd = undefined;
      return;
    }
    this.etcd = new SimEtcd(world, plan.ttlMs, plan.etcdRate);
    const probe = new WitnessNode(world, network, config, hooks);
    this.gen0 = probe.gen0;
    const shared: SharedStore = { contents: newStoreContents(this.gen0) };
    const rates = [world.plan.clockRates[WITNESS], ...plan.otherRates];
    for (let i = 0; i < rates.length; i += 1) {
      const rate = rates[i] as number;
      const offset = this.episodes.range(0, 1e6);
      const name = `W${i + 1}`;
      const role = {
        name,
        rate,
        now: () => rate * world.t + offset,
        mayDecide: (now: number) => this.mayDecide(this.replicas[i] as Replica, now),
        write: () => this.write(this.replicas[i] as Replica),
        onCrash: (downMs: number) => this.down(this.replicas[i] as Replica, downMs),
        whenRunning: (task: () => void) => this.whenRunning(this.replicas[i] as Replica, task),
      };
      this.replicas.push(
        this.replica(i, name, rate, offset, new WitnessNode(world, network, config, hooks, shared, role)),
      );
    }
    // With zones, the first replica is in the primary's zone and the second in the secondary's.
    const zone = (index: number): string => (plan.zones && index < 2 ? `z${index}` : '');
    const endpoints = this.replicas.map((r) => ({ address: r.name, zone: zone(r.index) }));
    for (const party of [PRIMARY, SECONDARY]) {
      this.lists[party] = new WitnessEndpoints(endpoints, zone(party), plan.probeEveryMs, 0);
    }
  }

  private replica(index: number, name: string, rate: number, offset: number, node: WitnessNode): Replica {
    const never = Number.NEGATIVE_INFINITY;
    return {
      index,
      name,
      rate,
      offset,
      node,
      alive: false,
      inc: 0,
      term: undefined,
      lease: undefined,
      validUntil: never,
      pausedUntil: never,
      deferred: [],
      etcdCutUntil: never,
      cutFrom: [never, never],
      stopping: false,
    };
  }

  private get single(): WitnessNode | undefined {
    return this.etcd === undefined ? this.replicas[0]?.node : undefined;
  }

  /** The replica that leads and serves now (the one whose election key exists), if any. */
  private leader(): Replica | undefined {
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
    for (const r of this.replicas) if (!r.alive) this.startCandidate(r, why);
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
      this.resume(r);
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
    if (asked && leader?.node.operatorIntentEnded() === true) return;
    const deciding = leader !== undefined && this.mayDecide(leader, this.clock(leader));
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
    else this.down(victim, downMs, `${why} (a candidate)`);
  }

  operate(input: OperatorInput): void {
    const target = this.single ?? this.leader()?.node ?? this.replicas[0]?.node;
    target?.operate(input);
  }

  inMaintenance(group: string, node: string): boolean {
    return (this.replicas[0] as Replica).node.inMaintenance(group, node);
  }

  isRemoved(group: string, node: string): boolean {
    return (this.replicas[0] as Replica).node.isRemoved(group, node);
  }

  receive(from: number, what: string, call: WitnessCall, answer: (a: LeaseAnswer__Output) => void, fail: Task): void {
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
      r.deferred.push(() => {
        if (r.inc === inc && r.alive) this.serve(r, from, what, call, answer, fail);
      });
      return;
    }
    this.serve(r, from, what, call, answer, fail);
  }

  private serve(
    r: Replica,
    from: number,
    what: string,
    call: WitnessCall,
    answer: (a: LeaseAnswer__Output) => void,
    fail: Task,
  ): void {
    const w = this.world;
    if (r.alive && r.node.up && !r.stopping) {
      r.node.receive(from, what, call, answer, () => {
        this.moveOn(from);
        fail();
      });
      return;
    }
    // Down (connection refused) or not leading (UNAVAILABLE, naming the leader): the list moves on.
    if (w.trace.on2)
      w.trace.log(2, r.name, `${what} from ${PARTY_NAMES[from]}: ${r.alive ? 'not leading' : 'down'}, refused`);
    this.moveOn(from);
    this.network.transmit(WITNESS, from, 'refusal', fail, undefined);
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
    const answers = r.alive && r.node.up && this.world.t >= r.pausedUntil && this.mayDecide(r, this.clock(r));
    if (answers) list.preferredAnswered();
  }

  private replicaNamed(name: string): Replica {
    return this.replicas.find((r) => r.name === name) as Replica;
  }

  // ---- a replica's candidacy and leadership -------------------------------------------------

  private mayDecide(r: Replica, now: number): boolean {
    return r.alive && r.term !== undefined && now < r.validUntil;
  }

  private write(r: Replica): FencedWrite {
    if (this.world.t < r.etcdCutUntil) return 'unreachable';
    return r.term !== undefined && (this.etcd as SimEtcd).fenced(r.term) ? 'landed' : 'fenced';
  }

  private startCandidate(r: Replica, why: string): void {
    const w = this.world;
    r.alive = true;
    r.inc += 1;
    r.term = undefined;
    r.lease = undefined;
    r.stopping = false;
    r.validUntil = Number.NEGATIVE_INFINITY;
    if (w.trace.on1) w.trace.log(1, r.name, `replica starts as a candidate (${why})`);
    const inc = r.inc;
    this.every(r, inc, (this.ttlMs() / KEEPALIVES_PER_TTL) * r.rate, () => this.keepAlive(r, inc));
    this.every(r, inc, CAMPAIGN_RETRY_MS, () => this.campaign(r, inc));
    this.campaign(r, inc);
  }

  /** The process died or exited; it starts again as a candidate `downMs` later (unless healed first). */
  private down(r: Replica, downMs: number, why?: string): void {
    const w = this.world;
    if (!r.alive) return;
    if (why !== undefined && w.trace.on1)
      w.trace.log(1, r.name, `replica CRASHES (${why}); down for ${downMs.toFixed(1)}ms`);
    r.alive = false;
    r.inc += 1;
    r.term = undefined;
    const inc = r.inc;
    w.at(w.t + downMs, () => {
      if (!r.alive && r.inc === inc) this.startCandidate(r, 'restart');
    });
  }

  /** Runs `task` every `periodMs` of the replica's clock while this incarnation lives; late while paused. */
  private every(r: Replica, inc: number, periodMs: number, task: () => void): void {
    const w = this.world;
    const tick = (): void => {
      if (r.inc !== inc || !r.alive) return;
      if (w.t < r.pausedUntil) {
        r.deferred.push(tick);
        return;
      }
      task();
      w.at(w.t + periodMs / r.rate, tick);
    };
    w.at(w.t + periodMs / r.rate, tick);
  }

  private keepAlive(r: Replica, inc: number): void {
    const lease = r.lease;
    if (lease === undefined) return;
    const sentAt = this.clock(r);
    const etcd = this.etcd as SimEtcd;
    this.roundTrip(
      r,
      inc,
      () => etcd.keepAlive(lease),
      (alive) => {
        if (alive) {
          this.extend(r, sentAt);
        } else if (r.term !== undefined) {
          // TTL 0: the lease is gone, and with it the leadership; the witness exits and restarts.
          const why = 'exits: its election lease expired in etcd';
          if (r.node.up) r.node.crash(why, this.world.fault.range(1, 500));
          else this.down(r, this.world.fault.range(1, 500), why);
        } else if (r.lease === lease) {
          // A candidate's lease ran out while it waited: the next attempt takes a new one.
          r.lease = undefined;
        }
      },
    );
  }

  private campaign(r: Replica, inc: number): void {
    if (r.term !== undefined) return;
    const etcd = this.etcd as SimEtcd;
    const sentAt = this.clock(r);
    const lease = r.lease;
    if (lease === undefined) {
      this.roundTrip(
        r,
        inc,
        () => etcd.grant(),
        (granted) => {
          if (r.lease !== undefined) return;
          r.lease = granted;
          this.extend(r, sentAt);
        },
      );
      return;
    }
    this.roundTrip(
      r,
      inc,
      () => etcd.campaign(lease),
      (term) => {
        // A lease found gone while the campaign flew took the key with it: no leadership.
        if (term === undefined || r.term !== undefined || r.lease !== lease) return;
        r.term = term;
        if (this.world.trace.on1) this.world.trace.log(1, r.name, `elected (term ${term})`);
        r.node.start(false, 'elected');
      },
    );
  }

  private extend(r: Replica, sentAt: number): void {
    const bound = electionLeaseEnd(sentAt, this.ttlMs(), this.world.plan.witness.bounds);
    r.validUntil = Math.max(r.validUntil, bound);
  }

  /**
   * A request from replica `r` to etcd and its answer, each one delay (or none: a cut path);
   * the answer is handled only by the same incarnation, after a pause ends.
   */
  private roundTrip<T>(r: Replica, inc: number, atEtcd: () => T, onAnswer: (value: T) => void): void {
    const w = this.world;
    const delay = (): number => w.net.range(0.1, (w.plan.replicas as ReplicaPlan).etcdDelayMaxMs);
    if (w.t < r.etcdCutUntil) return;
    w.at(w.t + delay(), () => {
      if (w.t < r.etcdCutUntil) return;
      const value = atEtcd();
      w.at(w.t + delay(), () => {
        const handle = (): void => {
          if (r.inc !== inc || !r.alive) return;
          if (w.t < r.pausedUntil) r.deferred.push(handle);
          else onAnswer(value);
        };
        if (w.t >= r.etcdCutUntil) handle();
      });
    });
  }

  private whenRunning(r: Replica, task: () => void): void {
    if (this.world.t < r.pausedUntil) r.deferred.push(task);
    else task();
  }

  /**
   * SIGTERM of a replica (the production witness's stop): it takes no new call, lets the calls in
   * flight finish and their writes land, then revokes its lease, which deletes the election key at
   * once (unless its path to etcd is cut: then the lease expires by itself), and exits.
   */
  private resign(r: Replica, inc: number, downMs: number): void {
    const w = this.world;
    r.stopping = true;
    if (w.trace.on1) w.trace.log(1, r.name, 'SIGTERM: finishing its calls, then resigning');
    const finish = (): void => {
      if (r.inc !== inc || !r.alive) return;
      const settled = r.node.writesSettleAt();
      if (settled > w.t) {
        w.at(settled, finish);
        return;
      }
      const lease = r.lease;
      if (lease !== undefined)
        this.roundTrip(
          r,
          inc,
          () => (this.etcd as SimEtcd).revoke(lease),
          () => undefined,
        );
      r.node.crash('exits after resigning', downMs);
    };
    this.whenRunning(r, finish);
  }

  /** The process runs again (its pause is over): what it was to do happens now, in order. */
  private resume(r: Replica): void {
    if (this.world.t < r.pausedUntil) return;
    const deferred = r.deferred.splice(0);
    for (const task of deferred) task();
  }

  private clock(r: Replica): number {
    return r.rate * this.world.t + r.offset;
  }

  private ttlMs(): number {
    return (this.world.plan.replicas as ReplicaPlan).ttlMs;
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
      if (r.node.up && !r.stopping) this.resign(r, r.inc, lengthMs);
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
      w.at(r.pausedUntil, () => this.resume(r));
    }
  }
}
