/**
 * Witness replicas over a real etcd cluster (test/support/etcd-cluster.ts) for the HA tests: each
 * replica a real `witness serve --store etcd` process on its own loopback port, started with
 * spawnTracked (so killAllTracked() stops it by PID), optionally reaching etcd through FaultProxies
 * of its own so that a test can cut one replica off from etcd while the sidecars still reach it.
 * Who leads is asked the way an operator would: the replica whose health says SERVING.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listenPort } from './cluster';
import type { EtcdCluster } from './etcd-cluster';
import { FaultProxy } from './fault-proxy';
import type { TrackedProcess } from './processes';
import { calls, connect, spawnWitness } from './witness-process';

export interface ReplicaOptions {
  /** The witness's --lease and --default-lease. */
  readonly leaseMs: number;
  readonly prefix: string;
  /** Replicas whose path to etcd goes through proxies of their own (indices). */
  readonly proxied?: readonly number[];
}

interface Replica {
  readonly port: number;
  readonly dataDir: string;
  readonly endpoints: string[];
  readonly proxies: FaultProxy[];
  process: TrackedProcess | undefined;
  /** Every process started for it, oldest first. */
  readonly history: TrackedProcess[];
}

export class WitnessReplicas {
  private constructor(
    private readonly replicas: Replica[],
    private readonly options: ReplicaOptions,
    private readonly root: string,
  ) {}

  /** Reserves ports (and proxies) for `count` replicas; none is started yet. */
  static async create(etcd: EtcdCluster, count: number, options: ReplicaOptions): Promise<WitnessReplicas> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-replicas-'));
    const replicas: Replica[] = [];
    for (let i = 0; i < count; i += 1) {
      const proxies: FaultProxy[] = [];
      if (options.proxied?.includes(i) === true) {
        for (const url of etcd.endpoints()) {
          const { hostname, port } = new URL(url);
          proxies.push(await FaultProxy.start({ host: hostname, port: Number(port) }));
        }
      }
      const endpoints = proxies.length > 0 ? proxies.map((p) => `http://127.0.0.1:${p.port}`) : [...etcd.endpoints()];
      replicas.push({
        port: await listenPort(),
        dataDir: path.join(root, `r${i}`),
        endpoints,
        proxies,
        process: undefined,
        history: [],
      });
    }
    return new WitnessReplicas(replicas, options, root);
  }

  /** The replicas' addresses, in order: what every sidecar's --witness lists. */
  addresses(): string[] {
    return this.replicas.map((r) => `127.0.0.1:${r.port}`);
  }

  /** Starts replica `i` (again); resolves once it leads or waits as a candidate. */
  async start(i: number): Promise<TrackedProcess> {
    const r = this.replica(i);
    fs.mkdirSync(r.dataDir, { recursive: true });
    const { leaseMs, prefix } = this.options;
    const proc = spawnWitness(
      r.dataDir,
      r.port,
      [
        ...['--store', 'etcd', '--etcd-endpoints', r.endpoints.join(','), '--etcd-prefix', prefix],
        ...['--lease', `${leaseMs}ms`, '--default-lease', `${leaseMs}ms`],
      ],
      `replica ${i}`,
    );
    r.process = proc;
    r.history.push(proc);
    await proc.waitForLine(/"msg":"(witness listening|not leading[^"]*)"/, 15_000, { stream: 'stdout' });
    return proc;
  }

  proc(i: number): TrackedProcess {
    const p = this.replica(i).process;
    if (p === undefined) throw new Error(`replica ${i} is not running`);
    return p;
  }

  /** Stops replica `i` with `signal` and waits for it to exit; its exit code. */
  async stop(i: number, signal: NodeJS.Signals): Promise<number | null> {
    const p = this.proc(i);
    p.kill(signal);
    const exit = await p.waitForExit(10_000);
    this.replica(i).process = undefined;
    return exit.code;
  }

  /** Replica `i`'s paths to etcd (its proxies; empty when it reaches etcd directly). */
  etcdPaths(i: number): readonly FaultProxy[] {
    return this.replica(i).proxies;
  }

  /** Whether replica `i` says it serves (it leads and may decide): its health is SERVING. */
  async serving(i: number): Promise<boolean> {
    if (this.replica(i).process?.running !== true) return false;
    const clients = connect(this.addresses()[i] as string);
    try {
      return (await calls(clients).healthCheck()).status === 'SERVING';
    } catch {
      return false;
    } finally {
      clients.close();
    }
  }

  /** The index of the replica that serves now, if exactly one does. */
  async leader(): Promise<number | undefined> {
    const serving: number[] = [];
    for (let i = 0; i < this.replicas.length; i += 1) if (await this.serving(i)) serving.push(i);
    return serving.length === 1 ? serving[0] : undefined;
  }

  /** How many grants of `group` every process of every replica logged. */
  grants(group: string): number {
    const granted = new RegExp(`"group":"${group}".*"event":"granted"`);
    let count = 0;
    for (const r of this.replicas)
      for (const p of r.history) count += p.stdoutLines.filter((line) => granted.test(line)).length;
    return count;
  }

  /** Every replica's output: its decisions and its view of the election. */
  output(lines = 200): string {
    return this.replicas.map((r, i) => `--- replica ${i}\n${r.process?.output(lines) ?? '(not running)'}`).join('\n');
  }

  /** Closes the proxies and removes the data directories (the processes are tracked). */
  async close(): Promise<void> {
    for (const r of this.replicas) for (const p of r.proxies) await p.close();
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private replica(i: number): Replica {
    const r = this.replicas[i];
    if (r === undefined) throw new Error(`no replica ${i}`);
    return r;
  }
}
