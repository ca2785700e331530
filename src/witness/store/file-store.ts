/**
 * The default witness store: one directory, one small JSON file per group, each replaced
 * atomically (temp file, fsync, rename, fsync of the directory) so that a put that resolved
 * survives a crash and a put that did not leaves the previous record intact.
 *
 *   DATA/witness.lock         the owner of the directory (data-dir-lock.ts): one witness per store
 *   DATA/store.json           the store's generation, longest lease and groups (store-formats.ts)
 *   DATA/groups/g-<id>.json   one group's holder and epoch (store-formats.ts)
 *
 * store.json is the store-wide high-water mark: its generation rises at every open above every
 * recorded epoch (src/core/epoch.ts), so a group file that goes missing cannot bring its old
 * epochs back; `groups` lists the groups the store knows, so a missing one is reported at start.
 * Directory fsyncs and store.json rewrites are group-committed (coalesced-task.ts): a burst of
 * grants costs a few of them, not one each.
 *
 * The `g-` prefix keeps the ids "." and ".." from naming directories.
 */
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DurableGroup, DurableWrite } from '../../core/witness/types';
import { AcknowledgedRecords } from './acknowledged-records';
import { CoalescedTask } from './coalesced-task';
import { DataDirLock, LOCK_LEASE_MS } from './data-dir-lock';
import {
  errorCode,
  makeDirectory,
  readIfExists,
  removeTempFiles,
  syncDir,
  TMP_SUFFIX,
  writeDurably,
} from './durable-files';
import { checkedWallClock, newStoreGeneration, openGeneration } from './open-generation';
import { PerKeyOrder } from './per-key-order';
import { formatGroup, formatMeta, LAST_GENERATION, parseGroup, parseMeta } from './store-formats';
import {
  DataDirError,
  StoreCorruptError,
  StoreWriteError,
  type StoreContents,
  type StoreOpenOptions,
  type WitnessStore,
} from './witness-store';

const META_FILE = 'store.json';
const GROUPS_DIR = 'groups';
const GROUP_PREFIX = 'g-';
const GROUP_SUFFIX = '.json';
/** A data directory path deeper than this is a mistake, not a layout. */

export interface FileStoreOptions {
  /** Read when a store is created or opened, to pick its generation (src/core/epoch.ts). */
  readonly wallClockMs?: () => number;
  /** The monotonic clock the lock's lease counts on (data-dir-lock.ts). */
  readonly now?: () => number;
  /** Told about a failed write that nobody waits for (the list of known groups). */
  readonly onBackgroundError?: (error: unknown) => void;
}

interface Meta {
  generation: bigint;
  longestLeaseMs: number;
  createdAt: string;
  readonly groups: Set<string>;
}

export class FileStore implements WitnessStore {
  readonly holdName = 'the data directory lock';
  private readonly groupsDir: string;
  private readonly wallClock: () => number;
  private readonly now: () => number;
  private readonly onBackgroundError: (error: unknown) => void;
  /** The highest generation store.json is known to hold on disk. */
  private durableGeneration = 0n;
  private state: 'new' | 'open' | 'closed' = 'new';
  private lock: DataDirLock | undefined;
  private meta: Meta = { generation: 0n, longestLeaseMs: 0, createdAt: '', groups: new Set() };
  /** What each put's precondition is checked against (acknowledged-records.ts says why not the file). */
  private acknowledged = new AcknowledgedRecords();
  private readonly writes = new PerKeyOrder();
  private readonly metaWrite = new CoalescedTask(() => this.writeMeta());
  /** The last store.json rewrite nobody waits for; close() does. */
  private metaBackground: Promise<void> = Promise.resolve();
  private readonly groupsDirSync: CoalescedTask;

  constructor(
    private readonly dataDir: string,
    options: FileStoreOptions = {},
  ) {
    this.groupsDir = join(dataDir, GROUPS_DIR);
    this.wallClock = checkedWallClock(options.wallClockMs ?? Date.now);
    this.now = options.now ?? (() => performance.now());
    this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
    this.groupsDirSync = new CoalescedTask(() => syncDir(this.groupsDir));
  }

