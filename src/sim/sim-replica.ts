/**
 * One witness replica process over the simulated etcd (design §20): its candidacy and leadership,
 * as the production EtcdLeadership and EtcdStore rule them. It takes a new etcd lease at every
 * start and keeps it alive every TTL/6, campaigns every 200 ms, may decide only before
 * electionLeaseEnd of its last answered keep-alive, writes through the fence, and exits when a
 * keep-alive answers TTL 0. Stopped (SIGSTOP), it does what it was to do once it runs again. It is
 * the ReplicaRole of its WitnessNode (the production service and Arbiter); witness-site.ts routes
 * the sidecars to it and draws its faults.
 */
import { electionLeaseEnd } from '../core/lease';
import { CAMPAIGN_RETRY_MS, KEEPALIVES_PER_TTL } from '../witness/store/etcd-leadership';
import type { ReplicaPlan } from './plan-replicas';
import type { SimEtcd } from './sim-etcd';
import type { FencedWrite, ReplicaRole } from './replica-role';
import type { WitnessNode } from './witness-node';
import type { World } from './world';

export class SimReplica implements ReplicaRole {
  readonly node: WitnessNode;
  /** The process runs (as a candidate or as the leader). */
  alive = false;
  /** Process incarnation: timers and answers of an earlier one are dropped. */
  inc = 0;
  /** The term it won, while it leads. */
  term: number | undefined;
  /** Its etcd lease, once granted (a new one at every start, and after the old one ran out). */
  lease: number | undefined;
  /** On its own clock: until when it may decide (the last answered keep-alive's bound). */
  private validUntil = Number.NEGATIVE_INFINITY;
  /** Real time until which the process is stopped (SIGSTOP). */
  pausedUntil = Number.NEGATIVE_INFINITY;
  /** What the stopped process will do once it runs again, in order: requests, timers, answers. */
  private readonly deferred: (() => void)[] = [];
  /** Real time until which its path to etcd is cut. */
  etcdCutUntil = Number.NEGATIVE_INFINITY;
  /** Real time until which each sidecar (by party) cannot reach it. */
  readonly cutFrom = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  /** SIGTERMed: it takes no new call, finishes its writes, resigns and exits. */
  stopping = false;
  private readonly ttlMs: number;

  constructor(
    private readonly world: World,
    private readonly etcd: SimEtcd,
    readonly index: number,
    readonly name: string,
    readonly rate: number,
    private readonly offset: number,
    witnessNode: (role: ReplicaRole) => WitnessNode,
  ) {
    this.ttlMs = (world.plan.replicas as ReplicaPlan).ttlMs;
    this.node = witnessNode(this);
  }

  /** The process died (or exited: a lost leadership): a candidate again `downMs` later. */
  onCrash(downMs: number): void {
    this.down(downMs);
  }

  mayDecide(now: number): boolean {
    return this.alive && this.term !== undefined && now < this.validUntil;
  }

  write(): FencedWrite {
    if (this.world.t < this.etcdCutUntil) return 'unreachable';
    return this.term !== undefined && this.etcd.fenced(this.term) ? 'landed' : 'fenced';
  }

  startCandidate(why: string): void {
    const w = this.world;
    this.alive = true;
    this.inc += 1;
    this.term = undefined;
    this.lease = undefined;
    this.stopping = false;
    this.validUntil = Number.NEGATIVE_INFINITY;
    if (w.trace.on1) w.trace.log(1, this.name, `replica starts as a candidate (${why})`);
    const inc = this.inc;
    this.every(inc, (this.ttlMs / KEEPALIVES_PER_TTL) * this.rate, () => this.keepAlive(inc));
    this.every(inc, CAMPAIGN_RETRY_MS, () => this.campaign(inc));
    this.campaign(inc);
  }

  /** The process died or exited; it starts again as a candidate `downMs` later (unless healed first). */
  down(downMs: number, why?: string): void {
    const w = this.world;
    if (!this.alive) return;
    if (why !== undefined && w.trace.on1)
      w.trace.log(1, this.name, `replica CRASHES (${why}); down for ${downMs.toFixed(1)}ms`);
    this.alive = false;
    this.inc += 1;
    this.term = undefined;
    const inc = this.inc;
    w.at(w.t + downMs, () => {
      if (!this.alive && this.inc === inc) this.startCandidate('restart');
    });
  }

