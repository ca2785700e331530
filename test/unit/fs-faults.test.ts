/**
 * The fs-faults harness does what tests built on it rely on: the shim really slows (and fails)
 * the fsyncs of a Node child, including the witness store's, and the tiny tmpfs really fills up
 * and really goes away.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  cleanupAll,
  DELAY_ENV,
  FILLER_NAME,
  isUnavailable,
  mountedType,
  requireOrSkip,
  slowFsyncShim,
  tinyTmpfs,
  type Mount,
  type ShimInfo,
  type SlowFsyncOptions,
} from '../support/fs-faults';
import { freePort, killAllTracked, spawnNode, spawnTracked, type TrackedProcess } from '../support/processes';
import {
  calls,
  cleanEnv,
  connect,
  OPEN_REGISTRATION,
  waitUntil,
  WITNESS_MAIN,
  type Clients,
} from '../support/witness-process';

type SyncKind = 'filehandle-sync' | 'filehandle-datasync' | 'directory-sync' | 'callback-fsync' | 'fsyncSync';

// Runs in the child: `node -e CHILD FILE KIND COUNT`; prints {ms, codes} with one entry per call.
const CHILD = String.raw`
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const [file, kind, count] = process.argv.slice(1);
async function once(handle) {
  switch (kind) {
    case 'filehandle-sync': return handle.sync();
    case 'filehandle-datasync': return handle.datasync();
    case 'directory-sync': return handle.sync();
    case 'callback-fsync': return new Promise((ok, fail) => fs.fsync(handle.fd, (e) => (e ? fail(e) : ok())));
    case 'fsyncSync': return fs.fsyncSync(handle.fd);
    default: throw new Error('unknown kind ' + kind);
  }
}
(async () => {
  const handle = kind === 'directory-sync'
    ? await fs.promises.open(require('node:path').dirname(file), 'r')
    : await fs.promises.open(file, 'w');
  if (kind !== 'directory-sync') await handle.writeFile('x');
  const ms = [];
  const codes = [];
  for (let i = 0; i < Number(count); i += 1) {
    const start = performance.now();
    try {
      await once(handle);
      codes.push('ok');
    } catch (e) {
      codes.push(e.code || String(e));
    }
    ms.push(performance.now() - start);
  }
  await handle.close();
  console.log(JSON.stringify({ ms, codes }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
`;

interface ChildResult {
  readonly wallMs: number;
  readonly ms: number[];
  readonly codes: string[];
}

/** For tests whose suite's before hook already found the shim available. */
async function shimEnv(options: SlowFsyncOptions): Promise<Record<string, string>> {
  const shim = await slowFsyncShim(options);
  if (isUnavailable(shim)) throw new Error(shim.unavailable);
  return shim.env;
}

