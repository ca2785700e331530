/**
 * One witness per data directory. Two witnesses on one store each believe their memory is the
 * truth: both grant, and the same epoch goes to both nodes (a split brain). So the store is
 * locked by a file naming its owner, created with O_EXCL, as PostgreSQL's postmaster.pid is.
 *
 * A lock left by a crash is taken over only when its owner is provably gone: same host and boot,
 * and no live process with that pid and start time. A lock from another host (a shared volume)
 * is never broken automatically: the message says which host holds it and how to remove it.
 */
import { readFileSync } from 'node:fs';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'witness.lock';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** Linux's boot id: a pid from before a reboot names nobody. '' where unknown. */
  readonly boot: string;
  /** The process's start time in clock ticks since boot: a reused pid is another process. */
  readonly started: string;
  readonly since: string;
}

/** Another witness holds the directory (or its lock file cannot be judged): refuse to start. */
export class DataDirLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

/** The lock file is gone or belongs to someone else: this witness must stop arbitrating. */
export class LockLostError extends Error {
  constructor(path: string, detail: string) {
    super(`lost the lock on the data directory (${path} ${detail}): another witness may be using it`);
    this.name = 'LockLostError';
  }
}

export class DataDirLock {
  private constructor(
    private readonly path: string,
    private readonly ino: number,
  ) {}

  /** Takes the lock on `dir`, breaking a stale one; throws DataDirLockedError when it is held. */
  static async acquire(dir: string): Promise<DataDirLock> {
    const path = join(dir, LOCK_FILE);
    const me = ownerOf(process.pid);
    // A few rounds: each either creates the file, or removes a stale one and tries again.
    for (let round = 0; round < 3; round += 1) {
      const created = await createExclusive(path, me);
      if (created !== undefined) return new DataDirLock(path, created);
      const held = await readOwner(path);
      if (held === undefined) continue; // removed between our create and our read
      const verdict = judge(held.owner);
      if (verdict !== 'stale') throw new DataDirLockedError(lockedMessage(path, held.owner, verdict));
      await breakStale(path, held.ino);
    }
    throw new DataDirLockedError(`could not take ${path}: another witness is starting on this data directory`);
  }

  /** Throws LockLostError unless the lock file is still the one this process created. */
  async verify(): Promise<void> {
    const info = await stat(this.path).catch((err: unknown) => {
      throw new LockLostError(this.path, `cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (info.ino !== this.ino) throw new LockLostError(this.path, 'was replaced');
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    const info = await stat(this.path).catch(() => undefined);
    if (info?.ino === this.ino) await unlink(this.path).catch(() => undefined);
  }
}

async function createExclusive(path: string, owner: LockOwner): Promise<number | undefined> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (err) {
    if (code(err) === 'EEXIST') return undefined;
    throw err;
  }
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`, 'utf8');
    await handle.sync();
    return (await handle.stat()).ino;
  } finally {
    await handle.close();
  }
}

async function readOwner(path: string): Promise<{ owner: LockOwner | undefined; ino: number } | undefined> {
  try {
    const ino = (await stat(path)).ino;
    const text = await readFile(path, 'utf8');
    return { owner: parseOwner(text), ino };
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Moves the stale file aside and checks that what moved is the file judged stale: another witness
 * may have broken it and created its own lock in between, which must be put back, not removed.
 */
async function breakStale(path: string, staleIno: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (code(err) === 'ENOENT') return;
    throw err;
  }
  if ((await stat(aside)).ino !== staleIno) {
    await link(aside, path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    throw new DataDirLockedError(`could not take ${path}: another witness is starting on this data directory`);
  }
  await unlink(aside);
}

type Verdict = 'stale' | 'alive' | 'other-host' | 'unreadable';

function judge(owner: LockOwner | undefined): Verdict {
  if (owner === undefined) return 'unreadable';
  if (owner.host !== hostname()) return 'other-host';
  const boot = bootId();
  if (boot !== '' && owner.boot !== '' && owner.boot !== boot) return 'stale';
  // A container restarted with the same hostname can be given the same pid again: it is us.
  if (owner.pid === process.pid) return 'stale';
  if (!processExists(owner.pid)) return 'stale';
  const started = startTicks(owner.pid);
  if (started !== '' && owner.started !== '' && started !== owner.started) return 'stale';
  return 'alive';
}

function lockedMessage(path: string, owner: LockOwner | undefined, verdict: Verdict): string {
  if (owner === undefined || verdict === 'unreadable') {
    return `${path} exists but does not name its owner; if no witness runs on this data directory, remove it`;
  }
  const who = `pid ${owner.pid} on ${owner.host}, since ${owner.since}`;
  if (verdict === 'other-host') {
    return (
      `another witness holds this data directory (${who}); two witnesses on one store would grant the ` +
      `same epoch twice. If that witness is gone for good, remove ${path}`
    );
  }
  return `another witness runs on this data directory (${who}); two witnesses on one store would grant the same epoch twice`;
}

function ownerOf(pid: number): LockOwner {
  return { pid, host: hostname(), boot: bootId(), started: startTicks(pid), since: new Date().toISOString() };
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || !Number.isSafeInteger(value.pid) || value.pid <= 0) return undefined;
    if (typeof value.host !== 'string') return undefined;
    return {
      pid: value.pid,
      host: value.host,
      boot: typeof value.boot === 'string' ? value.boot : '',
      started: typeof value.started === 'string' ? value.started : '',
      since: typeof value.since === 'string' ? value.since : 'an unknown time',
    };
  } catch {
    return undefined;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return code(err) === 'EPERM';
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Field 22 of /proc/PID/stat; the command name before it may hold spaces, so count from ')'. */
function startTicks(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
