/**
 * The data directory's lock (issue 8, item 1): a lock whose owner may be alive where this process
 * cannot see it (another pid namespace, another host) is taken over only after nobody touched it
 * for LOCK_STALE_MS; a lock whose token changed is lost; the owner's right to decide is a lease.
 * Real files in a temp directory; the "other owners" are lock files written as they would write them.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  DataDirLock,
  DataDirLockedError,
  LOCK_FILE,
  LOCK_LEASE_MS,
  LOCK_STALE_MS,
  LockLostError,
} from '../../src/witness/store/data-dir-lock';
import { rejection } from '../support/rejection';

const now = (): number => performance.now();

describe('DataDirLock', function () {
  this.timeout(15_000);
  let dir: string;
  const held: DataDirLock[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'data-dir-lock-'));
  });

  afterEach(async () => {
    await Promise.all(held.splice(0).map((lock) => lock.release()));
    await rm(dir, { recursive: true, force: true });
  });

  const lockPath = (): string => join(dir, LOCK_FILE);

  /** A lock file as a witness in another container (same host name, another pid namespace) writes it. */
  async function foreignLock(): Promise<void> {
    const owner = {
      token: 'f'.repeat(32),
      pid: 1,
      host: hostname(),
      boot: '',
      pidNamespace: 'pid:[1]',
      started: '',
      since: new Date().toISOString(),
    };
    await writeFile(lockPath(), `${JSON.stringify(owner)}\n`);
  }

  // A second witness in the same pid namespace is refused at once: test/e2e/witness-hardening.test.ts, item 1.

  it('refuses the lock of an owner it cannot see while that owner keeps touching it', async () => {
    await foreignLock();
    const touching = setInterval(() => {
      const at = new Date();
      void utimes(lockPath(), at, at).catch(() => undefined);
    }, 200);
    try {
      const started = now();
      const error = await rejection(DataDirLock.acquire(dir, now));
      expect(error).to.be.instanceOf(DataDirLockedError);
      // It watched, and gave up as soon as it saw the owner alive: well before the stale time.
      expect(now() - started).to.be.lessThan(LOCK_STALE_MS);
    } finally {
      clearInterval(touching);
    }
    expect(JSON.parse(await readFile(lockPath(), 'utf8'))).to.include({ token: 'f'.repeat(32) });
  });

  it('takes over a lock nobody touched for the stale time, and an unreadable one the same way', async () => {
    await foreignLock();
    const started = now();
    const lock = await DataDirLock.acquire(dir, now);
    held.push(lock);
    expect(now() - started).to.be.at.least(LOCK_STALE_MS - 50);
    lock.verify();

    await lock.release();
    await writeFile(lockPath(), '');
    held.push(await DataDirLock.acquire(dir, now));
  });

  it('loses the lock when its token is replaced, and may decide only within a lease of its last refresh', async () => {
    const lock = await DataDirLock.acquire(dir, now);
    held.push(lock);
    expect(now() < lock.until).to.equal(true);
    expect(now() + LOCK_LEASE_MS + 1 < lock.until).to.equal(false);
    lock.refresh();
    const text = await readFile(lockPath(), 'utf8');
    await writeFile(lockPath(), text.replace(/"token":"[0-9a-f]+"/, `"token":"${'0'.repeat(32)}"`));
    expect(() => lock.refresh()).to.throw(LockLostError);
    // A lost lock is not removed on release: it belongs to someone else now.
    await lock.release();
    expect(await readFile(lockPath(), 'utf8')).to.contain('0'.repeat(32));
  });
});
