/**
 * Safe defaults (design §16): plaintext only on loopback; any other address needs TLS or
 * --insecure (exit 2 naming what to add), and --insecure says once what it allows. Reflection
 * lists only the services the port serves (the witness no longer lists Peer and Sidecar).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, killAllTracked, spawnNode, type TrackedProcess } from '../support/processes';
import { bufCurl, calls, cleanEnv, connect, START_TIMEOUT_MS, WITNESS_MAIN } from '../support/witness-process';

const IDLE_WORKLOAD = ['--', process.execPath, '-e', 'setTimeout(() => {}, 60000)'];

describe('plaintext on loopback only, --insecure, reflection of the served services', function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plaintext-defaults-e2e-'));
  });
  afterEach(async () => {
    await killAllTracked();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Members declared (design §17.1): open registration is for loopback only, and 0.0.0.0 is not.
  const witness = (listen: string, extra: string[] = []): TrackedProcess => {
    const groups = path.join(dir, 'groups.yaml');
    fs.writeFileSync(groups, 'groups:\n  - { group: g1, members: [{ node: a, role: primary }] }\n');
    return spawnNode(
      WITNESS_MAIN,
      ['serve', '--listen', listen, '--data-dir', path.join(dir, 'data'), '--groups-file', groups, ...extra],
      { name: 'witness', env: cleanEnv() },
    );
  };
  const sidecar = (listen: string, extra: string[] = []): TrackedProcess =>
    spawnNode(
      WITNESS_MAIN,
      ['sidecar', '--group', 'g1', '--node', 'a', '--peer-node', 'b', '--listen', listen, ...extra, ...IDLE_WORKLOAD],
      { name: 'sidecar', env: cleanEnv() },
    );
  const services = async (port: number): Promise<string[]> => {
    const listed = await bufCurl(['--list-services', `http://127.0.0.1:${port}`], path.join(dir, 'buf-cache'));
    expect(listed.code, listed.stderr).to.equal(0);
    return listed.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();
  };

  for (const program of ['witness', 'sidecar'] as const) {
    it(`${program}: 0.0.0.0 without TLS and without --insecure exits 2 saying what to add`, async () => {
      const proc = (program === 'witness' ? witness : sidecar)(`0.0.0.0:${await freePort()}`);
      const exit = await proc.runToCompletion(10_000);
      expect(exit.code, proc.output(20)).to.equal(2);
      const stderr = proc.stderrLines.join('\n');
      expect(stderr).to.match(/0\.0\.0\.0:\d+ is not a loopback address/);
      expect(stderr).to.include('add --tls-cert FILE --tls-key FILE').and.include('or add --insecure');
      expect(fs.existsSync(path.join(dir, 'data')), 'nothing created').to.equal(false);
    });
  }

  it('witness: 0.0.0.0 with --insecure serves, and logs one warning that names what it allows', async () => {
    const port = await freePort();
    const proc = witness(`0.0.0.0:${port}`, ['--insecure']);
    await proc.waitForLine(/"msg":"witness listening"/, START_TIMEOUT_MS, { stream: 'stdout' });
    const clients = connect(`127.0.0.1:${port}`);
    try {
      expect((await calls(clients).healthCheck()).status).to.equal('SERVING');
    } finally {
      clients.close();
    }
    const warnings = proc.stdoutLines.filter((l) => l.includes('INSECURE'));
    expect(warnings, proc.output(20)).to.have.lengthOf(1);
    expect(warnings[0])
      .to.include('"level":40')
      .and.include('read every call and forge heartbeats, grants and releases');
    expect(proc.stdoutLines.find((l) => l.includes('witness listening'))).to.include('"transport":"plaintext"');
  });

  it('sidecar: 0.0.0.0 with --insecure serves, and logs one warning', async () => {
    const port = await freePort();
    const proc = sidecar(`0.0.0.0:${port}`, ['--insecure']);
    await proc.waitForLine(/"failoverBoundMs"/, START_TIMEOUT_MS, { stream: 'stdout' });
    expect(await services(port)).to.include('witness.v1.Sidecar');
    expect(
      proc.stdoutLines.filter((l) => l.includes('INSECURE')),
      proc.output(20),
    ).to.have.lengthOf(1);
  });

  it('no warning on loopback: 127.0.0.2 and localhost are loopback too', async () => {
    for (const host of ['127.0.0.2', 'localhost']) {
      const port = await freePort();
      const proc = witness(`${host}:${port}`);
      await proc.waitForLine(/"msg":"witness listening"/, START_TIMEOUT_MS, { stream: 'stdout' });
      expect(proc.stdoutLines.filter((l) => l.includes('INSECURE'))).to.deep.equal([]);
      await proc.stop();
      fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
    }
  });

  it("reflection lists only what each port serves: the witness's services, the sidecar's services", async () => {
    const witnessPort = await freePort();
    const w = witness(`127.0.0.1:${witnessPort}`);
    await w.waitForLine(/"msg":"witness listening"/, START_TIMEOUT_MS, { stream: 'stdout' });
    expect(await services(witnessPort)).to.deep.equal([
      'grpc.health.v1.Health',
      'witness.v1.Admin',
      'witness.v1.Witness',
    ]);
    const sidecarPort = await freePort();
    const s = sidecar(`127.0.0.1:${sidecarPort}`, ['--witness', `127.0.0.1:${witnessPort}`]);
    await s.waitForLine(/"failoverBoundMs"/, START_TIMEOUT_MS, { stream: 'stdout' });
    expect(await services(sidecarPort)).to.deep.equal([
      'grpc.health.v1.Health',
      'witness.v1.Peer',
      'witness.v1.Sidecar',
    ]);
  });
});
