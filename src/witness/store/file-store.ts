/**
 * The default witness store: one directory, one small JSON file per group, each replaced
 * atomically (temp file, fsync, rename, fsync of the directory) so that a put that resolved
 * survives a crash and a put that did not leaves the previous record intact.
 *
 *   DATA/store.json           {format, generation, createdAt, checksum}
 *   DATA/groups/g-<id>.json   {group, holder, epoch, checksum}
 *
 * The `g-` prefix keeps the ids "." and ".." from naming directories. One process per data
 * directory: nothing here locks it against a second witness.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generationFromWallClock, MAX_EPOCH, epochFloor } from '../../core/epoch';
import type { DurableGroup } from '../../core/witness/types';
import { ID_PATTERN } from '../../core/ids';
import { StoreCorruptError, type StoreContents, type WitnessStore } from './witness-store';

const FORMAT = 1;
const META_FILE = 'store.json';
const GROUPS_DIR = 'groups';
const GROUP_PREFIX = 'g-';
const GROUP_SUFFIX = '.json';
const TMP_SUFFIX = '.tmp';
// Same alphabet as the request validator; repeated so the store does not depend on the wire layer.
const DECIMAL = /^(0|[1-9][0-9]*)$/;

export interface FileStoreOptions {
  /** Only read when a new store is created, to pick its generation. */
  readonly wallClockMs?: () => number;
}

