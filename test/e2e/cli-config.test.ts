import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { listenPort } from '../support/cluster';

/** The compiled CLI, next to this compiled test: dist/test/e2e -> dist/src/cli/main.js. */
const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('witness CLI: configuration errors and help (real process)', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    // A run that did not exit (for instance a config that was wrongly accepted and started serving).
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL');
    }
    child = undefined;
  });

  function witness(args: string[]): Promise<Exit> {
    // No WITNESS_* variables from the test's own environment.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('WITNESS_')));
    const started = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let stdout = '';
    let stderr = '';
    started.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    started.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      started.on('error', reject);
      started.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  it('serve --lease abc: exit 2, stderr names lease', async () => {
    const exit = await witness(['serve', '--lease', 'abc']);
    expect(exit.code).to.equal(2);
    expect(exit.stderr).to.match(/^witness: lease: must be a duration/m);
  });

  it('serve --listen nonsense: exit 2, stderr names listen', async () => {
    const exit = await witness(['serve', '--listen', 'nonsense']);
    expect(exit.code).to.equal(2);
    expect(exit.stderr).to.match(/^witness: listen: must be HOST:PORT/m);
  });

  it('serve with an unknown flag: exit 2, stderr names the flag', async () => {
    const exit = await witness(['serve', '--lese', '1s']);
    expect(exit.code).to.equal(2);
    expect(exit.stderr).to.include('--lese');
  });

  it('--help: exit 0, lists --data-dir', async () => {
    const exit = await witness(['--help']);
    expect(exit.code).to.equal(0);
    expect(exit.stdout).to.include('--data-dir');
    expect(exit.stderr).to.equal('');
  });

  it('serve --help: exit 0, lists every serve option', async () => {
    const exit = await witness(['serve', '--help']);
    expect(exit.code).to.equal(0);
    for (const flag of ['--listen', '--data-dir', '--lease', '--default-lease', '--clock-drift', '--margin']) {
      expect(exit.stdout).to.include(flag);
    }
  });

  it('an unknown command: usage on stderr, exit 2', async () => {
    const exit = await witness(['frobnicate']);
    expect(exit.code).to.equal(2);
    expect(exit.stderr).to.include('Usage: witness');
    expect(exit.stdout).to.equal('');
  });

  it('rules: exit 0, prints the rule tables', async () => {
    const exit = await witness(['rules']);
    expect(exit.code).to.equal(0);
    expect(exit.stdout).to.include('Acquire');
  });

  describe('--metrics-listen', () => {
    let busy: net.Server;
    let busyPort: number;
    let dir: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-metrics-cli-'));
      busy = net.createServer();
      await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
      busyPort = (busy.address() as net.AddressInfo).port;
    });
    after(async () => {
      await new Promise((resolve) => busy.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('serve --metrics-listen nonsense: exit 2, stderr names metricsListen', async () => {
      const exit = await witness(['serve', '--open-registration', '--metrics-listen', 'nonsense']);
      expect(exit.code).to.equal(2);
      expect(exit.stderr).to.match(/^witness: metricsListen: must be '' \(off\) or HOST:PORT/m);
    });

    it('serve on a metrics port in use: exit 2, stderr names metricsListen and the cause', async () => {
      const listen = `127.0.0.1:${await listenPort()}`;
      const args = ['--open-registration', '--listen', listen, '--data-dir', path.join(dir, 'witness')];
      const exit = await witness(['serve', ...args, '--metrics-listen', `127.0.0.1:${busyPort}`]);
      expect(exit.code, exit.stderr).to.equal(2);
      expect(exit.stderr).to.match(/^witness: metricsListen \(--metrics-listen\): cannot listen on .*EADDRINUSE/m);
    });

    it('sidecar on a metrics port in use: exit 2, stderr names metricsListen and the cause', async () => {
      const [listen, peer] = [await listenPort(), await listenPort()];
      const exit = await witness([
        'sidecar',
        ...['--group', 'g1', '--node', 'a', '--peer-node', 'b'],
        ...['--listen', `127.0.0.1:${listen}`, '--peer', `127.0.0.1:${peer}`],
        ...['--metrics-listen', `127.0.0.1:${busyPort}`],
        '--',
        'sleep',
        '30',
      ]);
      expect(exit.code, exit.stderr).to.equal(2);
      expect(exit.stderr).to.match(/^witness: metricsListen \(--metrics-listen\): cannot listen on .*EADDRINUSE/m);
    });
  });
});
