/**
 * A failover pair of real processes for the benchmarks: test/support/cluster.ts's Cluster (one
 * `witness serve`, two `witness sidecar`s, a: primary, b: secondary, each running
 * test/support/workload.ts under its watchdog, and optionally a FaultProxy on every directed link)
 * with the lease, heartbeat, timeout and stop timeout as parameters and no mocha hooks.
 *
 * Every process is started with spawnTracked (killed by PID by the benchmark's cleanup);
 * teardown() kills them, closes the proxies, and SIGKILLs by PID any workload of the run log still
 * alive after one lease.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import { Cluster, isAlive, type LogLine, type NodeName, type ProcName } from '../support/cluster';
import type { TrackedProcess } from '../support/processes';
import type { RunInterval } from '../support/run-intervals';
import { sleep } from './common';

export { LINKS, timeline, type LinkName, type LogLine, type NodeName, type ProcName } from '../support/cluster';

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

const START_TIMEOUT_MS = 15_000;

export class Pair {
  private closed = false;

  private constructor(
    readonly cluster: Cluster,
    readonly options: PairOptions,
  ) {}

  get dir(): string {
    return this.cluster.dir;
  }

  get ports(): Record<ProcName, number> {
    return this.cluster.ports;
  }

  get runLog(): string {
    return this.cluster.runLog;
  }

  /** Starts the witness, the proxies (if any) and both sidecars; resolves once all are up. */
  static async start(options: PairOptions): Promise<Pair> {
    const cluster = await Cluster.create({
      ...options,
      // The active side stays where a failover put it: every trial then fails over the other way.
      failback: 'manual',
      failbackDelay: '30s', // the sidecar's default (irrelevant under manual failback)
      echo: false,
      startTimeoutMs: START_TIMEOUT_MS,
      // A safety net against orphans only.
      maxRuntimeMs: 3_600_000,
      dirPrefix: 'fw-bench-pair-',
    });
    const pair = new Pair(cluster, options);
    try {
      await cluster.startAll();
    } catch (error) {
      // Nothing of a pair that did not come up is left behind: processes, proxies, directory.
      await pair.teardown();
      throw error;
    }
    return pair;
  }

  /** The current (latest) process of `name`. */
  proc(name: ProcName): TrackedProcess {
    return this.cluster.proc(name);
  }

  /** Restarts `name` with the same arguments (kills it first if it still runs). */
  restart(name: ProcName): Promise<TrackedProcess> {
    return this.cluster.restart(name);
  }

  /** Blackholes every link of `node`: connections stay open, nothing is delivered. */
  isolate(node: NodeName): void {
    this.cluster.isolate(node, 'blackhole');
  }

  /** Back to 'pass', resetting the connections that lived through the blackhole (fast recovery). */
  rejoin(node: NodeName): void {
    this.cluster.rejoin(node, { reset: true });
  }

  /** GetState of one sidecar; undefined when it does not answer within a short deadline. */
  state(node: NodeName): Promise<SidecarState__Output | undefined> {
    return this.cluster.state(node);
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
    return this.cluster.intervals();
  }

  /** Parsed JSON log lines of every process of `name` so far (restarts included). */
  logs(name: ProcName): LogLine[] {
    return this.cluster.logs(name);
  }

  logged(name: ProcName, msg: string): LogLine[] {
    return this.cluster.logged(name, msg);
  }

  /** Every process of the pair ever started (pids), with its role. */
  processes(): { name: ProcName; proc: TrackedProcess }[] {
    return this.cluster.processes();
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
    this.cluster.closeClients();
    await this.cluster.closeProxies();
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
    if (!keepDir) fs.rmSync(this.cluster.dir, { recursive: true, force: true });
    return left;
  }
}