/** The error code writing `data` to `file` failed with; undefined if it succeeded. */
async function writeFails(file: string, data: string | Buffer): Promise<string | undefined> {
  try {
    await fs.promises.writeFile(file, data);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

describe('fs-faults harness', function () {
  this.timeout(30_000);

  after(async () => {
    await killAllTracked();
    await cleanupAll();
  });

  describe('slowFsyncShim', function () {
    let shim: ShimInfo;
    let dir: string;

    before(async function () {
      // The first call of a run may compile the library.
      this.timeout(90_000);
      shim = requireOrSkip(this, await slowFsyncShim());
    });

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-faults-shim-'));
    });

    afterEach(async () => {
      await killAllTracked();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    async function syncs(kind: SyncKind, count: number, env: Record<string, string>): Promise<ChildResult> {
      const start = performance.now();
      const proc = spawnTracked(process.execPath, ['-e', CHILD, path.join(dir, 'f'), kind, String(count)], {
        name: `fsync child ${kind}`,
        env: { ...process.env, ...env },
      });
      const exit = await proc.waitForExit(20_000);
      const wallMs = performance.now() - start;
      expect(exit, proc.output()).to.deep.equal({ code: 0, signal: null });
      const line = await proc.waitForLine(/^\{/, 2000, { stream: 'stdout' });
      return { wallMs, ...(JSON.parse(line) as { ms: number[]; codes: string[] }) };
    }

    it('five FileHandle.sync() calls take >= 1 s with a 200 ms delay, and far less without', async () => {
      const slow = await syncs('filehandle-sync', 5, await shimEnv({ delayMs: 200 }));
      const fast = await syncs('filehandle-sync', 5, shim.env);
      console.log(
        `      delayed: wall ${slow.wallMs.toFixed(0)} ms, syncs ${sum(slow.ms).toFixed(0)} ms; ` +
          `undelayed: wall ${fast.wallMs.toFixed(0)} ms, syncs ${sum(fast.ms).toFixed(0)} ms`,
      );
      expect(slow.codes).to.deep.equal(['ok', 'ok', 'ok', 'ok', 'ok']);
      expect(slow.wallMs).to.be.at.least(950);
      for (const ms of slow.ms) expect(ms).to.be.at.least(190);
      expect(fast.codes).to.deep.equal(['ok', 'ok', 'ok', 'ok', 'ok']);
      // Generous: this only has to tell "no delay" from 5 x 200 ms.
      expect(sum(fast.ms)).to.be.below(500);
      expect(fast.wallMs).to.be.below(slow.wallMs);
    });

    for (const kind of ['filehandle-datasync', 'directory-sync', 'callback-fsync', 'fsyncSync'] as const) {
      it(`also delays ${kind}`, async () => {
        const result = await syncs(kind, 1, { ...shim.env, [DELAY_ENV]: '200' });
        expect(result.codes).to.deep.equal(['ok']);
        expect(result.ms[0]).to.be.at.least(190);
      });
    }

    it('fails every call after the first failAfter ones with EIO', async () => {
      const result = await syncs('filehandle-sync', 4, await shimEnv({ failAfter: 2 }));
      expect(result.codes).to.deep.equal(['ok', 'ok', 'EIO', 'EIO']);
    });

    it('aborts the child on a malformed delay rather than running it without one', async () => {
      const proc = spawnTracked(process.execPath, ['-e', 'require("node:fs").fsyncSync(1)'], {
        env: { ...process.env, ...shim.env, [DELAY_ENV]: '200ms' },
      });
      const exit = await proc.waitForExit(10_000);
      expect(exit.signal).to.equal('SIGABRT');
      expect(proc.output()).to.match(/FW_SHIM_FSYNC_DELAY_MS=200ms is not a non-negative integer/);
    });

    it('pins UV_USE_IO_URING=0, without which libuv may bypass libc fsync', () => {
      expect(shim.env.UV_USE_IO_URING).to.equal('0');
      expect(shim.env.LD_PRELOAD?.split(':')[0]).to.equal(shim.library);
    });

    describe('with the real witness', function () {
      const open: Clients[] = [];

      afterEach(() => {
        for (const c of open.splice(0)) c.close();
      });

      function witness(env: Record<string, string>, port: number): TrackedProcess {
        return spawnNode(
          WITNESS_MAIN,
          [
            'serve',
            ...OPEN_REGISTRATION,
            '--listen',
            `127.0.0.1:${port}`,
            '--data-dir',
            path.join(dir, 'data'),
            '--lease',
            '1s',
            '--default-lease',
            '1s',
          ],
          { name: 'witness', env: { ...cleanEnv(), ...env } },
        );
      }

      it("delays the store's fsyncs: a grant is answered only after them", async () => {
        const delayMs = 300;
        const port = await freePort();
        const proc = witness(await shimEnv({ delayMs }), port);
        const started = performance.now();
        await proc.waitForLine(/"msg":"witness listening"/, 20_000, { stream: 'stdout' });
        const startMs = performance.now() - started;
        const clients = connect(`127.0.0.1:${port}`);
        open.push(clients);
        const api = calls(clients);
        await api.renew({ group: 'g', node: 'a', role: 'ROLE_PRIMARY' });
        await api.renew({ group: 'g', node: 'b', role: 'ROLE_SECONDARY' });
        await waitUntil('start-up grace over', async () => !(await api.getGroup('g')).inStartupGrace, 10_000, 50);
        const asked = performance.now();
        const granted = await api.acquire({ group: 'g', node: 'a' });
        const grantMs = performance.now() - asked;
        console.log(`      delay ${delayMs} ms: start ${startMs.toFixed(0)} ms, grant ${grantMs.toFixed(0)} ms`);
        expect(granted).to.include({ verdict: 'VERDICT_GRANTED', holder: 'a' });
        // At least one intercepted fsync before the answer; the exact count is the store's business.
        expect(grantMs).to.be.at.least(delayMs * 0.95);
      });

      it('fails the store with EIO when every fsync fails', async () => {
        const proc = witness(await shimEnv({ failAfter: 0 }), await freePort());
        const exit = await proc.waitForExit(15_000);
        expect(exit.code, proc.output()).to.not.equal(0);
        expect(proc.output()).to.match(/EIO/);
      });
    });
  });

  describe('tinyTmpfs', function () {
    let mount: Mount;

    beforeEach(async function () {
      mount = requireOrSkip(this, await tinyTmpfs(64 * 1024));
    });

    afterEach(async () => {
      await mount?.unmount();
    });

    it('is a tmpfs of the size asked for', async () => {
      expect(mountedType(mount.dir)).to.equal('tmpfs');
      const stats = await fs.promises.statfs(mount.dir);
      expect(stats.blocks * stats.bsize).to.equal(64 * 1024);
    });

    it('refuses 100 KB with ENOSPC; fill() leaves no room, unfill() gives it back', async () => {
      const big = path.join(mount.dir, 'big');
      const small = path.join(mount.dir, 'small');
      expect(await writeFails(big, Buffer.alloc(100 * 1024))).to.equal('ENOSPC');
      await fs.promises.rm(big);
      await fs.promises.writeFile(small, 'x'.repeat(1024));
      await fs.promises.rm(small);

      await mount.fill();
      expect((await fs.promises.statfs(mount.dir)).bavail).to.equal(0);
      expect(await writeFails(small, 'x'.repeat(1024))).to.equal('ENOSPC');

      await mount.unfill();
      expect(fs.existsSync(path.join(mount.dir, FILLER_NAME))).to.equal(false);
      await fs.promises.writeFile(small, 'x'.repeat(1024));
      expect(await fs.promises.readFile(small, 'utf8')).to.equal('x'.repeat(1024));
    });

    it('unmount() unmounts (per /proc/mounts) and removes the directory; a second call is a no-op', async () => {
      const dir = mount.dir;
      expect(fs.readFileSync('/proc/mounts', 'utf8')).to.include(` ${dir} tmpfs `);
      await mount.unmount();
      expect(fs.readFileSync('/proc/mounts', 'utf8')).to.not.include(` ${dir} `);
      expect(mountedType(dir)).to.equal(undefined);
      expect(fs.existsSync(dir)).to.equal(false);
      await mount.unmount();
    });

    it('cleanupAll() unmounts what a test left mounted', async function () {
      const other = requireOrSkip(this, await tinyTmpfs(16 * 1024));
      expect(mountedType(other.dir)).to.equal('tmpfs');
      await cleanupAll();
      expect(mountedType(other.dir)).to.equal(undefined);
      expect(mountedType(mount.dir)).to.equal(undefined);
      expect(fs.existsSync(other.dir)).to.equal(false);
    });
  });
});
