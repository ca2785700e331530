/**
 * The witness store over an etcd cluster (design §20), for witness replicas that survive the loss
 * of a machine. Under the deployment's prefix:
 *
 *   PREFIX leader        the election key, under the leader's etcd lease (etcd-leadership.ts)
 *   PREFIX meta          the generation and longest lease (the file store's store.json format)
 *   PREFIX groups/<id>   one group's holder and epoch (the file store's group format)
 *
 * `open` waits until this replica is elected, then reads everything in one transaction. Every
 * write is a transaction that compares the election key's create revision (the fence), so only
 * the current leader's writes land; with that single writer, a put's precondition is checked
 * against what this leader loaded and wrote, as the file store does (acknowledged-records.ts).
 * Renewals stay in memory: a renewal costs etcd nothing, a grant or a release one transaction.
 */
import { performance } from 'node:perf_hooks';
import type { CallOptions } from '@grpc/grpc-js';
import type { Etcd3, IKeyValue, IRequestOp } from 'etcd3';
import type { DriftBounds } from '../../core/lease';
import type { DurableGroup, DurableWrite } from '../../core/witness/types';
import { AcknowledgedRecords } from './acknowledged-records';
import { CoalescedTask } from './coalesced-task';
import { EtcdLeadership } from './etcd-leadership';
import { checkedWallClock, newStoreGeneration, openGeneration } from './open-generation';
import { PerKeyOrder } from './per-key-order';
import { formatGroup, formatMeta, LAST_GENERATION, parseGroup, parseMeta } from './store-formats';
import {
  StoreCorruptError,
  StoreWriteError,
  type StoreContents,
  type StoreOpenOptions,
  type WitnessStore,
} from './witness-store';

/** The deadline of each etcd call: a grant waits no longer for its write. */
export const ETCD_CALL_TIMEOUT_MS = 2_000;

export interface EtcdStoreOptions {
  /** Closed by close(). */
  readonly client: Etcd3;
  /** Keys of this deployment start with it; ends with '/'. */
  readonly prefix: string;
  /** This replica's address, in the election key while it leads. */
  readonly candidate: string;
  readonly electionTtlSeconds: number;
  readonly bounds: DriftBounds;
  readonly now?: () => number;
  readonly wallClockMs?: () => number;
  readonly onWaiting?: (leader: string) => void;
  readonly onEtcdError?: (error: unknown) => void;
}

interface Meta {
  generation: bigint;
  longestLeaseMs: number;
  createdAt: string;
}

export class EtcdStore implements WitnessStore {
  readonly holdName = 'the etcd leadership';
  private readonly client: Etcd3;
  private readonly leadership: EtcdLeadership;
  private readonly wallClock: () => number;
  private readonly keys: { readonly meta: Buffer; readonly groups: string };
  private state: 'new' | 'open' | 'closed' = 'new';
  private meta: Meta = { generation: 0n, longestLeaseMs: 0, createdAt: '' };
  private durableGeneration = 0n;
  private acknowledged = new AcknowledgedRecords();
  private readonly writes = new PerKeyOrder();
  private readonly metaWrite = new CoalescedTask(() => this.writeMeta());

  constructor(private readonly options: EtcdStoreOptions) {
    if (!options.prefix.endsWith('/')) throw new Error(`etcd prefix ${options.prefix} must end with '/'`);
    this.client = options.client;
    this.wallClock = checkedWallClock(options.wallClockMs ?? Date.now);
    this.keys = { meta: Buffer.from(`${options.prefix}meta`), groups: `${options.prefix}groups/` };
    this.leadership = new EtcdLeadership({
      client: options.client,
      key: Buffer.from(`${options.prefix}leader`),
      candidate: options.candidate,
      ttlSeconds: options.electionTtlSeconds,
      bounds: options.bounds,
      now: options.now ?? (() => performance.now()),
      callOptions: etcdCallOptions,
      onWaiting: options.onWaiting ?? (() => undefined),
      onEtcdError: options.onEtcdError ?? (() => undefined),
    });
  }

  async open(options: StoreOpenOptions): Promise<StoreContents> {
    if (this.state !== 'new') throw new Error('the etcd store was already opened');
    await this.leadership.campaign();
    try {
      return await this.load(options);
    } catch (error) {
      await this.leadership.resign();
      throw error;
    }
  }

  async put(write: DurableWrite): Promise<void> {
    this.requireOpen();
    const { record } = write;
    const value = Buffer.from(formatGroup(record));
    return this.writes.run(record.group, async () => {
      this.leadership.verify();
      this.acknowledged.check(write);
      await this.fenced([{ request_put: { key: this.groupKey(record.group), value } }]);
      this.acknowledged.written(record);
    });
  }

  async raiseGeneration(generation: bigint): Promise<void> {
    this.requireOpen();
    if (generation > LAST_GENERATION) throw new Error(`generation ${generation} is out of range`);
    if (generation <= this.durableGeneration) return;
    this.leadership.verify();
    if (generation > this.meta.generation) this.meta.generation = generation;
    await this.metaWrite.run().catch((error: unknown) => {
      throw new StoreWriteError(error);
    });
    if (this.durableGeneration < generation) throw new StoreWriteError('etcd did not take the new generation');
  }

