/**
 * deploy/examples/floating-ip on real processes in network namespaces this test makes: a witness
 * on a bridge, nodes a and b and a client plugged into it. The sidecars run the example's hooks;
 * a's sidecar is killed with SIGKILL (a crash: its watchdog runs the stop hook, and b takes over
 * once a's lease has run out at the witness), and the address must move from a to b, never be on
 * both, and the client's neighbour entry must follow it to b's MAC by b's announcement alone.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HEARTBEAT_MS, LEASE_MS, TIMEOUT_MS } from '../support/cluster';
import { carries, neighbourMac, type Sample, sampleHolders } from '../support/floating-address';
import { type Host, NamespaceLab, requireNamespaces } from '../support/network-namespaces';
import { killAllTracked, trackedProcesses, type TrackedProcess } from '../support/processes';
import { requireNetworkTools } from '../support/require-network-tools';
import { cleanEnv, ROOT, sleep, START_TIMEOUT_MS, waitUntil, WITNESS_MAIN } from '../support/witness-process';

const EXAMPLE = path.join(ROOT, 'deploy/examples/floating-ip');
const FLOATING = '10.77.0.100';
const WITNESS_ADDRESS = '10.77.0.1';
const NODE_ADDRESS = { a: '10.77.0.11', b: '10.77.0.12' } as const;
const PORT = 7101;
const SAMPLE_EVERY_MS = 20;
// A crash is covered by the lease: b waits for the peer timeout, then for a's lease to run out.
const SWITCH_BOUND_MS = TIMEOUT_MS + 2 * LEASE_MS + 3_000;

/** Exits 0 when something answers for ADDRESS (a refused connection is an answer): it is reachable. */
const REACH = `const s = require('node:net').connect(9, process.argv[1]);
s.on('connect', () => process.exit(0));
s.on('error', (e) => process.exit(e.code === 'ECONNREFUSED' ? 0 : 1));
setTimeout(() => process.exit(2), 3000);`;

const epochOf = (line: string): bigint => BigInt(/epoch (\d+)/.exec(line)![1]!);

const hookLine = (hook: 'up' | 'down', what: string, node: string): RegExp =>
  new RegExp(`floating-ip-${hook}: ${FLOATING}/24 ${what} \\(group g1, node ${node}, epoch (\\d+)\\)`);

