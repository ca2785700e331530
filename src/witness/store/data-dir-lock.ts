/**
 * One witness per data directory. Two witnesses on one store each believe their memory is the
 * truth: both grant, and the same epoch goes to both nodes (a split brain). So the store is
 * locked by a file naming its owner and holding a random token, created with O_EXCL, as
 * PostgreSQL's postmaster.pid is.
 *
 * The lock is itself a lease. The owner refreshes it every LOCK_REFRESH_MS (it checks that the
 * token is still its own, then touches the file) and decides nothing once LOCK_LEASE_MS has passed
 * since the start of its last good refresh: a witness that was frozen, or whose directory was
 * removed, stops by itself. A lock is taken over at once only when its owner is provably gone (same
 * host, boot and pid namespace, and no live process with that pid and start time); otherwise,
 * whatever the pid says (another host, another container's pid namespace, an unreadable file),
 * only once nobody has touched it for LOCK_STALE_MS, longer than any lease its owner might still
 * be deciding under.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, utimesSync } from 'node:fs';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode } from './durable-files';
import { StoreHoldLostError } from './witness-store';

export const LOCK_FILE = 'witness.lock';
export const LOCK_REFRESH_MS = 500;
/** How long after the start of its last good refresh the owner may still decide. */
export const LOCK_LEASE_MS = 1_500;
/** How long a lock must stay untouched before a witness that cannot prove its owner dead takes it. */
export const LOCK_STALE_MS = 3_000;
const STALE_POLL_MS = 100;

interface LockOwner {
  readonly token: string;
  readonly pid: number;
  readonly host: string;
  /** Linux's boot id: a pid from before a reboot names nobody. '' where unknown. */
  readonly boot: string;
  /** The pid namespace: a pid means nothing in another one (another container). '' where unknown. */
  readonly pidNamespace: string;
  /** The process's start time in clock ticks since boot: a reused pid is another process. */
  readonly started: string;
  readonly since: string;
}

/** Another witness holds the directory: refuse to start. */
export class DataDirLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

/** The lock file is gone or belongs to someone else: this witness must stop arbitrating. */
export class LockLostError extends StoreHoldLostError {
  constructor(path: string, detail: string) {
    super(`lost the lock on the data directory (${path} ${detail}): another witness may be using it`);
    this.name = 'LockLostError';
  }
}

export class DataDirLock {
  private validUntil: number;

  private constructor(
    private readonly path: string,
    private readonly token: string,
    private readonly now: () => number,
    createdAt: number,
  ) {
    this.validUntil = createdAt + LOCK_LEASE_MS;
  }

  /**
   * Takes the lock on `dir`, breaking a stale one (which may take LOCK_STALE_MS of watching);
   * throws DataDirLockedError when it is held. `now` is the monotonic clock the lease counts on.
   */
  static async acquire(dir: string, now: () => number): Promise<DataDirLock> {
    const path = join(dir, LOCK_FILE);
    // A few rounds: each either creates the file, or removes a stale one and tries again.
    for (let round = 0; round < 3; round += 1) {
      const me = ownerOf(process.pid);
      const startedAt = now();
      if (await createExclusive(path, me)) return new DataDirLock(path, me.token, now, startedAt);
      const held = await readOwner(path);
      if (held === undefined) continue; // removed between our create and our read
      const verdict = judge(held.owner);
      if (verdict === 'alive') throw new DataDirLockedError(lockedMessage(path, held.owner));
      if (verdict === 'uncertain' && !(await untouchedFor(path, LOCK_STALE_MS))) {
        throw new DataDirLockedError(lockedMessage(path, held.owner));
      }
      await breakStale(path, held.text);
    }
    throw new DataDirLockedError(`could not take ${path}: another witness is starting on this data directory`);
  }

  /**
   * Until when this process may still decide, on the monotonic clock: a lease after the start of
   * its last good refresh.
   */
  get until(): number {
    return this.validUntil;
  }