  async open(options: StoreOpenOptions): Promise<StoreContents> {
    if (this.state !== 'new') throw new Error(`store ${this.dataDir} was already opened`);
    const directoryWasNew = await this.prepareDirectory();
    this.lock = await DataDirLock.acquire(this.dataDir, this.now);
    try {
      const contents = await this.load(directoryWasNew, options);
      // Loading may have taken longer than the lock's lease on a slow disk: confirm it afresh.
      this.lock.refresh();
      this.state = 'open';
      return contents;
    } catch (err) {
      await this.lock.release();
      throw err;
    }
  }

  async put(write: DurableWrite): Promise<void> {
    const lock = this.requireOpen();
    const { record } = write;
    const text = formatGroup(record);
    return this.writes.run(record.group, async () => {
      lock.verify();
      this.acknowledged.check(write);
      if (!this.meta.groups.has(record.group)) {
        // The list of known groups only serves the report of missing ones at start, so a new
        // group's answer does not wait for it: a crash before it lands leaves a record that the
        // next open lists anyway. A failed write is retried by the next one.
        this.meta.groups.add(record.group);
        this.metaBackground = this.metaWrite.run().catch(this.onBackgroundError);
      }
      await this.writeDurably(this.groupsDir, groupFileName(record.group), text);
      this.acknowledged.written(record);
    });
  }

  async raiseGeneration(generation: bigint): Promise<void> {
    const lock = this.requireOpen();
    if (generation > LAST_GENERATION) throw new Error(`generation ${generation} is out of range`);
    if (generation <= this.durableGeneration) return;
    lock.verify();
    if (generation > this.meta.generation) this.meta.generation = generation;
    // A run that starts after this point carries the raised generation; only its success counts.
    await this.metaWrite.run().catch((err: unknown) => {
      throw new StoreWriteError(err);
    });
    if (this.durableGeneration < generation) throw new StoreWriteError('store.json did not take the new generation');
  }

  async forget(group: string): Promise<void> {
    const lock = this.requireOpen();
    return this.writes.run(group, async () => {
      lock.verify();
      // Out of the list first: a crash before the unlink leaves a record that is simply loaded again.
      if (this.meta.groups.delete(group)) await this.metaWrite.run();
      await unlink(join(this.groupsDir, groupFileName(group))).catch((err: unknown) => {
        if (errorCode(err) !== 'ENOENT') throw err;
      });
      await this.groupsDirSync.run();
      this.acknowledged.removed(group);
    });
  }

  mayDecide(at: number): boolean {
    return at < this.decidesUntil();
  }

  decidesUntil(): number {
    return this.state === 'open' && this.lock !== undefined ? this.lock.until : Number.NEGATIVE_INFINITY;
  }

  confirmHold(): void {
    this.requireOpen().refresh();
  }

