/**
 * A disk that misbehaves, for end-to-end tests of the real witness process: fsync/fdatasync that
 * take as long as a test says (an LD_PRELOAD shim), and a file system that runs out of space (a
 * tiny tmpfs). Each returns an `Unavailable` instead when this machine cannot provide it; pass the
 * result through `requireOrSkip` so that a missing prerequisite skips locally and fails in CI.
 *
 * Call `cleanupAll()` from an `after` hook: it unmounts every tmpfs and removes its directory. A
 * last-resort synchronous pass runs when the test runner exits.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnTracked, type TrackedProcess } from './processes';

/** What a prerequisite lacks and the command or setting that provides it. */
export interface Unavailable {
  readonly unavailable: string;
  readonly install: string;
}

export interface ShimInfo {
  /** Merge into a child's environment: LD_PRELOAD, the delay (and failure) variables, UV_USE_IO_URING=0. */
  readonly env: Record<string, string>;
  /** The compiled shared library. */
  readonly library: string;
}

export interface SlowFsyncOptions {
  /** Sleep before every fsync/fdatasync of the child. Default 0: the shim is loaded but changes nothing. */
  readonly delayMs?: number;
  /** The first `failAfter` calls succeed, every later one fails with EIO. Default: none fail. */
  readonly failAfter?: number;
}

export interface Mount {
  /** The mount point (a fresh, realpath'd directory). */
  readonly dir: string;
  readonly sizeBytes: number;
  /** Appends to a filler file in `dir` until the file system answers ENOSPC. */
  fill(): Promise<void>;
  /** Removes the filler file. */
  unfill(): Promise<void>;
  /** Unmounts and removes `dir`; safe to call twice. */
  unmount(): Promise<void>;
}

export const DELAY_ENV = 'FW_SHIM_FSYNC_DELAY_MS';
export const FAIL_AFTER_ENV = 'FW_SHIM_FSYNC_FAIL_AFTER';
export const SHIM_CACHE_DIR = path.join(os.tmpdir(), 'failover-witness-shims');
export const FILLER_NAME = '.fs-faults-filler';

const SHIM_SOURCE = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef int (*sync_fn)(int);

static long delay_ms;
static long fail_after = -1;
static long calls;

/* A typo in a test must not silently mean "no fault": refuse to run instead. */
static long env_number(const char *name, long unset) {
  const char *text = getenv(name);
  if (text == NULL || *text == '\0') return unset;
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < 0) {
    fprintf(stderr, "fs-faults shim: %s=%s is not a non-negative integer\n", name, text);
    abort();
  }
  return value;
}

/* Read once, here: the wrappers run on libuv's pool threads, and getenv there would race with
   setenv calls (process.env writes) on the main thread. */
__attribute__((constructor)) static void fw_shim_init(void) {
  delay_ms = env_number("FW_SHIM_FSYNC_DELAY_MS", 0);
  fail_after = env_number("FW_SHIM_FSYNC_FAIL_AFTER", -1);
}

static sync_fn real(sync_fn *slot, const char *name) {
  sync_fn fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (fn == NULL) {
    fn = (sync_fn)dlsym(RTLD_NEXT, name);
    __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
  }
  return fn;
}

static int fault(void) {
  if (delay_ms > 0) {
    struct timespec left = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) == -1 && errno == EINTR) {
    }
  }
  if (fail_after >= 0 && __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED) >= fail_after) {
    errno = EIO;
    return -1;
  }
  return 0;
}

static sync_fn real_fsync, real_fdatasync;

int fsync(int fd) {
  sync_fn fn = real(&real_fsync, "fsync");
  if (fn == NULL) {
    errno = ENOSYS;
    return -1;
  }
  return fault() != 0 ? -1 : fn(fd);
}

