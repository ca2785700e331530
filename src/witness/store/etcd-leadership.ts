/**
 * One witness replica's candidacy and leadership over etcd (design §20.1, §20.2). The replica holds
 * an etcd lease of `ttlSeconds` and campaigns by creating the election key under it, only if the
 * key is absent; the key's create revision then names this leadership, and every write of the
 * store compares it (`fence()`), so a deposed leader's write fails.
 *
 * It may decide only until its election lease might have run out: counted from the send time of
 * the last keep-alive etcd answered (electionLeaseEnd in src/core/lease.ts), so a leader that is
 * paused, cut off from etcd or slow stops on its own before another replica can be elected. A
 * keep-alive answered with TTL 0 (the lease is gone) or a fenced write that fails ends the
 * leadership for good: the witness stops and is restarted as a candidate.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallOptions } from '@grpc/grpc-js';
import type { Etcd3, ICompare, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import { type DriftBounds, electionLeaseEnd } from '../../core/lease';
import { StoreHoldLostError } from './witness-store';

/** Keep-alives per TTL: one lost or slow keep-alive costs a sixth of the time left to decide. */
export const KEEPALIVES_PER_TTL = 6;
/**
 * Keep-alives sent and not answered after which the stream is taken as dead and reopened (a third
 * of the TTL): the reopened stream's first keep-alive goes out at once, with most of the time to
 * decide still left.
 */
const MAX_UNANSWERED_KEEPALIVES = 2;
/** How often a candidate tries the election key again while another replica leads. */
export const CAMPAIGN_RETRY_MS = 200;

export class LeadershipLostError extends StoreHoldLostError {
  constructor(detail: string) {
    super(`lost the etcd leadership (${detail}): another witness replica may be leading`);
    this.name = 'LeadershipLostError';
  }
}

export interface LeadershipOptions {
  readonly client: Etcd3;
  /** The election key, with the deployment's prefix. */
  readonly key: Buffer;
  /** What the key holds while this replica leads: its address, for the others to point to. */
  readonly candidate: string;
  readonly ttlSeconds: number;
  readonly bounds: DriftBounds;
  /** The monotonic clock every time here is on. */
  readonly now: () => number;
  /** Options of each unary etcd call (its deadline). */
  readonly callOptions: () => CallOptions;
  /** Told who leads whenever that changes while this replica waits; '' while nobody does. */
  readonly onWaiting: (leader: string) => void;
  /** Told why an etcd call failed (a campaign, a keep-alive stream, the revoke); it is retried or left to expire. */
  readonly onEtcdError: (error: unknown) => void;
}

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