  async forget(group: string): Promise<void> {
    this.requireOpen();
    return this.writes.run(group, async () => {
      this.leadership.verify();
      await this.fenced([{ request_delete_range: { key: this.groupKey(group) } }]);
      this.acknowledged.removed(group);
    });
  }

  confirmHold(): void {
    this.requireOpen();
    this.leadership.verify();
  }

  async probeWrite(): Promise<void> {
    this.requireOpen();
    try {
      await this.fenced([]);
    } catch (error) {
      throw new StoreWriteError(error);
    }
  }

  mayDecide(at: number): boolean {
    return at < this.decidesUntil();
  }

  decidesUntil(): number {
    return this.state === 'open' ? this.leadership.decidesUntil() : Number.NEGATIVE_INFINITY;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    if (wasOpen) await this.writes.settled();
    await this.leadership.resign();
    this.client.close();
  }

  private requireOpen(): void {
    if (this.state !== 'open') throw new Error(`the etcd store is ${this.state === 'new' ? 'not open' : 'closed'}`);
  }

  private groupKey(group: string): Buffer {
    return Buffer.from(this.keys.groups + group);
  }

  /** A transaction that lands only while this replica leads; a failed comparison ends the leadership. */
  private async fenced(success: IRequestOp[]): Promise<void> {
    const result = await this.client.kv.txn({ compare: this.leadership.fence(), success }, etcdCallOptions());
    if (!result.succeeded) throw this.leadership.lose('the election key is gone or belongs to another replica');
  }

  private async load(options: StoreOpenOptions): Promise<StoreContents> {
    const [metaKv, groupKvs] = await this.readAll();
    const groupRecords = groupKvs.map((kv) => this.parseGroupKv(kv));
    const records = groupRecords.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    this.acknowledged = new AcknowledgedRecords(records);
    const metaPath = `etcd ${this.keys.meta.toString()}`;
    if (metaKv === undefined) {
      if (records.length > 0)
        throw new StoreCorruptError(metaPath, `missing, but ${this.keys.groups} holds group records`);
      const created = newStoreGeneration(this.wallClock());
      this.meta = { ...created, longestLeaseMs: options.longestLeaseMs };
      await this.writeMeta();
      this.state = 'open';
      return this.contents(0, [], 'new-etcd-prefix', 0);
    }
    const stored = parseMeta(metaPath, metaKv.value.toString());
    const opened = await openGeneration(
      stored.generation,
      records.map((r) => r.epoch),
      this.wallClock,
    );
    this.meta = {
      generation: opened.generation,
      longestLeaseMs: Math.max(stored.longestLeaseMs, options.longestLeaseMs),
      createdAt: stored.createdAt,
    };
    // The new generation and the longest lease are durable before anything is granted under them.
    await this.writeMeta();
    this.state = 'open';
    return this.contents(stored.longestLeaseMs, records, 'existing', opened.wallClockBehindMs);
  }

  private contents(
    longestEarlierLeaseMs: number,
    records: DurableGroup[],
    origin: StoreContents['origin'],
    wallClockBehindMs: number,
  ): StoreContents {
    // A deposed leader stops deciding before its election lease can run out, and this replica was
    // elected only once that lease was gone: nothing overlaps (design §20.4).
    const previousHolderOverlapMs = 0;
    const generation = this.meta.generation;
    return {
      generation,
      longestEarlierLeaseMs,
      records,
      missingGroups: [],
      origin,
      wallClockBehindMs,
      previousHolderOverlapMs,
    };
  }

  /** The meta key and every group record, at one revision, read only while this replica leads. */
  private async readAll(): Promise<[IKeyValue | undefined, IKeyValue[]]> {
    const groups = Buffer.from(this.keys.groups);
    const result = await this.client.kv.txn(
      {
        compare: this.leadership.fence(),
        success: [
          { request_range: { key: this.keys.meta } },
          { request_range: { key: groups, range_end: prefixEnd(groups) } },
        ],
      },
      etcdCallOptions(),
    );
    if (!result.succeeded) throw this.leadership.lose('the election key changed while the store was read');
    const [meta, records] = result.responses;
    return [meta?.response_range.kvs[0], records?.response_range.kvs ?? []];
  }

  private parseGroupKv(kv: IKeyValue): DurableGroup {
    const key = kv.key.toString();
    return parseGroup(`etcd ${key}`, key.slice(this.keys.groups.length), kv.value.toString());
  }

  private async writeMeta(): Promise<void> {
    const { generation } = this.meta;
    const value = Buffer.from(formatMeta({ ...this.meta, groups: [] }));
    await this.fenced([{ request_put: { key: this.keys.meta, value } }]);
    if (generation > this.durableGeneration) this.durableGeneration = generation;
  }
}

/** The options of every unary etcd call: its deadline. */
export function etcdCallOptions(): CallOptions {
  return { deadline: Date.now() + ETCD_CALL_TIMEOUT_MS };
}

/** The end of the range of keys that start with `prefix` (etcd's convention: the prefix plus one). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i -= 1) {
    if (end[i] !== 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
