/**
 * A failover pair of real processes for the benchmarks: one `witness serve`, two `witness
 * sidecar`s (a: primary, b: secondary) each running test/support/workload.ts under its watchdog,
 * and (optionally) a FaultProxy on every directed link, like test/support/cluster.ts but with the
 * lease, heartbeat, timeout and stop timeout as parameters and no mocha hooks:
 *
 *   a->witness, b->witness   each sidecar's --witness points at its proxy
 *   a->b, b->a               each sidecar's --peer points at its proxy
 *
 * GetState goes straight to each sidecar's --listen port. Every process is started with
 * spawnTracked (killed by PID by the benchmark's cleanup); teardown() kills them, closes the
 * proxies, and SIGKILLs by PID any workload of the run log still alive after one lease.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { SidecarClient } from '../../src/gen/witness/v1/Sidecar';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { isAlive, listenPort } from '../support/cluster';
import { FaultProxy } from '../support/fault-proxy';
import { spawnTracked, type TrackedProcess } from '../support/processes';
import { readIntervals, type RunInterval } from '../support/run-intervals';
import { cleanEnv, WITNESS_MAIN } from '../support/witness-process';
import { WORKLOAD_SCRIPT } from '../support/workload';
import { sleep } from './common';

export type NodeName = 'a' | 'b';
export type ProcName = NodeName | 'witness';
export type LinkName = 'a->witness' | 'b->witness' | 'a->b' | 'b->a';
export const LINKS: readonly LinkName[] = ['a->witness', 'b->witness', 'a->b', 'b->a'];

export interface PairOptions {
  leaseMs: number;
  heartbeatMs: number;
  timeoutMs: number;
  stopTimeoutMs: number;
  /** Fault proxies on the four links (bench:failover); direct connections otherwise. */
  proxies: boolean;
  /** The workload's tick period (its log line rate). */
  tickMs: number;
  /** Node options per process (e.g. --cpu-prof), before the script. */
  execArgv?: (name: ProcName) => string[];
}

/** A parsed pino line. `time` is the sidecar's Date.now() when it logged. */
export interface LogLine {
  readonly msg?: string;
  readonly time?: number;
  readonly [key: string]: unknown;
}

const START_TIMEOUT_MS = 15_000;
const STATE_DEADLINE_MS = 300;

/** Now on the workload log's timeline (performance.timeOrigin + performance.now()). */
export function timeline(): number {
  return performance.timeOrigin + performance.now();
}