int fdatasync(int fd) {
  sync_fn fn = real(&real_fdatasync, "fdatasync");
  if (fn == NULL) {
    errno = ENOSYS;
    return -1;
  }
  return fault() != 0 ? -1 : fn(fd);
}
`;

const COMPILE_FLAGS = ['-shared', '-fPIC', '-O2', '-Wall', '-Werror'];
// Debian's gcc only recommends the C library headers, and CI installs without recommends.
const INSTALL_CC = 'apt-get install gcc libc6-dev';
const COMPILE_TIMEOUT_MS = 60_000;
const MOUNT_TIMEOUT_MS = 10_000;

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs a short command to completion; undefined when it cannot be started (not installed). */
async function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<RunResult | undefined> {
  let proc: TrackedProcess;
  try {
    proc = spawnTracked(cmd, args, { name: `fs-faults ${path.basename(cmd)}`, env: { ...process.env, LC_ALL: 'C' } });
  } catch {
    return undefined;
  }
  const exit = await proc.runToCompletion(timeoutMs);
  return { ...exit, output: [...proc.stdoutLines, ...proc.stderrLines].join('\n') };
}

export function isUnavailable(result: object): result is Unavailable {
  return 'unavailable' in result;
}

function inCI(): boolean {
  return /^(true|1)$/i.test(process.env.CI ?? '');
}

/**
 * The result, when available. Otherwise, with CI=true, throws: a missing prerequisite in CI is a
 * failure, never a skip. Elsewhere prints why and how to enable it, and skips the test (or, from a
 * hook, the hook's suite).
 */
export function requireOrSkip<T extends object>(ctx: Mocha.Context, result: T | Unavailable): T {
  if (!isUnavailable(result)) return result;
  const what = `${result.unavailable}; to enable: ${result.install}`;
  if (inCI()) throw new Error(`prerequisite missing (CI=true, so this fails instead of skipping): ${what}`);
  // From a hook, name the suite whose tests it skips rather than the hook.
  const runnable = ctx.test as (Mocha.Runnable & { type?: string }) | undefined;
  const skipped = runnable?.type === 'hook' ? runnable.parent : runnable;
  console.warn(`      skipping "${skipped?.fullTitle() ?? '?'}": ${what}`);
  ctx.skip();
}

// ---- slow fsync ----------------------------------------------------------------------------------

let shimLibrary: Promise<string | Unavailable> | undefined;

/** The C compilers to try, in order; CC may carry arguments ("ccache gcc"). */
function compilers(): string[][] {
  const fromEnv = process.env.CC?.trim().split(/\s+/).filter(Boolean);
  return [...(fromEnv?.length ? [fromEnv] : []), ['gcc'], ['cc'], ['clang']];
}

/** The cache directory, refusing one that someone else could have planted a library in. */
function cacheDir(): string {
  fs.mkdirSync(SHIM_CACHE_DIR, { recursive: true, mode: 0o700 });
  const info = fs.lstatSync(SHIM_CACHE_DIR);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid) || (info.mode & 0o022) !== 0) {
    throw new Error(`${SHIM_CACHE_DIR} is not a directory owned by this user and writable only by it; remove it`);
  }
  return SHIM_CACHE_DIR;
}

async function buildShim(): Promise<string | Unavailable> {
  if (process.platform !== 'linux') {
    return { unavailable: `LD_PRELOAD shims need Linux, not ${process.platform}`, install: 'run on Linux' };
  }
  const hash = createHash('sha256')
    .update([SHIM_SOURCE, COMPILE_FLAGS.join(' '), process.arch].join('\0'))
    .digest('hex')
    .slice(0, 16);
  const dir = cacheDir();
  const library = path.join(dir, `slow-fsync-${hash}.so`);
  if (fs.existsSync(library)) return library;

  // Unique names, then rename: concurrent test runs may build the same library.
  const unique = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const source = path.join(dir, `slow-fsync-${hash}.${unique}.c`);
  const partial = path.join(dir, `slow-fsync-${hash}.${unique}.so`);
  fs.writeFileSync(source, SHIM_SOURCE, { mode: 0o600 });
  try {
    const tried: string[] = [];
    for (const [cc, ...ccArgs] of compilers()) {
      const result = await run(cc!, [...ccArgs, ...COMPILE_FLAGS, '-o', partial, source, '-ldl'], COMPILE_TIMEOUT_MS);
      if (result === undefined) {
        tried.push(cc!);
        continue;
      }
      if (result.code === 0) {
        fs.renameSync(partial, library);
        return library;
      }
      const output = result.output.split('\n').slice(0, 20).join('\n');
      if (/fatal error: [^:]+\.h: No such file|no include path in which to search/.test(output)) {
        return { unavailable: `${cc} has no C library headers:\n${output}`, install: INSTALL_CC };
      }
      // The compiler runs but rejects the shim: a bug here, not a missing prerequisite.
      throw new Error(`${cc} failed to compile the fsync shim (exit ${String(result.code)}):\n${output}`);
    }
    return { unavailable: `no C compiler found (tried ${tried.join(', ')})`, install: INSTALL_CC };
  } finally {
    fs.rmSync(source, { force: true });
    fs.rmSync(partial, { force: true });
  }
}

function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError(`${name} must be a non-negative integer, not ${value}`);
  }
}

/**
 * An environment that makes a child process's fsync and fdatasync slow (and, optionally, fail
 * with EIO after a number of calls). The library is compiled once per test run and cached in
 * SHIM_CACHE_DIR under a hash of its source.
 *
 * The environment also sets UV_USE_IO_URING=0: with io_uring, libuv submits the fsync of
 * FileHandle.sync() to the kernel directly and the shim never sees it.
 */
export async function slowFsyncShim(options: SlowFsyncOptions = {}): Promise<ShimInfo | Unavailable> {
  checkCount('delayMs', options.delayMs);
  checkCount('failAfter', options.failAfter);
  shimLibrary ??= buildShim();
  // A failed build is retried by the next call rather than remembered.
  const library = await shimLibrary.catch((error: unknown) => {
    shimLibrary = undefined;
    throw error;
  });
  if (typeof library !== 'string') return library;
  const env: Record<string, string> = {
    LD_PRELOAD: [library, process.env.LD_PRELOAD].filter(Boolean).join(':'),
    [DELAY_ENV]: String(options.delayMs ?? 0),
    UV_USE_IO_URING: '0',
  };
  if (options.failAfter !== undefined) env[FAIL_AFTER_ENV] = String(options.failAfter);
  return { env, library };
}

// ---- tiny tmpfs ----------------------------------------------------------------------------------

const mounts = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when after() never ran; lazy, because a process may still hold the mount.
  process.on('exit', () => {
    for (const dir of mounts) {
      spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
      if (!isMounted(dir)) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Whether `dir` is a mount point now, per /proc/mounts; its file system type if so. */
export function mountedType(dir: string): string | undefined {
  let table: string;
  try {
    table = fs.readFileSync('/proc/mounts', 'utf8');
  } catch {
    return undefined;
  }
  let type: string | undefined;
  for (const line of table.split('\n')) {
    const fields = line.split(' ');
    // The last entry wins: mounts stack.
    if (fields.length >= 3 && unescapeMountField(fields[1]!) === dir) type = fields[2];
  }
  return type;
}

function isMounted(dir: string): boolean {
  return mountedType(dir) !== undefined;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function fillUp(file: string, limit: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024);
  const handle = await fs.promises.open(file, 'a');
  try {
    let written = 0;
    for (;;) {
      try {
        // A short write is the last bit of space; the next write then fails.
        written += (await handle.write(chunk)).bytesWritten;
      } catch (error) {
        if (errorCode(error) === 'ENOSPC') return;
        throw error;
      }
      if (written > limit) throw new Error(`fill: wrote ${written} bytes to ${file} without ENOSPC`);
    }
  } finally {
    await handle.close();
  }
}

function busyHelp(dir: string): string {
  return `something still uses ${dir} (a process's cwd or open file: kill it first, e.g. killAllTracked())`;
}

