/**
 * deploy/kubernetes/examples/pair, run as real processes: its config files (the witness's, the
 * groups file, sidecar-a.yaml and sidecar-b.yaml) and its workload command line, with only the
 * addresses and certificate paths a cluster gives replaced by loopback ones and certs made here.
 * Readiness follows the active copy, as the Service `app` relies on: a's /readyz answers 200 and
 * b's 503 while a runs the workload, and the other way round once a has handed over on SIGTERM.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { type CommandLine, deployCommandLines } from '../support/deploy-command-lines';
import { DEPLOY_DIR } from '../support/deploy-files';
import { freePort, killAllTracked, spawnNode, type TrackedProcess } from '../support/processes';
import { requireOpenssl } from '../support/require-openssl';
import { makeTestCerts, type TestCerts, witnessTlsArgs } from '../support/test-certs';
import { cleanEnv, startWitness, waitUntil, WITNESS_MAIN } from '../support/witness-process';

const K8S = path.join(DEPLOY_DIR, 'kubernetes');
/** A takeover waits out the lease (2 s), the witness's start-up grace (about 3.6 s) comes first. */
const SETTLE_MS = 30_000;

interface Copy {
  readonly proc: TrackedProcess;
  readonly readyz: string;
  readonly workload: string;
}

async function status(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return undefined;
  }
}

async function body(url: string): Promise<string | undefined> {
  try {
    return await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
  } catch {
    return undefined;
  }
}

/** The manifest's container command line for copy `node`: its --config and its workload. */
function manifestLine(node: string): CommandLine {
  const line = deployCommandLines().find((l) => l.file === path.join(K8S, 'examples', 'pair', `copy-${node}.yaml`));
  if (line === undefined) throw new Error(`no command line in copy-${node}.yaml`);
  return line;
}

describe('deploy/kubernetes/examples/pair: readiness follows the active copy', function () {
  this.timeout(120_000);
  let dir = '';
  let certs: TestCerts;

  before(function () {
    requireOpenssl(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pair-example-'));
    certs = makeTestCerts(path.join(dir, 'certs'), ['app/a', 'app/b']);
  });

  after(async () => {
    await killAllTracked();
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startCopy(node: string, peerPort: number, ownPort: number, witness: string): Promise<Copy> {
    const line = manifestLine(node);
    const split = line.args.indexOf('--');
    const config = path.join(
      K8S,
      'examples',
      'pair',
      path.basename(line.args[line.args.indexOf('--config') + 1] ?? ''),
    );
    const [metrics, app] = [await freePort(), await freePort()];
    const workload = line.args.slice(split + 1).map((word) => word.replace('listen(8080)', `listen(${app})`));
    const pair = certs.node('app', node);
    const args = ['sidecar', '--config', config, '--listen', `127.0.0.1:${ownPort}`, '--peer', `127.0.0.1:${peerPort}`];
    args.push('--witness', witness, '--metrics-listen', `127.0.0.1:${metrics}`);
    args.push('--tls-cert', pair.cert, '--tls-key', pair.key, '--tls-ca', certs.ca, '--', ...workload);
    const proc = spawnNode(WITNESS_MAIN, args, { name: `sidecar ${node}`, env: cleanEnv() });
    return { proc, readyz: `http://127.0.0.1:${metrics}/readyz`, workload: `http://127.0.0.1:${app}/` };
  }

  it('a is Ready while active, then b once a has handed over', async () => {
    const witness = await startWitness(path.join(dir, 'data'), [
      '--config',
      path.join(K8S, 'base', 'witness', 'witness.yaml'),
      '--groups-file',
      path.join(K8S, 'base', 'common', 'groups.yaml'),
      '--metrics-listen',
      `127.0.0.1:${await freePort()}`,
      ...witnessTlsArgs(certs, true),
    ]);
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await startCopy('a', portB, portA, witness.address);
    const b = await startCopy('b', portA, portB, witness.address);

    await waitUntil(
      'a Ready, b not',
      async () => (await status(a.readyz)) === 200 && (await status(b.readyz)) === 503,
      SETTLE_MS,
      200,
    );
    // Ready means the workload was started, not yet that it listens.
    await waitUntil('a answers', async () => (await body(a.workload)) === 'active: a\n', SETTLE_MS, 200);

    a.proc.kill('SIGTERM');
    await waitUntil('b Ready', async () => (await status(b.readyz)) === 200, SETTLE_MS, 200);
    await waitUntil('b answers', async () => (await body(b.workload)) === 'active: b\n', SETTLE_MS, 200);
    expect((await a.proc.waitForExit(10_000)).code, a.proc.output()).to.equal(0);
    expect(await status(b.readyz)).to.equal(200);
  });
});