  /**
   * Proves the lock is still ours (throws LockLostError otherwise), touches it, extends the lease.
   * Synchronous on purpose: two small calls on a local file, which must not wait behind the thread
   * pool's queue of fsyncs or a busy event loop, or a loaded witness would lose its own lease.
   */
  refresh(): void {
    const startedAt = this.now();
    this.verify();
    const touchedAt = new Date();
    try {
      utimesSync(this.path, touchedAt, touchedAt);
    } catch (err) {
      throw this.lost(`cannot be touched: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.validUntil = Math.max(this.validUntil, startedAt + LOCK_LEASE_MS);
  }

  /**
   * Throws LockLostError unless the lock file still holds this process's token. A lock found lost
   * is never valid again: whoever took it may be deciding now.
   */
  verify(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      throw this.lost(`cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (parseOwner(text)?.token !== this.token) throw this.lost('names another owner');
  }

  private lost(detail: string): LockLostError {
    this.validUntil = Number.NEGATIVE_INFINITY;
    return new LockLostError(this.path, detail);
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    this.validUntil = Number.NEGATIVE_INFINITY;
    const owner = parseOwner(await readFile(this.path, 'utf8').catch(() => ''));
    if (owner?.token === this.token) await unlink(this.path).catch(() => undefined);
  }
}

/** Watches the lock file for `ms`: false as soon as it changes (a live owner refreshed it). */
async function untouchedFor(path: string, ms: number): Promise<boolean> {
  const signature = async (): Promise<string | undefined> => {
    const info = await stat(path).catch(() => undefined);
    return info === undefined ? undefined : `${info.ino}/${info.mtimeMs}/${info.size}`;
  };
  const first = await signature();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await sleep(STALE_POLL_MS);
    if ((await signature()) !== first) return false;
  }
  return first !== undefined;
}

async function createExclusive(path: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`, 'utf8');
    await handle.sync();
    return true;
  } finally {
    await handle.close();
  }
}

async function readOwner(path: string): Promise<{ owner: LockOwner | undefined; text: string } | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return { owner: parseOwner(text), text };
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Moves the stale file aside and checks that what moved is the file judged stale (by its content:
 * inode numbers are reused at once): another witness may have broken it and created its own lock
 * in between, which must be put back, not removed.
 */
async function breakStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw err;
  }
  if ((await readFile(aside, 'utf8').catch(() => undefined)) !== staleText) {
    await link(aside, path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    throw new DataDirLockedError(`could not take ${path}: another witness is starting on this data directory`);
  }
  await unlink(aside);
}

/** dead: provably gone; alive: provably running; uncertain: only the file's silence can tell. */
type Verdict = 'dead' | 'alive' | 'uncertain';

function judge(owner: LockOwner | undefined): Verdict {
  if (owner === undefined || owner.host !== hostname()) return 'uncertain';
  const boot = bootId();
  if (boot === '' || owner.boot === '') return 'uncertain';
  if (owner.boot !== boot) return 'dead';
  const namespace = pidNamespace();
  if (namespace === '' || owner.pidNamespace !== namespace) return 'uncertain';
  // In our own namespace our own pid cannot be another live process.
  if (owner.pid === process.pid || !processExists(owner.pid)) return 'dead';
  const started = startTicks(owner.pid);
  if (started !== '' && owner.started !== '' && started !== owner.started) return 'dead';
  return 'alive';
}

function lockedMessage(path: string, owner: LockOwner | undefined): string {
  if (owner === undefined) {
    return `${path} is held (it does not name its owner, and it was touched while this witness watched it)`;
  }
  return (
    `another witness runs on this data directory (pid ${owner.pid} on ${owner.host}, since ${owner.since}); ` +
    `two witnesses on one store would grant the same epoch twice. If that witness is gone for good, a ` +
    `lock nobody refreshes is taken over after ${LOCK_STALE_MS / 1000} s`
  );
}

function ownerOf(pid: number): LockOwner {
  return {
    token: randomBytes(16).toString('hex'),
    pid,
    host: hostname(),
    boot: bootId(),
    pidNamespace: pidNamespace(),
    started: startTicks(pid),
    since: new Date().toISOString(),
  };
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.token !== 'string' || value.token === '') return undefined;
    if (typeof value.pid !== 'number' || !Number.isSafeInteger(value.pid) || value.pid <= 0) return undefined;
    if (typeof value.host !== 'string') return undefined;
    return {
      token: value.token,
      pid: value.pid,
      host: value.host,
      boot: typeof value.boot === 'string' ? value.boot : '',
      pidNamespace: typeof value.pidNamespace === 'string' ? value.pidNamespace : '',
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
    return errorCode(err) === 'EPERM';
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
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