  /** Runs `task` every `periodMs` of the replica's clock while this incarnation lives; late while paused. */
  private every(inc: number, periodMs: number, task: () => void): void {
    const w = this.world;
    const tick = (): void => {
      if (this.inc !== inc || !this.alive) return;
      if (w.t < this.pausedUntil) {
        this.deferred.push(tick);
        return;
      }
      task();
      w.at(w.t + periodMs / this.rate, tick);
    };
    w.at(w.t + periodMs / this.rate, tick);
  }

  private keepAlive(inc: number): void {
    const lease = this.lease;
    if (lease === undefined) return;
    const sentAt = this.now();
    const etcd = this.etcd;
    this.roundTrip(
      inc,
      () => etcd.keepAlive(lease),
      (alive) => {
        if (alive) {
          this.extend(sentAt);
        } else if (this.term !== undefined) {
          // TTL 0: the lease is gone, and with it the leadership; the witness exits and restarts.
          const why = 'exits: its election lease expired in etcd';
          if (this.node.up) this.node.crash(why, this.world.fault.range(1, 500));
          else this.down(this.world.fault.range(1, 500), why);
        } else if (this.lease === lease) {
          // A candidate's lease ran out while it waited: the next attempt takes a new one.
          this.lease = undefined;
        }
      },
    );
  }

  private campaign(inc: number): void {
    if (this.term !== undefined) return;
    const etcd = this.etcd;
    const sentAt = this.now();
    const lease = this.lease;
    if (lease === undefined) {
      this.roundTrip(
        inc,
        () => etcd.grant(),
        (granted) => {
          if (this.lease !== undefined) return;
          this.lease = granted;
          this.extend(sentAt);
        },
      );
      return;
    }
    this.roundTrip(
      inc,
      () => etcd.campaign(lease),
      (term) => {
        // A lease found gone while the campaign flew took the key with it: no leadership.
        if (term === undefined || this.term !== undefined || this.lease !== lease) return;
        this.term = term;
        if (this.world.trace.on1) this.world.trace.log(1, this.name, `elected (term ${term})`);
        this.node.start(false, 'elected');
      },
    );
  }

  private extend(sentAt: number): void {
    const bound = electionLeaseEnd(sentAt, this.ttlMs, this.world.plan.witness.bounds);
    this.validUntil = Math.max(this.validUntil, bound);
  }

  /**
   * A request from replica `r` to etcd and its answer, each one delay (or none: a cut path);
   * the answer is handled only by the same incarnation, after a pause ends.
   */
  private roundTrip<T>(inc: number, atEtcd: () => T, onAnswer: (value: T) => void): void {
    const w = this.world;
    const delay = (): number => w.net.range(0.1, (w.plan.replicas as ReplicaPlan).etcdDelayMaxMs);
    if (w.t < this.etcdCutUntil) return;
    w.at(w.t + delay(), () => {
      if (w.t < this.etcdCutUntil) return;
      const value = atEtcd();
      w.at(w.t + delay(), () => {
        const handle = (): void => {
          if (this.inc !== inc || !this.alive) return;
          if (w.t < this.pausedUntil) this.deferred.push(handle);
          else onAnswer(value);
        };
        if (w.t >= this.etcdCutUntil) handle();
      });
    });
  }

  whenRunning(task: () => void): void {
    if (this.world.t < this.pausedUntil) this.deferred.push(task);
    else task();
  }

  /**
   * SIGTERM of a replica (the production witness's stop): it takes no new call, lets the calls in
   * flight finish and their writes land, then revokes its lease, which deletes the election key at
   * once (unless its path to etcd is cut: then the lease expires by itself), and exits.
   */
  resign(inc: number, downMs: number): void {
    const w = this.world;
    this.stopping = true;
    if (w.trace.on1) w.trace.log(1, this.name, 'SIGTERM: finishing its calls, then resigning');
    const finish = (): void => {
      if (this.inc !== inc || !this.alive) return;
      const settled = this.node.writesSettleAt();
      if (settled > w.t) {
        w.at(settled, finish);
        return;
      }
      const lease = this.lease;
      if (lease !== undefined)
        this.roundTrip(
          inc,
          () => this.etcd.revoke(lease),
          () => undefined,
        );
      this.node.crash('exits after resigning', downMs);
    };
    this.whenRunning(finish);
  }

  /** The process runs again (its pause is over): what it was to do happens now, in order. */
  resume(): void {
    if (this.world.t < this.pausedUntil) return;
    const deferred = this.deferred.splice(0);
    for (const task of deferred) task();
  }

  now(): number {
    return this.rate * this.world.t + this.offset;
  }
}