export class Pair {
  readonly proxies: Partial<Record<LinkName, FaultProxy>> = {};
  private readonly history: Record<ProcName, TrackedProcess[]> = { witness: [], a: [], b: [] };
  private readonly clients: Partial<Record<NodeName, SidecarClient>> = {};
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly options: PairOptions,
    readonly ports: Record<ProcName, number>,
  ) {}

  get runLog(): string {
    return path.join(this.dir, 'run.log');
  }

  get dataDir(): string {
    return path.join(this.dir, 'witness-data');
  }

  /** Starts the witness, the proxies (if any) and both sidecars; resolves once all are up. */
  static async start(options: PairOptions): Promise<Pair> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bench-pair-'));
    const ports = { witness: await listenPort(), a: await listenPort(), b: await listenPort() };
    const pair = new Pair(dir, options, ports);
    fs.mkdirSync(pair.dataDir, { recursive: true });
    if (options.proxies) {
      const target = (port: number) => ({ host: '127.0.0.1', port });
      pair.proxies['a->witness'] = await FaultProxy.start(target(ports.witness));
      pair.proxies['b->witness'] = await FaultProxy.start(target(ports.witness));
      pair.proxies['a->b'] = await FaultProxy.start(target(ports.b));
      pair.proxies['b->a'] = await FaultProxy.start(target(ports.a));
    }
    try {
      await pair.startProcess('witness');
      await Promise.all([pair.startProcess('a'), pair.startProcess('b')]);
    } catch (error) {
      // Nothing of a pair that did not come up is left behind: processes, proxies, directory.
      await pair.teardown();
      throw error;
    }
    return pair;
  }

  private address(link: LinkName): string {
    const proxy = this.proxies[link];
    if (proxy) return `127.0.0.1:${proxy.port}`;
    const to = link.endsWith('witness') ? 'witness' : (link.slice(3) as NodeName);
    return `127.0.0.1:${this.ports[to]}`;
  }

  private args(name: ProcName): string[] {
    const o = this.options;
    if (name === 'witness') {
      return [
        'serve',
        '--listen',
        `127.0.0.1:${this.ports.witness}`,
        '--data-dir',
        this.dataDir,
        '--lease',
        `${o.leaseMs}ms`,
        '--default-lease',
        `${o.leaseMs}ms`,
      ];
    }
    return [
      'sidecar',
      '--group',
      'g1',
      '--node',
      name,
      '--role',
      name === 'a' ? 'primary' : 'secondary',
      '--listen',
      `127.0.0.1:${this.ports[name]}`,
      '--peer',
      this.address(name === 'a' ? 'a->b' : 'b->a'),
      '--witness',
      this.address(name === 'a' ? 'a->witness' : 'b->witness'),
      '--heartbeat',
      `${o.heartbeatMs}ms`,
      '--lease',
      `${o.leaseMs}ms`,
      '--timeout',
      `${o.timeoutMs}ms`,
      '--stop-timeout',
      `${o.stopTimeoutMs}ms`,
      // The active side stays where a failover put it: every trial then fails over the other way.
      '--failback',
      'manual',
      '--',
      process.execPath,
      WORKLOAD_SCRIPT,
      '--log',
      this.runLog,
      '--tick',
      String(o.tickMs),
      // A safety net against orphans only.
      '--max-runtime',
      '3600000',
    ];
  }

  /** Spawns `name` (again) and waits for its first log line; retries on another port if taken. */
  async startProcess(name: ProcName): Promise<TrackedProcess> {
    for (let attempt = 1; ; attempt++) {
      const proc = spawnTracked(
        process.execPath,
        [...(this.options.execArgv?.(name) ?? []), WITNESS_MAIN, ...this.args(name)],
        {
          name: name === 'witness' ? 'witness' : `sidecar ${name}`,
          env: cleanEnv(),
          maxLines: 20_000,
        },
      );
      this.history[name].push(proc);
      const ready = name === 'witness' ? /"msg":"witness listening"/ : /"failoverBoundMs"/;
      try {
        await proc.waitForLine(ready, START_TIMEOUT_MS, { stream: 'stdout' });
        return proc;
      } catch (error) {
        await proc.waitForExit(1000).catch(() => undefined);
        if (attempt >= 3 || proc.running || !/EADDRINUSE/.test(proc.output(50))) throw error;
        this.history[name].pop();
        if (this.options.proxies) throw error; // proxies point at the old port
        this.ports[name] = await listenPort();
      }
    }
  }

  /** The current (latest) process of `name`. */
  proc(name: ProcName): TrackedProcess {
    const last = this.history[name][this.history[name].length - 1];
    if (last === undefined) throw new Error(`no ${name} process was started`);
    return last;
  }

  /** kill -9; resolves once the process has exited. */
  async kill(name: ProcName): Promise<void> {
    const proc = this.proc(name);
    proc.kill('SIGKILL');
    await proc.waitForExit(5000);
  }

  /** Restarts `name` with the same arguments (kills it first if it still runs). */
  async restart(name: ProcName): Promise<TrackedProcess> {
    if (this.proc(name).running) await this.kill(name);
    if (name !== 'witness') this.dropClient(name);
    return this.startProcess(name);
  }

  private linksOf(node: NodeName): LinkName[] {
    return node === 'a' ? ['a->witness', 'a->b', 'b->a'] : ['b->witness', 'b->a', 'a->b'];
  }

  /** Blackholes every link of `node`: connections stay open, nothing is delivered. */
  isolate(node: NodeName): void {
    for (const link of this.linksOf(node)) this.requireProxy(link).setMode('blackhole');
  }

  /** Back to 'pass', resetting the connections that lived through the blackhole (fast recovery). */
  rejoin(node: NodeName): void {
    for (const link of this.linksOf(node)) {
      const proxy = this.requireProxy(link);
      proxy.setMode('pass');
      proxy.resetConnections();
    }
  }

  private requireProxy(link: LinkName): FaultProxy {
    const proxy = this.proxies[link];
    if (proxy === undefined) throw new Error('this pair runs without fault proxies');
    return proxy;
  }

  private client(node: NodeName): SidecarClient {
    let client = this.clients[node];
    if (client === undefined) {
      const { grpcObject } = loadWitnessProto();
      client = new grpcObject.witness.v1.Sidecar(`127.0.0.1:${this.ports[node]}`, grpc.credentials.createInsecure(), {
        'grpc.initial_reconnect_backoff_ms': 50,
        'grpc.min_reconnect_backoff_ms': 50,
        'grpc.max_reconnect_backoff_ms': 200,
      });
      this.clients[node] = client;
    }
    return client;
  }

  private dropClient(node: NodeName): void {
    this.clients[node]?.close();
    delete this.clients[node];
  }

  /** GetState of one sidecar; undefined when it does not answer within a short deadline. */
  state(node: NodeName): Promise<SidecarState__Output | undefined> {
    if (!this.proc(node).running) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.client(node).GetState({}, { deadline: Date.now() + STATE_DEADLINE_MS }, (error, state) => {
        resolve(error ? undefined : state);
      });
    });
  }

  /**
   * The steady state: exactly one side runs its workload, holding both a witness lease and a peer
   * lease, and the other hears both its peer and the witness. Resolves with the active node.
   */
  async steady(): Promise<NodeName | undefined> {
    const [a, b] = await Promise.all([this.state('a'), this.state('b')]);
    for (const [node, me, other] of [
      ['a', a, b],
      ['b', b, a],
    ] as const) {
      if (
        me?.active === true &&
        me.workload === 'WORKLOAD_PHASE_RUNNING' &&
        me.witnessLeaseRemainingMs > 0 &&
        me.peerLeaseRemainingMs > 0 &&
        other?.active === false &&
        other.peerReachable &&
        other.witnessReachable
      ) {
        return node;
      }
    }
    return undefined;
  }

  /** Polls `predicate` every 10 ms until it returns a value; throws with `what` after `timeoutMs`. */
  async waitFor<T>(
    what: string,
    predicate: () => T | undefined | Promise<T | undefined>,
    timeoutMs: number,
  ): Promise<T> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const value = await predicate();
      if (value !== undefined && value !== false) return value;
      if (performance.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
      await sleep(10);
    }
  }

  intervals(): RunInterval[] {
    return readIntervals(this.runLog, { allowMissing: true });
  }

  /** Parsed JSON log lines of every process of `name` so far (restarts included). */
  logs(name: ProcName): LogLine[] {
    const out: LogLine[] = [];
    for (const p of this.history[name]) {
      for (const line of p.stdoutLines) {
        if (!line.startsWith('{')) continue;
        try {
          out.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line
        }
      }
    }
    return out;
  }

  logged(name: ProcName, msg: string): LogLine[] {
    return this.logs(name).filter((l) => l.msg === msg);
  }

  /** Every process of the pair ever started (pids), with its role. */
  processes(): { name: ProcName; proc: TrackedProcess }[] {
    return (['witness', 'a', 'b'] as const).flatMap((name) => this.history[name].map((proc) => ({ name, proc })));
  }

  /**
   * Kills the pair's processes by PID, closes proxies and clients, then waits up to one lease for
   * the workloads (the watchdogs stop them when their sidecar's pipe closes) and SIGKILLs by PID
   * any still alive. Returns the pids it had to kill.
   */
  async teardown(keepDir = false): Promise<number[]> {
    if (this.closed) return [];
    this.closed = true;
    for (const { proc } of this.processes()) {
      proc.killNow('SIGCONT');
      proc.kill('SIGKILL');
    }
    await Promise.all(this.processes().map(({ proc }) => proc.waitForExit(5000).catch(() => undefined)));
    for (const node of ['a', 'b'] as const) this.dropClient(node);
    await Promise.all(Object.values(this.proxies).map((p) => p.close()));
    const pids = new Set(this.intervals().map((iv) => iv.pid));
    const until = performance.now() + this.options.leaseMs + 1000;
    let left = [...pids].filter(isAlive);
    while (left.length > 0 && performance.now() < until) {
      await sleep(20);
      left = left.filter(isAlive);
    }
    for (const pid of left) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone, or not a group leader
        }
      }
    }
    if (!keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}
