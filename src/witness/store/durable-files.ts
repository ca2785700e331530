/**
 * Files that survive a crash (the file store's, design §7): a file replaced atomically and made
 * durable (temp file, fsync, rename, fsync of the directory), a directory created one level at a
 * time, and the temp files a crashed write leaves behind.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CoalescedTask } from './coalesced-task';
import { DataDirError } from './witness-store';

/** A file being written (writeDurably): what a crash leaves of it is removed at start. */
export const TMP_SUFFIX = '.tmp';
/** How deep a data directory may be created (makeDirectory). */
const MAX_DIR_DEPTH = 64;

/**
 * mkdir -p, bounded and one level at a time: the recursive mkdir of Node loops forever where a
 * file system refuses every creation with ENOENT (/proc), instead of failing.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    const info = await stat(current).catch(() => undefined);
    if (info !== undefined) {
      if (!info.isDirectory())
        throw new DataDirError(`cannot create data directory ${dir}: ${current} is not a directory`);
      break;
    }
    missing.unshift(current);
    if (missing.length > MAX_DIR_DEPTH) throw new DataDirError(`cannot create data directory ${dir}: path too deep`);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const path of missing) {
    try {
      await mkdir(path);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw new DataDirError(`cannot create data directory ${dir}`, err);
    }
    await syncDir(dirname(path)).catch(() => undefined);
  }
}

export async function writeDurably(dir: string, name: string, text: string, dirSync?: CoalescedTask): Promise<void> {
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
  await (dirSync === undefined ? syncDir(dir) : dirSync.run());
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// A temp file is a put that crashed before its rename: that put never resolved, so dropping it
// loses nothing anyone was told was stored.
export async function removeTempFiles(dir: string, names?: string[]): Promise<void> {
  for (const name of names ?? (await readdir(dir))) {
    if (name.endsWith(TMP_SUFFIX)) await unlink(join(dir, name));
  }
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