describe('deploy/examples/floating-ip: the shared address follows the group', function () {
  this.timeout(40_000);
  const lab = new NamespaceLab(`fip${process.pid}`);
  let dir: string;
  let bridge: string;
  let hosts: Record<'a' | 'b' | 'client', Host>;

  before(function () {
    requireNetworkTools(this);
    requireNamespaces(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floating-ip-e2e-'));
    bridge = lab.addBridge('br', `${WITNESS_ADDRESS}/24`);
    hosts = {
      a: lab.addHost('a', bridge, `${NODE_ADDRESS.a}/24`),
      b: lab.addHost('b', bridge, `${NODE_ADDRESS.b}/24`),
      client: lab.addHost('client', bridge, '10.77.0.20/24'),
    };
  });
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const p of trackedProcesses()) process.stderr.write(`${p.output(40)}\n`);
  });
  after(async () => {
    try {
      await killAllTracked();
    } finally {
      await lab.remove();
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const keyFile = (): string => path.join(dir, 'g1.key');

  async function startWitness(): Promise<void> {
    // Plaintext beyond loopback: the group key is what names the nodes to the witness and each other.
    fs.writeFileSync(keyFile(), `${'f'.repeat(64)}\n`, { mode: 0o600 });
    const groups = path.join(dir, 'groups.yaml');
    fs.writeFileSync(
      groups,
      `groups:\n  - group: g1\n    keyFile: ${keyFile()}\n    members:\n` +
        '      - { node: a, role: primary }\n      - { node: b, role: secondary }\n',
    );
    const lease = `${LEASE_MS}ms`;
    const witness = lab.spawn(
      bridge,
      process.execPath,
      [
        ...[WITNESS_MAIN, 'serve', '--listen', `${WITNESS_ADDRESS}:50051`, '--insecure', '--groups-file', groups],
        ...['--data-dir', path.join(dir, 'data'), '--lease', lease, '--default-lease', lease],
      ],
      { name: 'witness', env: cleanEnv() },
    );
    await witness.waitForLine(/"msg":"witness listening"/, START_TIMEOUT_MS, { stream: 'stdout' });
  }

  function sidecar(node: 'a' | 'b'): TrackedProcess {
    const other = node === 'a' ? 'b' : 'a';
    return lab.spawn(
      hosts[node].ns,
      process.execPath,
      [
        ...[WITNESS_MAIN, 'sidecar', '--group', 'g1', '--node', node, '--peer-node', other],
        ...['--role', node === 'a' ? 'primary' : 'secondary', '--insecure', '--group-key-file', keyFile()],
        ...['--listen', `${NODE_ADDRESS[node]}:${PORT}`, '--peer', `${NODE_ADDRESS[other]}:${PORT}`],
        ...['--witness', `${WITNESS_ADDRESS}:50051`, '--heartbeat', `${HEARTBEAT_MS}ms`],
        ...['--timeout', `${TIMEOUT_MS}ms`, '--lease', `${LEASE_MS}ms`, '--stop-timeout', '500ms'],
        ...['--start-cmd', `'${EXAMPLE}/floating-ip-up'`, '--stop-cmd', `'${EXAMPLE}/floating-ip-down'`],
      ],
      { name: `sidecar-${node}`, env: { ...cleanEnv(), FLOATING_IP: `${FLOATING}/24`, FLOATING_DEV: 'eth0' } },
    );
  }

  async function clientReaches(): Promise<void> {
    const probe = lab.spawn(hosts.client.ns, process.execPath, ['-e', REACH, FLOATING], { name: 'reach' });
    expect((await probe.runToCompletion(10_000)).code, `the client reaches ${FLOATING}`).to.equal(0);
  }

  it('is up on a only, moves to b when a crashes, never on both, and b announces it', async () => {
    await startWitness();
    const a = sidecar('a');
    const b = sidecar('b');
    const on = (node: 'a' | 'b'): Promise<boolean> => carries(hosts[node].ns, FLOATING);

    await waitUntil('a carries the address', () => on('a'), 10_000);
    const upA = await a.waitForLine(hookLine('up', 'up on eth0, announced', 'a'), 10_000);
    expect(await on('b'), 'b carries it too').to.equal(false);
    await clientReaches();
    expect(await neighbourMac(hosts.client.ns, FLOATING), "the client's entry").to.equal(hosts.a.mac);

    let samples: Sample[] = [];
    const sampler = sampleHolders({ a: hosts.a.ns, b: hosts.b.ns }, FLOATING, SAMPLE_EVERY_MS);
    const killedAt = Date.now();
    let switchMs: number;
    try {
      a.kill('SIGKILL');
      await waitUntil('b carries the address', () => on('b'), SWITCH_BOUND_MS);
      switchMs = Date.now() - killedAt;
      await sleep(300); // a late `up` on a, or a late `down` on b, would show here
    } finally {
      samples = await sampler.stop();
    }

    const both = samples.filter((s) => s.holders.length === 2);
    const leftA = samples.find((s) => !s.holders.includes('a'))?.at;
    const reachedB = samples.find((s) => s.holders.includes('b'))?.at;
    process.stderr.write(
      `      switch ${switchMs} ms after SIGKILL (off a after ${leftA} ms, on b after ${reachedB} ms), ` +
        `${samples.length} samples every ${SAMPLE_EVERY_MS} ms, ${both.length} with both\n`,
    );
    expect(both, 'samples with the address on a and b at once').to.deep.equal([]);
    expect(samples.length, 'samples taken during the switch').to.be.above(10);
    expect(samples.at(-1)?.holders, 'where the address ends').to.deep.equal(['b']);
    const downA = await a.waitForLine(hookLine('down', 'removed from eth0', 'a'), 5_000);
    const upB = await b.waitForLine(hookLine('up', 'up on eth0, announced', 'b'), 10_000);
    expect(epochOf(upB) > epochOf(upA), "b's epoch is newer").to.equal(true);
    expect(epochOf(downA), 'a stops the epoch it started').to.equal(epochOf(upA));

    // No traffic from the client meanwhile: only b's unsolicited ARP can have changed its entry.
    await waitUntil(
      "the client's entry names b's MAC",
      async () => (await neighbourMac(hosts.client.ns, FLOATING)) === hosts.b.mac,
      3_000,
    );
    await clientReaches();
  });
});