export class EtcdLeadership {
  private leaseId: string | undefined;
  /** The election key's create revision once this replica leads. */
  private createRevision: string | undefined;
  private validUntil = Number.NEGATIVE_INFINITY;
  private lost: LeadershipLostError | undefined;
  private closed = false;
  private stream: KeepAliveStream | undefined;
  private openingStream = false;
  /** Send times of the keep-alives in flight on the stream, oldest first (answers come in order). */
  private unanswered: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LeadershipOptions) {
    this.timer = setInterval(() => this.keepAlive(), (options.ttlSeconds * 1000) / KEEPALIVES_PER_TTL);
    this.timer.unref();
  }

  /** Resolves once this replica leads; waits, retrying, as long as another one does. */
  async campaign(): Promise<void> {
    const { client, key, candidate } = this.options;
    let leader: string | undefined;
    while (!this.closed) {
      try {
        const leaseId = await this.ensureLease();
        const result = await client.kv.txn(
          {
            compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
            success: [{ request_put: { key, value: Buffer.from(candidate), lease: leaseId } }],
            failure: [{ request_range: { key } }],
          },
          this.options.callOptions(),
        );
        if (result.succeeded && this.won(leaseId, result.header.revision)) return;
        const holder = result.responses[0]?.response_range.kvs[0];
        // An earlier attempt that etcd applied but whose answer was lost: the key is under this lease.
        if (holder !== undefined && holder.lease === leaseId && this.won(leaseId, holder.create_revision)) return;
        const current = holder?.value.toString() ?? '';
        if (current !== leader) this.options.onWaiting(current);
        leader = current;
      } catch (error) {
        this.options.onEtcdError(error);
      }
      await sleep(CAMPAIGN_RETRY_MS);
    }
    throw new Error('the witness stopped before it was elected');
  }

  /**
   * The key was created under `leaseId`. If that lease was found gone meanwhile (a keep-alive
   * answered TTL 0 while the transaction flew), so is the key: no leadership, campaign again.
   */
  private won(leaseId: string, createRevision: string): boolean {
    if (this.leaseId !== leaseId) return false;
    this.createRevision = createRevision;
    return true;
  }

  /** The comparison every write of the store carries: the election key is still this leadership's. */
  fence(): ICompare[] {
    if (this.createRevision === undefined) throw new Error('not leading: nothing may be written');
    return [{ key: this.options.key, target: 'Create', result: 'Equal', create_revision: this.createRevision }];
  }

  /** Throws the LeadershipLostError once the leadership is known to be over. */
  verify(): void {
    if (this.lost !== undefined) throw this.lost;
    if (this.closed || this.createRevision === undefined) throw new Error('not leading');
  }

  /** A fenced write failed its comparison: someone else holds the election key. Final. */
  lose(detail: string): LeadershipLostError {
    this.lost ??= new LeadershipLostError(detail);
    return this.lost;
  }

  decidesUntil(): number {
    const leading = this.lost === undefined && !this.closed && this.createRevision !== undefined;
    return leading ? this.validUntil : Number.NEGATIVE_INFINITY;
  }

  /** Stops the keep-alives and revokes the lease, which deletes the election key: the next replica is elected at once. */
  async resign(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.dropStream();
    const id = this.leaseId;
    this.leaseId = undefined;
    if (id === undefined) return;
    // Left to expire when etcd cannot be reached: the next leader waits for that.
    await this.options.client.leaseClient
      .leaseRevoke({ ID: id }, this.options.callOptions())
      .catch((error: unknown) => this.options.onEtcdError(error));
  }

  private async ensureLease(): Promise<string> {
    if (this.leaseId !== undefined) return this.leaseId;
    const sentAt = this.options.now();
    const granted = await this.options.client.leaseClient.leaseGrant(
      { TTL: this.options.ttlSeconds },
      this.options.callOptions(),
    );
    this.leaseId = granted.ID;
    this.unanswered = [];
    this.dropStream();
    this.extend(sentAt, Number(granted.TTL));
    return granted.ID;
  }

  private keepAlive(): void {
    if (this.leaseId === undefined || this.closed || this.lost !== undefined) return;
    if (this.unanswered.length >= MAX_UNANSWERED_KEEPALIVES) this.dropStream();
    if (this.stream === undefined) void this.openStream();
    else this.send();
  }

  private send(): void {
    if (this.stream === undefined || this.leaseId === undefined || this.closed || this.lost !== undefined) return;
    this.unanswered.push(this.options.now());
    this.stream.write({ ID: this.leaseId });
  }

  private async openStream(): Promise<void> {
    if (this.openingStream) return;
    this.openingStream = true;
    try {
      const stream = await this.options.client.leaseClient.leaseKeepAlive();
      if (this.closed) {
        stream.on('error', () => undefined);
        stream.cancel();
        return;
      }
      stream.on('data', (answer: ILeaseKeepAliveResponse) => {
        if (this.stream === stream) this.answered(answer);
      });
      const ended = (): void => {
        if (this.stream === stream) this.dropStream();
      };
      stream.on('error', ended);
      stream.on('end', ended);
      this.stream = stream;
      this.unanswered = [];
      this.send();
    } catch (error) {
      // etcd unreachable: the next keep-alive tries again, and the time to decide runs down meanwhile.
      this.options.onEtcdError(error);
    } finally {
      this.openingStream = false;
    }
  }

  private answered(answer: ILeaseKeepAliveResponse): void {
    const sentAt = this.unanswered.shift();
    if (sentAt === undefined || answer.ID !== this.leaseId) return;
    const ttl = Number(answer.TTL);
    if (ttl > 0) {
      this.extend(sentAt, ttl);
    } else if (this.createRevision !== undefined) {
      this.lose('the election lease expired in etcd');
    } else {
      // A candidate's lease ran out while it waited: the next attempt takes a new one.
      this.leaseId = undefined;
      this.validUntil = Number.NEGATIVE_INFINITY;
    }
  }

  private extend(sentAt: number, grantedTtlSeconds: number): void {
    const ttlMs = Math.min(grantedTtlSeconds, this.options.ttlSeconds) * 1000;
    this.validUntil = Math.max(this.validUntil, electionLeaseEnd(sentAt, ttlMs, this.options.bounds));
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.unanswered = [];
    // Its listeners stay: they ignore a stream that is no longer the current one.
    stream?.cancel();
  }
}