async function unmountDir(dir: string): Promise<void> {
  if (!mounts.has(dir)) return;
  let last = '';
  for (let attempt = 0; attempt < 20 && isMounted(dir); attempt += 1) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const result = await run('umount', [dir], MOUNT_TIMEOUT_MS);
    last = result?.output ?? 'umount not found';
  }
  if (isMounted(dir)) {
    // Detach it anyway so nothing stays mounted, but do not pretend that this went well.
    await run('umount', ['-l', dir], MOUNT_TIMEOUT_MS);
    const detached = !isMounted(dir);
    if (detached) {
      mounts.delete(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    throw new Error(
      `umount ${dir} failed: ${last}; ${busyHelp(dir)}. ${detached ? 'Lazily detached.' : 'Still mounted.'}`,
    );
  }
  mounts.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A fresh directory with a tmpfs of `sizeBytes` (rounded up to whole pages by the kernel) mounted
 * on it. Needs Linux, root (CAP_SYS_ADMIN) and mount(8).
 *
 * On a full tmpfs writes fail with ENOSPC as they happen (no delayed allocation), but creating,
 * renaming and removing files still succeeds: tmpfs counts pages, and inodes separately.
 */
export async function tinyTmpfs(sizeBytes: number): Promise<Mount | Unavailable> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 4096) {
    throw new RangeError(`sizeBytes must be an integer of at least 4096, not ${sizeBytes}`);
  }
  if (process.platform !== 'linux') {
    return { unavailable: `tmpfs mounts need Linux, not ${process.platform}`, install: 'run on Linux' };
  }
  const uid = process.getuid?.();
  if (uid !== 0) {
    return {
      unavailable: `mounting a tmpfs needs root, and the tests run as uid ${String(uid)}`,
      install: 'run the tests as root (sudo -E npm test), or in a container with CAP_SYS_ADMIN',
    };
  }
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fw-tmpfs-')));
  installExitHook();
  mounts.add(dir);
  let result: RunResult | undefined;
  try {
    result = await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], MOUNT_TIMEOUT_MS);
  } catch (error) {
    await unmountDir(dir).catch(() => undefined);
    throw error;
  }
  if (result === undefined || result.code !== 0 || mountedType(dir) !== 'tmpfs') {
    const mountedSomething = isMounted(dir);
    if (mountedSomething) await unmountDir(dir);
    else {
      mounts.delete(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (result === undefined) return { unavailable: 'mount(8) not found', install: 'apt-get install mount' };
    if (result.code === 0) throw new Error(`mount exited 0 but ${dir} is not a tmpfs mount point`);
    return {
      unavailable: `mount -t tmpfs failed (exit ${String(result.code)}): ${result.output}`,
      install: 'give the container CAP_SYS_ADMIN (docker run --cap-add SYS_ADMIN) or run on a host as root',
    };
  }
  const filler = path.join(dir, FILLER_NAME);
  return {
    dir,
    sizeBytes,
    fill: () => fillUp(filler, 2 * sizeBytes + (1 << 20)),
    unfill: () => fs.promises.rm(filler, { force: true }),
    unmount: () => unmountDir(dir),
  };
}

/** Unmounts every tmpfs still mounted and removes its directory; throws once, listing every failure. */
export async function cleanupAll(): Promise<void> {
  const failures: string[] = [];
  for (const dir of [...mounts]) {
    try {
      await unmountDir(dir);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (failures.length > 0) throw new Error(`fs-faults cleanup:\n${failures.join('\n')}`);
}
