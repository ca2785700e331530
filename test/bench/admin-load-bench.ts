/**
 * `npm run bench:admin-load -- [--groups N] [--seconds S] [--listers K] [--watchers W]`
 *
 * What operators' reads cost the pairs (issue 10's limits): one witness holding N groups, and a
 * pair's heartbeats (two nodes renewing every 200 ms, the sidecar's default, with grpc-js as the
 * sidecar uses it) timed first quiet, then while K clients walk ListGroups page after page and W
 * Admin.Watch subscribers read a stream of events. The load runs in a child process, so that
 * decoding pages and events does not slow the timing. Prints the heartbeat latency of both phases
 * and their ratio (the target: p99 under load within 2 x quiet), and what the load was served.
 *
 * A script, not a test: nothing here asserts on a figure.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { RenewRequest } from '../../src/gen/witness/v1/RenewRequest';
import { spawnTracked } from '../support/processes';
import { calls, type Clients, connect, deadline, startWitness, unary } from '../support/witness-process';
import {
  distribution,
  type Distribution,
  type Flags,
  type FlagSpec,
  ms,
  onCleanup,
  parseFlags,
  progress,
  runScript,
  sleep,
  table,
} from './common';

const SPEC: Record<string, FlagSpec> = {
  groups: { kind: 'number', default: 20_000, min: 1, help: 'Groups the witness holds.' },
  seconds: { kind: 'number', default: 20, min: 1, help: 'Measured seconds per phase.' },
  listers: { kind: 'number', default: 40, min: 0, help: 'Clients walking ListGroups at once.' },
  watchers: { kind: 'number', default: 60, min: 0, help: 'Admin.Watch subscribers reading every event.' },
  'events-per-second': { kind: 'number', default: 200, min: 0, help: 'Arbitration events published under load.' },
  load: { kind: 'string', help: 'Internal: run as the load child against this witness address.' },
};

const HEARTBEAT_MS = 200;
const PAGE_SIZE = 1000;

const own = (address: string): Clients =>
  connect(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });

const renewOf = (group: string, node: string, primary: boolean): RenewRequest => ({
  group,
  node,
  role: primary ? 'ROLE_PRIMARY' : 'ROLE_SECONDARY',
  heldEpoch: '0',
  knownEpoch: '0',
  leaseMs: 0,
});

/** The pair's two nodes heartbeating every HEARTBEAT_MS for `seconds`: each round trip's latency. */
async function pairHeartbeats(address: string, seconds: number): Promise<Distribution> {
  const latencies: number[] = [];
  const nodes = [own(address), own(address)];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    nodes.map(async (clients, i) => {
      const c = calls(clients);
      for (let next = performance.now(); next < end; next += HEARTBEAT_MS) {
        await sleep(Math.max(0, next - performance.now()));
        const t0 = performance.now();
        await c.renew(renewOf('pair', i === 0 ? 'a' : 'b', i === 0));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  for (const n of nodes) n.close();
  return distribution(latencies);
}

async function registerGroups(address: string, groups: number): Promise<void> {
  const loaders = Array.from({ length: 8 }, () => own(address));
  const batch = 50;
  for (let i = 0; i < groups; i += loaders.length * batch) {
    await Promise.all(
      loaders.flatMap((l, k) =>
        Array.from({ length: batch }, (_, j) => i + k * batch + j)
          .filter((g) => g < groups)
          .map((g) => calls(l).renew(renewOf(`g${String(g).padStart(6, '0')}`, 'a', true))),
      ),
    );
  }
  for (const l of loaders) l.close();
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), SPEC);
  const groups = Number(flags.groups);
  const seconds = Number(flags.seconds);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-load-bench-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const witness = await startWitness(path.join(dir, 'data'), [
    '--max-groups',
    String(groups + 10),
    '--max-watchers',
    String(Number(flags.watchers) + 10),
  ]);
  progress(`witness on ${witness.address}; registering ${groups} groups`);
  await registerGroups(witness.address, groups);
  progress(`quiet: the pair heartbeats for ${seconds} s`);
  const quiet = await pairHeartbeats(witness.address, seconds);
  progress(
    `load: ${flags.listers} ListGroups walkers, ${flags.watchers} watchers, ${flags['events-per-second']} events/s`,
  );
  // Niced: on a machine with few cores, the generator's own decoding must not take the witness's
  // and the pair's CPU, or the figure measures the machine, not the witness.
  const loadArgs = ['listers', 'watchers', 'events-per-second'].flatMap((f) => [`--${f}`, String(flags[f])]);
  const loader = spawnTracked(
    'nice',
    ['-n', '10', process.execPath, __filename, '--load', witness.address, ...loadArgs],
    {
      name: 'load',
    },
  );
  await loader.waitForLine(/^loading$/, 30_000, { stream: 'stdout' });
  await sleep(1000); // the load reaches its pace before the pair is timed
  const loaded = await pairHeartbeats(witness.address, seconds);
  loader.kill('SIGTERM');
  const served = JSON.parse(await loader.waitForLine(/^\{"pages"/, 10_000, { stream: 'stdout' })) as {
    pages: number;
    events: number;
    seconds: number;
  };
  const row = (name: string, d: Distribution): string[] => [name, String(d.count), ms(d.p50), ms(d.p99), ms(d.max)];
  process.stdout.write(
    `\nA pair's heartbeat latency at the witness, ${groups} groups, heartbeat ${HEARTBEAT_MS} ms, two nodes:\n` +
      table(['phase', 'heartbeats', 'p50', 'p99', 'max'], [row('quiet', quiet), row('under load', loaded)]) +
      `\n\nunder load: ${flags.listers} ListGroups walkers (page ${PAGE_SIZE}) were served ` +
      `${(served.pages / served.seconds).toFixed(0)} pages/s; ${flags.watchers} watchers read ` +
      `${(served.events / served.seconds).toFixed(0)} events/s\n` +
      `p99 under load / quiet: ${(loaded.p99 / quiet.p99).toFixed(2)} x (target: within 2 x)\n` +
      `${JSON.stringify({ bench: 'admin-load', groups, seconds, quiet, loaded, served })}\n`,
  );
  return 0;
}

/** The child: ListGroups walkers, watchers and a stream of events until SIGTERM, then what it was served. */
async function load(address: string, flags: Flags): Promise<void> {
  let loading = true;
  let pages = 0;
  let events = 0;
  const started = performance.now();
  for (let i = 0; i < Number(flags.listers); i++) {
    const lister = own(address);
    void (async () => {
      let token = '';
      while (loading) {
        const page = await unary<{ nextPageToken: string }>((cb) =>
          lister.admin.ListGroups({ pageSize: PAGE_SIZE, pageToken: token }, deadline(10_000), cb),
        ).catch(() => ({ nextPageToken: '' }));
        pages += 1;
        token = page.nextPageToken;
      }
    })();
  }
  for (let i = 0; i < Number(flags.watchers); i++) {
    const stream = own(address).admin.Watch({ group: '' });
    stream.on('data', () => (events += 1));
    stream.on('error', () => undefined);
  }
  // Each Release by a node that holds nothing is refused: one arbitration event, no write.
  const publisher = calls(own(address));
  const perTick = Math.ceil(Number(flags['events-per-second']) / 100);
  void (async () => {
    while (loading) {
      const t0 = performance.now();
      const release = { group: 'g000000', node: 'a', epoch: '0', knownEpoch: '0' };
      await Promise.all(Array.from({ length: perTick }, () => publisher.release(release).catch(() => undefined)));
      await sleep(Math.max(0, 10 - (performance.now() - t0)));
    }
  })();
  process.stdout.write('loading\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  loading = false;
  process.stdout.write(`${JSON.stringify({ pages, events, seconds: (performance.now() - started) / 1000 })}\n`);
  process.exit(0);
}

if (require.main === module) {
  const flags = parseFlags(process.argv.slice(2), SPEC);
  if (typeof flags.load === 'string') void load(flags.load, flags);
  else runScript(main, 15 * 60 * 1000);
}
