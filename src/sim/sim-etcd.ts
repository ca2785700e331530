/**
 * The etcd cluster under witness replicas (design §20), as far as the replicas can tell it apart:
 * leases, each expiring on etcd's own clock TTL after the last keep-alive etcd took; the election
 * key, created under one lease and gone with it; and the fence a store write compares (the key's
 * create revision, here a term number). A replica process takes a new lease at every start, so a
 * restarted leader waits out its old key like any other candidate. etcd itself is one reliable
 * party with a clock of its own; what fails is each replica's path to it.
 */
import type { World } from './world';

export class SimEtcd {
  /** Lease id -> real time at which etcd revokes it, counted on etcd's clock. */
  private readonly leases = new Map<number, number>();
  private leaseIds = 0;
  /** The lease the election key was created under, while the key exists. */
  private keyLease: number | undefined;
  /** The election key's create revision: a new one at every election. */
  private term = 0;

  constructor(
    private readonly world: World,
    private readonly ttlMs: number,
    /** etcd's clock rate against real time. */
    private readonly rate: number,
  ) {}

  /** A lease is granted at etcd now; its id. */
  grant(): number {
    this.leaseIds += 1;
    this.leases.set(this.leaseIds, this.world.t + this.ttlMs / this.rate);
    return this.leaseIds;
  }

  /** A keep-alive reaches etcd: extended when the lease still lives; false when it is gone (TTL 0). */
  keepAlive(lease: number): boolean {
    if (!this.lives(lease)) return false;
    this.leases.set(lease, this.world.t + this.ttlMs / this.rate);
    return true;
  }

  /** A revoke reaches etcd: the lease goes at once, and the election key with it. */
  revoke(lease: number): void {
    this.leases.delete(lease);
  }

  /** A campaign's transaction reaches etcd: the term won when the key is free and the lease lives. */
  campaign(lease: number): number | undefined {
    if (!this.lives(lease)) return undefined;
    const holder = this.keyHolder();
    if (holder !== undefined) return holder === lease ? this.term : undefined;
    this.keyLease = lease;
    this.term += 1;
    return this.term;
  }

  /** A fenced write reaches etcd: it lands only under the current term while its key exists. */
  fenced(term: number): boolean {
    return term === this.term && this.keyHolder() !== undefined;
  }

  /** The lease whose election key exists now, if any. */
  keyHolder(): number | undefined {
    return this.keyLease !== undefined && this.lives(this.keyLease) ? this.keyLease : undefined;
  }

  /** Real time at which the current key goes by itself, if no keep-alive extends it (now when none). */
  keyExpiresAt(): number {
    const holder = this.keyHolder();
    return holder === undefined ? this.world.t : (this.leases.get(holder) as number);
  }

  private lives(lease: number): boolean {
    const expiresAt = this.leases.get(lease);
    return expiresAt !== undefined && this.world.t < expiresAt;
  }
}