export class FileStore implements WitnessStore {
  private readonly groupsDir: string;
  private readonly wallClockMs: () => number;
  private state: 'new' | 'open' | 'closed' = 'new';
  /** Last put per group; the next put for that group starts after it settles. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly dataDir: string,
    options: FileStoreOptions = {},
  ) {
    this.groupsDir = join(dataDir, GROUPS_DIR);
    this.wallClockMs = options.wallClockMs ?? Date.now;
  }

  async open(): Promise<StoreContents> {
    if (this.state !== 'new') throw new Error(`store ${this.dataDir} was already opened`);
    await this.ensureWritableDir();
    await removeTempFiles(this.dataDir);
    const metaPath = join(this.dataDir, META_FILE);
    const metaText = await readIfExists(metaPath);
    let contents: StoreContents;
    if (metaText === undefined) {
      contents = { generation: await this.create(metaPath), records: [] };
    } else {
      contents = { generation: parseMeta(metaPath, metaText), records: await this.readGroups() };
    }
    this.state = 'open';
    return contents;
  }

  async put(record: DurableGroup): Promise<void> {
    if (this.state !== 'open')
      throw new Error(`store ${this.dataDir} is ${this.state === 'new' ? 'not open' : 'closed'}`);
    if (!ID_PATTERN.test(record.group)) throw new Error(`invalid group id ${JSON.stringify(record.group)}`);
    if (record.epoch < 0n || record.epoch > MAX_EPOCH) throw new Error(`epoch ${record.epoch} is out of range`);
    const text = JSON.stringify({
      group: record.group,
      holder: record.holder,
      epoch: record.epoch.toString(),
      checksum: groupChecksum(record.group, record.holder, record.epoch.toString()),
    });
    const previous = this.tails.get(record.group) ?? Promise.resolve();
    // A failed put must not block the ones queued behind it, hence catch before then.
    const done = previous
      .catch(() => undefined)
      .then(() => writeDurably(this.groupsDir, groupFileName(record.group), text));
    this.tails.set(record.group, done);
    const forget = (): void => {
      if (this.tails.get(record.group) === done) this.tails.delete(record.group);
    };
    done.then(forget, forget);
    return done;
  }

  async close(): Promise<void> {
    this.state = 'closed';
    await Promise.allSettled([...this.tails.values()]);
  }

  private async ensureWritableDir(): Promise<void> {
    const dir = this.dataDir;
    const info = await stat(dir).catch((err: unknown) => {
      if (code(err) === 'ENOENT') return undefined;
      throw wrap(err, `cannot use data directory ${dir}`);
    });
    if (info === undefined) {
      await mkdir(dir, { recursive: true });
      await syncDir(dirname(dir));
    } else if (!info.isDirectory()) {
      throw new Error(`data directory ${dir} exists but is not a directory`);
    }
    // Creating a file is the writability test that cannot be fooled (access() says yes to root on
    // a read-only bind mount, for one). The probe also catches case-insensitive file systems,
    // where groups "A" and "a" would share a file and one would silently lose its epoch.
    const probe = join(dir, `.probe${TMP_SUFFIX}`);
    try {
      await (await open(probe, 'w')).close();
    } catch (err) {
      throw wrap(err, `data directory ${dir} is not writable`);
    }
    const probeIno = (await stat(probe)).ino;
    const upperIno = (await stat(join(dir, `.PROBE${TMP_SUFFIX}`)).catch(() => undefined))?.ino;
    await unlink(probe);
    if (upperIno === probeIno) {
      throw new Error(
        `data directory ${dir} is on a case-insensitive file system, which cannot keep ` + 'group ids apart',
      );
    }
  }

  private async create(metaPath: string): Promise<bigint> {
    // store.json is written last, so its absence next to group files means something was lost.
    if ((await listGroupFiles(this.groupsDir)).length > 0) {
      throw new StoreCorruptError(metaPath, `missing, but ${this.groupsDir} holds group records`);
    }
    const wallClockMs = this.wallClockMs();
    if (!Number.isFinite(wallClockMs) || wallClockMs < 0) throw new Error(`wall clock reads ${wallClockMs}`);
    const generation = generationFromWallClock(wallClockMs);
    if (epochFloor(generation) >= MAX_EPOCH) throw new Error(`wall clock ${wallClockMs} is beyond the epoch range`);
    await mkdir(this.groupsDir, { recursive: true });
    await syncDir(this.dataDir);
    const createdAt = new Date(wallClockMs).toISOString();
    const meta = { format: FORMAT, generation: generation.toString(), createdAt };
    const checksum = metaChecksum(meta.format, meta.generation, createdAt);
    await writeDurably(this.dataDir, META_FILE, JSON.stringify({ ...meta, checksum }));
    return generation;
  }

  private async readGroups(): Promise<DurableGroup[]> {
    let names: string[];
    try {
      names = await readdir(this.groupsDir);
    } catch (err) {
      // Created before store.json, so a store without it has lost its records.
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR')
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

// The tag keeps a group record's checksum from ever validating as store metadata, and back.
function groupChecksum(group: string, holder: string, epoch: string): string {
  return sha256(JSON.stringify(['group/1', group, holder, epoch]));
}

function metaChecksum(format: number, generation: string, createdAt: string): string {
  return sha256(JSON.stringify(['store/1', format, generation, createdAt]));
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function parseMeta(path: string, text: string): bigint {
  const fields = parseObject(path, text);
  if (fields.format !== FORMAT) throw new StoreCorruptError(path, `unknown format ${JSON.stringify(fields.format)}`);
  const { generation, createdAt, checksum } = fields;
  if (typeof generation !== 'string' || !DECIMAL.test(generation))
    throw new StoreCorruptError(path, 'generation is not a decimal integer');
  if (typeof createdAt !== 'string') throw new StoreCorruptError(path, 'createdAt is missing');
  if (epochFloor(BigInt(generation)) >= MAX_EPOCH)
    throw new StoreCorruptError(path, `generation ${generation} is out of range`);
  if (checksum !== metaChecksum(FORMAT, generation, createdAt)) throw new StoreCorruptError(path, 'checksum mismatch');
  return BigInt(generation);
}

function parseGroup(path: string, nameFromFile: string, text: string): DurableGroup {
  const { group, holder, epoch, checksum } = parseObject(path, text);
  if (typeof group !== 'string' || !ID_PATTERN.test(group))
    throw new StoreCorruptError(path, 'group is missing or invalid');
  if (group !== nameFromFile)
    throw new StoreCorruptError(path, `holds group ${JSON.stringify(group)}, not ${JSON.stringify(nameFromFile)}`);
  if (typeof holder !== 'string') throw new StoreCorruptError(path, 'holder is missing');
  if (typeof epoch !== 'string' || !DECIMAL.test(epoch) || BigInt(epoch) > MAX_EPOCH) {
    throw new StoreCorruptError(path, `epoch ${JSON.stringify(epoch)} is not an integer in [0, 2^63)`);
  }
  if (checksum !== groupChecksum(group, holder, epoch)) throw new StoreCorruptError(path, 'checksum mismatch');
  return { group, holder, epoch: BigInt(epoch) };
}

function parseObject(path: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreCorruptError(path, 'not valid JSON (torn write?)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new StoreCorruptError(path, 'not a JSON object');
  return value as Record<string, unknown>;
}

async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const target = join(dir, name);
  // One temp name per target is enough: puts for one target are serialized by the caller.
  const temp = target + TMP_SUFFIX;
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(text + '\n', 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // The rename is only durable once the directory entry is.
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// A temp file is a put that crashed before its rename: that put never resolved, so dropping it
// loses nothing anyone was told was stored.
async function removeTempFiles(dir: string, names?: string[]): Promise<void> {
  for (const name of names ?? (await readdir(dir))) {
    if (name.endsWith(TMP_SUFFIX)) await unlink(join(dir, name));
  }
}

async function listGroupFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter(isGroupFile);
  } catch (err) {
    if (code(err) === 'ENOENT') return [];
    throw err;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function wrap(err: unknown, message: string): Error {
  return new Error(`${message}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}
