/**
 * `npm run bench:replicas -- [--trials 10] [--json]`
 *
 * Witness replicas over etcd (design §20, issue 12), measured with real processes: a three-member
 * etcd cluster (Debian's etcd-server), two witness replicas, one pair of sidecars listing both,
 * each running the test workload. Two kinds of trial, N of each:
 *
 *   failover      the active sidecar is killed (-9): time from the kill to the other node's
 *                 workload start line, with the witness running as replicas; then the killed
 *                 sidecar is started again (--failback manual: the next trial goes the other way).
 *   leader change the leading replica is killed (-9): time from the kill to the moment another
 *                 replica serves (health SERVING), and to the moment it is out of its start-up
 *                 grace, the first moment it could grant; then the killed replica is started
 *                 again, as a candidate.
 *
 * Printed: every trial, the distributions (p50, max), and whether any two run intervals overlapped.
 */
import { performance } from 'node:perf_hooks';
import { Cluster, type NodeName, timeline } from '../support/cluster';
import { EtcdCluster } from '../support/etcd-cluster';
import { findOverlaps } from '../support/run-intervals';
import { calls, connect, graceOver, waitUntil } from '../support/witness-process';
import { WitnessReplicas } from '../support/witness-replicas';
import {
  distribution,
  machineInfo,
  ms,
  onCleanup,
  parseFlags,
  progress,
  runScript,
  sleep,
  table,
  usage,
  type FlagSpec,
} from './common';

const SPEC: Record<string, FlagSpec> = {
  trials: { kind: 'number', default: 10, min: 1, help: 'Trials of each kind (failover, leader change).' },
  lease: { kind: 'duration', default: '1s', min: 100, help: 'Lease of the witness replicas and the sidecars.' },
  json: { kind: 'boolean', help: 'Print one JSON object instead of the tables.' },
  help: { kind: 'boolean', help: 'Print this help.' },
};

/** Bound on any one wait: something is broken beyond it. */
const WAIT_MS = 30_000;

/** How often a wait looks again. */
const POLL_MS = 20;

/** Polls `probe` until it gives a value; throws after WAIT_MS. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  let value: T | undefined;
  await waitUntil(what, async () => (value = await probe()) !== undefined, WAIT_MS, POLL_MS);
  return value as T;
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), SPEC);
  if (flags.help) {
    process.stdout.write(
      `${usage('npm run bench:replicas -- [options]', 'Failover and leader change with witness replicas over etcd.', SPEC)}\n`,
    );
    return 0;
  }
  const trials = Math.floor(Number(flags.trials));
  const leaseMs = Number(flags.lease);
  const machine = machineInfo();
  progress(`machine: ${machine.cpus} cores (${machine.model}), node ${machine.node}; ${machine.uptime}`);

  const etcd = await EtcdCluster.start(3);
  onCleanup(() => etcd.stop());
  const replicas = await WitnessReplicas.create(etcd, 2, { leaseMs, prefix: '/bench/' });
  onCleanup(() => replicas.close());
  await replicas.start(0);
  await replicas.start(1);
  const pair = await Cluster.start({ witnessEndpoints: replicas.addresses(), leaseMs, failback: 'manual', tickMs: 10 });
  onCleanup(() => pair.teardown());
  await waitUntil('a runs', async () => pair.openIntervals().length === 1, WAIT_MS, POLL_MS);

  const failovers: number[] = [];
  for (let n = 1; n <= trials; n += 1) {
    await sleep(2 * leaseMs);
    const from = (pair.openIntervals()[0]?.node ?? 'a') as NodeName;
    const to: NodeName = from === 'a' ? 'b' : 'a';
    const seen = pair.intervalsOf(to).length;
    // Run intervals are on the tests' shared timeline, not this process's clock.
    const killedAt = timeline();
    await pair.kill(from);
    const started = await until(`${to} runs`, () => pair.intervalsOf(to)[seen]);
    failovers.push(started.start - killedAt);
    progress(
      `failover ${n}/${trials}: kill -9 of ${from}'s sidecar -> ${to}'s workload in ${ms(started.start - killedAt)} ms`,
    );
    await pair.restart(from);
  }

  const serving: number[] = [];
  const granting: number[] = [];
  for (let n = 1; n <= trials; n += 1) {
    await sleep(2 * leaseMs);
    const leader = await until('one replica leads', () => replicas.leader());
    const next = 1 - leader;
    const killedAt = performance.now();
    await replicas.stop(leader, 'SIGKILL');
    await waitUntil(`replica ${next} serves`, () => replicas.serving(next), WAIT_MS, POLL_MS);
    serving.push(performance.now() - killedAt);
    const clients = connect(replicas.addresses()[next] as string);
    try {
      await graceOver(calls(clients), 'g1', WAIT_MS);
    } finally {
      clients.close();
    }
    granting.push(performance.now() - killedAt);
    progress(
      `leader change ${n}/${trials}: replica ${leader} killed -> replica ${next} serves in ${ms(serving.at(-1))} ms, ` +
        `may grant after ${ms(granting.at(-1))} ms`,
    );
    await replicas.start(leader);
  }

  const overlaps = findOverlaps(pair.intervals()).length;
  const summary = {
    failoverMs: distribution(failovers),
    leaderServingMs: distribution(serving),
    leaderMayGrantMs: distribution(granting),
    overlaps,
  };
  if (flags.json === true) {
    process.stdout.write(
      `${JSON.stringify({ bench: 'replicas', machine, trials, leaseMs, summary, failovers, serving, granting })}\n`,
    );
  } else {
    const row = (name: string, values: number[]): string[] => {
      const d = distribution(values);
      return [name, String(d.count), ms(d.p50), ms(d.max)];
    };
    process.stdout.write(
      [
        `bench:replicas  trials ${trials}, lease ${leaseMs} ms, election TTL 2 s, 2 replicas, 3 etcd members`,
        `machine: ${machine.cpus} cores, ${machine.model}; at start: ${machine.uptime}`,
        '',
        table(
          ['time from the kill to', 'n', 'p50 ms', 'max ms'],
          [
            row("the other node's workload start (active sidecar killed)", failovers),
            row('another replica serving (leader killed)', serving),
            row('that replica out of its start-up grace: the next grant', granting),
          ],
        ),
        '',
        `run intervals overlapping: ${overlaps}`,
        '',
      ].join('\n'),
    );
  }
  return overlaps === 0 ? 0 : 1;
}

runScript(main, 30 * 60_000);