  async probeWrite(): Promise<void> {
    this.requireOpen();
    try {
      const handle = await open(join(this.dataDir, `.check${TMP_SUFFIX}`), 'w');
      try {
        await handle.writeFile('check\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw new StoreWriteError(err);
    }
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.writes.settled();
    await this.metaBackground;
    await this.lock?.release();
  }

  /** The store's lock, which an open store always has. */
  private requireOpen(): DataDirLock {
    if (this.state !== 'open' || this.lock === undefined)
      throw new Error(`store ${this.dataDir} is ${this.state === 'new' ? 'not open' : 'closed'}`);
    return this.lock;
  }

  private async load(directoryWasNew: boolean, options: StoreOpenOptions): Promise<StoreContents> {
    await removeTempFiles(this.dataDir);
    const metaPath = join(this.dataDir, META_FILE);
    const metaText = await readIfExists(metaPath);
    if (metaText === undefined) {
      await this.create(metaPath, options);
      return {
        generation: this.meta.generation,
        longestEarlierLeaseMs: 0,
        records: [],
        missingGroups: [],
        origin: directoryWasNew ? 'new-directory' : 'empty-directory',
        wallClockBehindMs: 0,
        previousHolderOverlapMs: LOCK_LEASE_MS,
      };
    }
    const stored = parseMeta(metaPath, metaText);
    const records = await this.readGroups();
    this.acknowledged = new AcknowledgedRecords(records);
    const present = new Set(records.map((r) => r.group));
    const missingGroups = [...(stored.groups ?? [])].filter((g) => !present.has(g)).sort();
    const { generation, wallClockBehindMs } = await openGeneration(
      stored.generation,
      records.map((r) => r.epoch),
      this.wallClock,
    );
    this.meta = {
      generation,
      longestLeaseMs: Math.max(stored.longestLeaseMs, options.longestLeaseMs),
      createdAt: stored.createdAt,
      groups: present,
    };
    // The new generation and the longest lease are durable before anything is granted under them.
    await this.writeMeta();
    return {
      generation,
      longestEarlierLeaseMs: stored.longestLeaseMs,
      records,
      missingGroups,
      origin: 'existing',
      wallClockBehindMs,
      previousHolderOverlapMs: LOCK_LEASE_MS,
    };
  }

  /** Creates the directory if needed (returns true then) and proves it usable. */
  private async prepareDirectory(): Promise<boolean> {
    const dir = this.dataDir;
    const info = await stat(dir).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw new DataDirError(`cannot use data directory ${dir}`, err);
    });
    if (info === undefined) {
      await makeDirectory(dir);
    } else if (!info.isDirectory()) {
      throw new DataDirError(`data directory ${dir} exists but is not a directory`);
    }
    // Creating a file is the writability test that cannot be fooled (access() says yes to root on
    // a read-only bind mount, for one). The probe also catches case-insensitive file systems,
    // where groups "A" and "a" would share a file and one would silently lose its epoch.
    const probe = join(dir, `.probe${TMP_SUFFIX}`);
    try {
      await (await open(probe, 'w')).close();
    } catch (err) {
      throw new DataDirError(`data directory ${dir} is not writable`, err);
    }
    const probeIno = (await stat(probe)).ino;
    const upperIno = (await stat(join(dir, `.PROBE${TMP_SUFFIX}`)).catch(() => undefined))?.ino;
    await unlink(probe);
    if (upperIno === probeIno) {
      throw new DataDirError(
        `data directory ${dir} is on a case-insensitive file system, which cannot keep group ids apart`,
      );
    }
    return info === undefined;
  }

  private async create(metaPath: string, options: StoreOpenOptions): Promise<void> {
    // store.json is written last, so its absence next to group files means something was lost.
    if ((await listGroupFiles(this.groupsDir)).length > 0) {
      throw new StoreCorruptError(metaPath, `missing, but ${this.groupsDir} holds group records`);
    }
    const { generation, createdAt } = newStoreGeneration(this.wallClock());
    await mkdir(this.groupsDir, { recursive: true });
    await syncDir(this.dataDir);
    this.meta = {
      generation,
      longestLeaseMs: options.longestLeaseMs,
      createdAt,
      groups: new Set(),
    };
    await this.writeMeta();
  }

  private async writeMeta(): Promise<void> {
    const { generation } = this.meta;
    await this.writeDurably(this.dataDir, META_FILE, formatMeta({ ...this.meta, groups: [...this.meta.groups] }));
    if (generation > this.durableGeneration) this.durableGeneration = generation;
  }

  private writeDurably(dir: string, name: string, text: string): Promise<void> {
    return writeDurably(dir, name, text, dir === this.groupsDir ? this.groupsDirSync : undefined);
  }

  private async readGroups(): Promise<DurableGroup[]> {
    let names: string[];
    try {
      names = await readdir(this.groupsDir);
    } catch (err) {
      // Created before store.json, so a store without it has lost its records.
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR')
        throw new StoreCorruptError(this.groupsDir, 'missing or not a directory');
      throw err;
    }
    await removeTempFiles(this.groupsDir, names);
    const records: DurableGroup[] = [];
    for (const name of names.filter(isGroupFile)) {
      const path = join(this.groupsDir, name);
      records.push(
        parseGroup(path, name.slice(GROUP_PREFIX.length, -GROUP_SUFFIX.length), await readFile(path, 'utf8')),
      );
    }
    return records.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }
}

function groupFileName(group: string): string {
  return GROUP_PREFIX + group + GROUP_SUFFIX;
}

function isGroupFile(name: string): boolean {
  return name.startsWith(GROUP_PREFIX) && name.endsWith(GROUP_SUFFIX);
}

async function listGroupFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter(isGroupFile);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
}
