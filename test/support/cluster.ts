/**
 * A whole failover group of real processes on loopback, for end-to-end scenarios
 * (design §13): one `witness serve`, two `witness sidecar`s (node a, the primary, and
 * node b, the secondary) each running test/support/workload.ts under its watchdog, and a
 * FaultProxy on every directed link:
 *
 *   a->witness   a's --witness points at it, target: the witness
 *   b->witness   b's --witness points at it, target: the witness
 *   a->b         a's --peer points at it, target: b's --listen port (a's heartbeats to b)
 *   b->a         b's --peer points at it, target: a's --listen port (b's heartbeats to a)
 *
 * Status queries (GetState) go straight to each sidecar's --listen port, never through a proxy.
 *
 * Use `useCluster()` inside a mocha `describe`: its afterEach SIGCONTs then SIGKILLs every process
 * by PID, closes the proxies, then asserts that no workload process is left alive and that no two
 * run intervals overlap (S1). Every wait here is bounded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { SidecarClient } from '../../src/gen/witness/v1/Sidecar';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { GROUP_KEY_METADATA } from '../../src/wire/caller-credentials';
import { FaultProxy } from './fault-proxy';
import net from 'node:net';
import { killAllTracked, spawnTracked, trackedProcesses, type TrackedProcess } from './processes';
import { findOverlaps, formatOverlaps, formatTimeline, readIntervals, type RunInterval } from './run-intervals';
import { type KeyPair, type TestCerts, tlsCredentials } from './test-certs';
import { cleanEnv, OPEN_REGISTRATION, WITNESS_MAIN } from './witness-process';
import { WORKLOAD_SCRIPT } from './workload';

export type NodeName = 'a' | 'b';
export type ProcName = NodeName | 'witness';
export type LinkName = 'a->witness' | 'b->witness' | 'a->b' | 'b->a';
export const LINKS: readonly LinkName[] = ['a->witness', 'b->witness', 'a->b', 'b->a'];

/** The configured lease (witness --lease, sidecars --lease): what the failover bounds scale with. */
export const LEASE_MS = 1000;
export const HEARTBEAT_MS = 100;
export const TIMEOUT_MS = 500;
export const STOP_TIMEOUT_MS = 300;
/** Default bound on a process's start (spawn, bind, first log line). */
const START_TIMEOUT_MS = 10_000;
/** Deadline of a GetState call: a SIGSTOPped or blackholed sidecar answers nothing. */
const STATE_DEADLINE_MS = 300;
/** Polling period of waitFor. */
export const POLL_MS = 20;

export interface ClusterOptions {
  failback?: 'auto' | 'manual';
  failbackDelay?: string;
  mode?: 'standard' | 'simple';
  /** The witness's --log-level; 'debug' logs its refusals. Default 'info'. */
  witnessLogLevel?: string;
  /** Echo every process's output to stderr (debugging). */
  echo?: boolean;
  /** Witness --lease and --default-lease, sidecars' --lease. Default LEASE_MS. */
  leaseMs?: number;
  /** Sidecars' --heartbeat. Default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** Sidecars' --timeout. Default TIMEOUT_MS. */
  timeoutMs?: number;
  /** Sidecars' --stop-timeout. Default STOP_TIMEOUT_MS. */
  stopTimeoutMs?: number;
  /** A FaultProxy on every link (default); false: the sidecars connect to each other directly. */
  proxies?: boolean;
  /** The workload's --tick (its log line rate). Default: the workload's own. */
  tickMs?: number;
  /** The workload's --max-runtime, a safety net against orphans only. Default 120000. */
  maxRuntimeMs?: number;
  /** Bound on a process's start (spawn, bind, first log line). Default 10 s. */
  startTimeoutMs?: number;
  /** Prefix of the temporary directory's name. Default 'fw-e2e-'. */
  dirPrefix?: string;
  /** Node options per process (e.g. --cpu-prof), before the script. */
  execArgv?: (name: ProcName) => string[];
  /**
   * mTLS everywhere with these certificates (test/support/test-certs.ts, nodes g1/a and g1/b): the
   * witness and both sidecars require client certificates of the CA, and GetState presents the operator's.
   */
  tls?: TestCerts;
  /**
   * The witness's admission (design §17.1) and credentials, e.g. `--groups-file F`; default: open
   * registration without TLS, the CA vouching for identities with it.
   */
  witnessArgs?: readonly string[];
  /** Further options of a sidecar. */
  sidecarArgs?: (node: NodeName) => readonly string[];
  /**
   * The workload command of a sidecar (after its `--`); default test/support/workload.ts with the
   * run log. Another workload writes no run log: the S1 check of the teardown then sees nothing.
   */
  workload?: (node: NodeName) => readonly string[];
  /**
   * Witness endpoints (host:port) the test runs itself, e.g. replicas over etcd: the sidecars'
   * --witness lists them in this order, and the cluster starts no witness of its own.
   */
  witnessEndpoints?: readonly string[];
  /** The program each process of `name` runs (e.g. an older install, for an upgrade); default this build's. */
  main?: (name: ProcName) => string;
  /** The group both sidecars join. Default 'g1'. */
  group?: string;
  /** The group key (design §17.3): both sidecars get `--group-key-file file`, GetState sends `key`. */
  groupKey?: { readonly file: string; readonly key: string };
}

type Optional =
  'tickMs' | 'execArgv' | 'tls' | 'witnessArgs' | 'sidecarArgs' | 'workload' | 'groupKey' | 'witnessEndpoints' | 'main';
type ResolvedOptions = Required<Omit<ClusterOptions, Optional>> & Pick<ClusterOptions, Optional>;

/** A parsed pino line, plus when the test process read it (ms, shared timeline). */
export interface LogLine {
  readonly msg?: string;
  readonly time?: number;
  readonly node?: string;
  readonly epoch?: string;
  readonly why?: string;
  readonly [key: string]: unknown;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { timeline } from './timeline';

/** Exists and is not a zombie (an orphan reparented to a PID 1 that never reaps stays a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** `process.kill(pid, 0)` says the pid is gone (ESRCH), or it is only a zombie (dead, unreaped). */
export function pidGone(pid: number): { gone: boolean; how: 'ESRCH' | 'zombie' | 'alive' } {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return { gone: true, how: 'ESRCH' };
  }
  return isAlive(pid) ? { gone: false, how: 'alive' } : { gone: true, how: 'zombie' };
}

/** Pids of live processes whose command line contains `needle` (e.g. the run log path). */
export function pidsWithCmdline(needle: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle) && isAlive(pid)) found.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/**
 * A free port on 127.0.0.1 for a process to bind later, picked below the kernel's ephemeral range
 * (32768-60999 by default): ports from freePort() (listen on 0) come from that range, where
 * outgoing connections of every process on the machine take their local ports too, so one could
 * take it before the process binds it. Still checked free; startProcess retries on EADDRINUSE.
 */
export async function listenPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('listenPort: no free port found in 20000-32000');
}

function parseJsonLines(lines: readonly string[]): LogLine[] {
  const out: LogLine[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue; // the workload's own stdout lines share the sidecar's stdout
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // not a log line
    }
  }
  return out;
}

export interface ActiveView {
  a: SidecarState__Output | undefined;
  b: SidecarState__Output | undefined;
  /** The nodes whose sidecar answered and says the workload is active (starting or running). */
  active: NodeName[];
}

export class Cluster {
  /** The fault proxies on the links; none when started with `proxies: false`. */
  private readonly links: Partial<Record<LinkName, FaultProxy>>;
  readonly ports: Record<ProcName, number>;
  /** Every process started for each role, oldest first (restarts append). */
  private readonly history: Record<ProcName, TrackedProcess[]> = { witness: [], a: [], b: [] };
  private readonly clients: Partial<Record<NodeName, SidecarClient>> = {};
  /** Set by a test that expects overlaps (simple mode): afterEach then skips the S1 assertion. */
  expectOverlaps = false;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly options: ResolvedOptions,
    ports: Record<ProcName, number>,
    links: Partial<Record<LinkName, FaultProxy>>,
  ) {
    this.ports = ports;
    this.links = links;
  }

  /** The fault proxy on every link. Throws if the cluster runs without them. */
  get proxies(): Record<LinkName, FaultProxy> {
    if (!this.options.proxies) throw new Error('this cluster runs without fault proxies');
    return this.links as Record<LinkName, FaultProxy>;
  }

  get runLog(): string {
    return path.join(this.dir, 'run.log');
  }

  get dataDir(): string {
    return path.join(this.dir, 'witness-data');
  }

  /**
   * Starts the witness (and waits for "witness listening"), the four proxies, then both sidecars
   * (and waits for their first log line). Throws if anything does not come up in time.
   */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = await Cluster.create(options);
    await cluster.startAll();
    return cluster;
  }

  /** The directory, ports and proxies of a cluster, no process started yet (see startAll). */
  static async create(options: ClusterOptions = {}): Promise<Cluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), options.dirPrefix ?? 'fw-e2e-'));
    const ports = { witness: await listenPort(), a: await listenPort(), b: await listenPort() };
    const links: Partial<Record<LinkName, FaultProxy>> = {};
    if (options.proxies ?? true) {
      const target = (port: number) => ({ host: '127.0.0.1', port });
      links['a->witness'] = await FaultProxy.start(target(ports.witness));
      links['b->witness'] = await FaultProxy.start(target(ports.witness));
      links['a->b'] = await FaultProxy.start(target(ports.b));
      links['b->a'] = await FaultProxy.start(target(ports.a));
    }
    const cluster = new Cluster(
      dir,
      {
        failback: options.failback ?? 'auto',
        failbackDelay: options.failbackDelay ?? '2s',
        mode: options.mode ?? 'standard',
        witnessLogLevel: options.witnessLogLevel ?? 'info',
        echo: options.echo ?? process.env.E2E_ECHO === '1',
        leaseMs: options.leaseMs ?? LEASE_MS,
        heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS,
        timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
        stopTimeoutMs: options.stopTimeoutMs ?? STOP_TIMEOUT_MS,
        proxies: options.proxies ?? true,
        tickMs: options.tickMs,
        maxRuntimeMs: options.maxRuntimeMs ?? 120_000,
        startTimeoutMs: options.startTimeoutMs ?? START_TIMEOUT_MS,
        dirPrefix: options.dirPrefix ?? 'fw-e2e-',
        execArgv: options.execArgv,
        tls: options.tls,
        witnessArgs: options.witnessArgs,
        sidecarArgs: options.sidecarArgs,
        workload: options.workload,
        witnessEndpoints: options.witnessEndpoints,
        group: options.group ?? 'g1',
        groupKey: options.groupKey,
        main: options.main,
      },
      ports,
      links,
    );
    current = cluster;
    fs.mkdirSync(cluster.dataDir, { recursive: true });
    return cluster;
  }

  /**
   * Starts the witness (and waits for "witness listening"), then both sidecars (and waits for
   * their first log line).
   */
  async startAll(): Promise<void> {
    if (this.options.witnessEndpoints === undefined) await this.startProcess('witness');
    if (this.options.mode === 'simple') {
      // Simple mode has no witness to wait for: a secondary that hears no primary within its
      // timeout of starting runs, as documented. On a loaded machine node's own start-up can
      // exceed the timeout, so start the primary first to test the cold start with the link up.
      await this.startProcess('a');
      await this.startProcess('b');
    } else {
      await Promise.all([this.startProcess('a'), this.startProcess('b')]);
    }
  }

  // ---- processes ------------------------------------------------------------------------------

  /** Where `name`'s side of `link` connects: its proxy, or without proxies the target itself. */
  private address(link: LinkName): string {
    const proxy = this.links[link];
    if (proxy) return `127.0.0.1:${proxy.port}`;
    const to = link.endsWith('witness') ? 'witness' : (link.slice(3) as NodeName);
    return `127.0.0.1:${this.ports[to]}`;
  }

  private args(name: ProcName): string[] {
    const o = this.options;
    const lease = `${o.leaseMs}ms`;
    if (name === 'witness') {
      return [
        'serve',
        ...(o.witnessArgs ?? (o.tls === undefined ? OPEN_REGISTRATION : [])),
        '--listen',
        `127.0.0.1:${this.ports.witness}`,
        '--data-dir',
        this.dataDir,
        '--lease',
        lease,
        '--default-lease',
        lease,
        '--log-level',
        this.options.witnessLogLevel,
        ...this.tlsArgs(o.tls?.witness),
      ];
    }
    const peerLink: LinkName = name === 'a' ? 'a->b' : 'b->a';
    return [
      'sidecar',
      '--group',
      o.group,
      '--node',
      name,
      '--role',
      name === 'a' ? 'primary' : 'secondary',
      '--listen',
      `127.0.0.1:${this.ports[name]}`,
      '--peer',
      this.address(peerLink),
      '--peer-node',
      name === 'a' ? 'b' : 'a',
      '--witness',
      (o.witnessEndpoints ?? [this.address(`${name}->witness`)]).join(';'),
      '--heartbeat',
      `${o.heartbeatMs}ms`,
      '--lease',
      lease,
      '--timeout',
      `${o.timeoutMs}ms`,
      '--stop-timeout',
      `${o.stopTimeoutMs}ms`,
      '--failback',
      this.options.failback,
      '--failback-delay',
      this.options.failbackDelay,
      '--mode',
      this.options.mode,
      ...this.tlsArgs(o.tls?.node(o.group, name)),
      ...(o.sidecarArgs?.(name) ?? []),
      ...(o.groupKey === undefined ? [] : ['--group-key-file', o.groupKey.file]),
      '--',
      ...(o.workload?.(name) ?? this.testWorkload()),
    ];
  }

  private testWorkload(): string[] {
    const o = this.options;
    return [
      process.execPath,
      WORKLOAD_SCRIPT,
      '--log',
      this.runLog,
      ...(o.tickMs === undefined ? [] : ['--tick', String(o.tickMs)]),
      // Safety net against orphans only: every test ends long before.
      '--max-runtime',
      String(o.maxRuntimeMs),
    ];
  }

  /** --tls-* options presenting `pair` and requiring client certificates of the CA; none without TLS. */
  private tlsArgs(pair: KeyPair | undefined): string[] {
    const certs = this.options.tls;
    if (certs === undefined || pair === undefined) return [];
    return ['--tls-cert', pair.cert, '--tls-key', pair.key, '--tls-ca', certs.ca, '--tls-client-auth', 'require'];
  }

  /**
   * Spawns `name` (again) and waits for its first log line. If its port was taken meanwhile
   * (EADDRINUSE), moves it to another port, points the proxies in front of it there, and retries.
   */
  async startProcess(name: ProcName): Promise<TrackedProcess> {
    for (let attempt = 1; ; attempt++) {
      const proc = spawnTracked(
        process.execPath,
        [...(this.options.execArgv?.(name) ?? []), this.options.main?.(name) ?? WITNESS_MAIN, ...this.args(name)],
        {
          name: name === 'witness' ? 'witness' : `sidecar ${name}`,
          env: cleanEnv(),
          echo: this.options.echo,
          maxLines: 20_000,
        },
      );
      this.history[name].push(proc);
      const ready = name === 'witness' ? /"msg":"witness listening"/ : /"failoverBoundMs"/;
      try {
        await proc.waitForLine(ready, this.options.startTimeoutMs, { stream: 'stdout' });
        return proc;
      } catch (error) {
        await proc.waitForExit(1000).catch(() => undefined);
        if (attempt >= 3 || proc.running || !/EADDRINUSE/.test(proc.output(50))) throw error;
        this.history[name].pop();
        this.ports[name] = await listenPort();
        await this.retarget(name);
      }
    }
  }

  /** Re-creates the proxies in front of `name` (same listen ports) towards its current port. */
  private async retarget(name: ProcName): Promise<void> {
    const links: LinkName[] = name === 'witness' ? ['a->witness', 'b->witness'] : [name === 'a' ? 'b->a' : 'a->b'];
    for (const link of links) {
      const old = this.links[link];
      if (old === undefined) continue; // no proxies: the peer was given the old port
      const mode = old.mode;
      const port = old.port;
      await old.close();
      const proxy = await FaultProxy.start({ host: '127.0.0.1', port: this.ports[name] }, port);
      proxy.setMode(mode);
      this.links[link] = proxy;
    }
  }

  /** The current (latest) process of `name`. */
  proc(name: ProcName): TrackedProcess {
    const list = this.history[name];
    const last = list[list.length - 1];
    if (last === undefined) throw new Error(`no ${name} process was started`);
    return last;
  }

  /** kill -9. Resolves once the process has exited. */
  async kill(name: ProcName): Promise<void> {
    const proc = this.proc(name);
    proc.kill('SIGKILL');
    await proc.waitForExit(5000);
  }

  /** SIGSTOP: the process freezes (its workload, under the watchdog, does not). */
  freeze(name: ProcName): void {
    if (!this.proc(name).kill('SIGSTOP')) throw new Error(`could not SIGSTOP ${name}`);
  }

  /** SIGCONT. */
  thaw(name: ProcName): void {
    if (!this.proc(name).kill('SIGCONT')) throw new Error(`could not SIGCONT ${name}`);
  }

  /**
   * Restarts `name` with the same arguments (same ports, same data directory): kills it (-9)
   * first if it still runs. `wipe` (witness only) deletes its data directory in between.
   */
  async restart(name: ProcName, options: { wipe?: boolean } = {}): Promise<TrackedProcess> {
    if (this.proc(name).running) await this.kill(name);
    if (options.wipe) {
      if (name !== 'witness') throw new Error('only the witness has a store to wipe');
      fs.rmSync(this.dataDir, { recursive: true, force: true });
      fs.mkdirSync(this.dataDir, { recursive: true });
    }
    if (name !== 'witness') this.dropClient(name);
    return this.startProcess(name);
  }

  // ---- faults ---------------------------------------------------------------------------------

  /** Refused connections: existing ones are reset, new ones reset at once. */
  cut(link: LinkName): void {
    this.proxies[link].setMode('refuse');
  }

  /** Silent loss both ways: connections stay open, nothing is delivered, no RST. */
  blackhole(link: LinkName): void {
    this.proxies[link].setMode('blackhole');
  }

  /**
   * Back to 'pass'. A connection that lived through a blackhole stays dead: with `reset` it is
   * reset at once (fast recovery); without, the sidecars' gRPC keepalive has to notice it.
   */
  heal(link: LinkName, options: { reset?: boolean } = {}): void {
    this.proxies[link].setMode('pass');
    if (options.reset) this.proxies[link].resetConnections();
  }

  /** The links that carry node's traffic with the witness and with its peer, both directions. */
  linksOf(node: NodeName): LinkName[] {
    return node === 'a' ? ['a->witness', 'a->b', 'b->a'] : ['b->witness', 'b->a', 'a->b'];
  }

  /** Cuts `node` off from both the witness and its peer (blackhole by default: connections hang). */
  isolate(node: NodeName, mode: 'blackhole' | 'refuse' = 'blackhole'): void {
    for (const link of this.linksOf(node)) this.proxies[link].setMode(mode);
  }

  /** Heals every link of `node` (see heal). */
  rejoin(node: NodeName, options: { reset?: boolean } = {}): void {
    for (const link of this.linksOf(node)) this.heal(link, options);
  }

  // ---- observation ----------------------------------------------------------------------------

  private client(node: NodeName): SidecarClient {
    let client = this.clients[node];
    if (client === undefined) {
      const { grpcObject } = loadWitnessProto();
      const certs = this.options.tls;
      const credentials =
        certs === undefined ? grpc.credentials.createInsecure() : tlsCredentials(certs, certs.operator);
      client = new grpcObject.witness.v1.Sidecar(`127.0.0.1:${this.ports[node]}`, credentials, {
        // A node's certificate names it NODE.GROUP (witness certs init), not by its address.
        ...(certs === undefined ? {} : { 'grpc.ssl_target_name_override': `${node}.g1` }),
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

  /** Closes the GetState clients of both sidecars. */
  closeClients(): void {
    for (const node of ['a', 'b'] as const) this.dropClient(node);
  }

  /** Closes every fault proxy (none without proxies). */
  async closeProxies(): Promise<void> {
    await Promise.all(Object.values(this.links).map((p) => p.close()));
  }

  /** GetState of one sidecar; undefined when it does not answer within a short deadline. */
  state(node: NodeName): Promise<SidecarState__Output | undefined> {
    if (!this.proc(node).running) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const metadata = new grpc.Metadata();
      if (this.options.groupKey !== undefined) metadata.set(GROUP_KEY_METADATA, this.options.groupKey.key);
      this.client(node).GetState({}, metadata, { deadline: Date.now() + STATE_DEADLINE_MS }, (error, state) => {
        resolve(error ? undefined : state);
      });
    });
  }

  /** GetState of both sidecars (a dead or frozen one is undefined) and which say they are active. */
  async active(): Promise<ActiveView> {
    const [a, b] = await Promise.all([this.state('a'), this.state('b')]);
    const active: NodeName[] = [];
    if (a?.active) active.push('a');
    if (b?.active) active.push('b');
    return { a, b, active };
  }

  /**
   * Polls `predicate` every 20 ms until it returns true; resolves with the ms it took. Throws
   * after `timeoutMs` with `what`, the states of both sidecars and the timeline.
   */
  async waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      if (await predicate()) return performance.now() - t0;
      if (performance.now() - t0 > timeoutMs) {
        const view = await this.active();
        throw new Error(
          `not within ${timeoutMs} ms: ${what}\nproxies: ${this.linkStats()}\n` +
            `a: ${JSON.stringify(view.a)}\nb: ${JSON.stringify(view.b)}\n${formatTimeline(this.intervals())}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** The run intervals of every workload so far (from the run log). */
  intervals(): RunInterval[] {
    return readIntervals(this.runLog, { allowMissing: true });
  }

  /** Run intervals of one node's workloads. */
  intervalsOf(node: NodeName): RunInterval[] {
    return this.intervals().filter((iv) => iv.node === node);
  }

  /** Intervals still open (no stop line yet). Under a stop, the interval may still run. */
  openIntervals(): RunInterval[] {
    return this.intervals().filter((iv) => iv.endedBy === 'last-tick');
  }

  /** The parsed JSON log lines of every process of `name` so far (restarts included), in order. */
  logs(name: ProcName): LogLine[] {
    return this.history[name].flatMap((p) => parseJsonLines(p.stdoutLines));
  }

  /** Log lines of `name` whose msg is `msg`. */
  logged(name: ProcName, msg: string): LogLine[] {
    return this.logs(name).filter((l) => l.msg === msg);
  }

  /**
   * Per link: connections accepted so far and currently open, for failure messages (e.g. "no new
   * connection was attempted through a->witness after the heal").
   */
  linkStats(): string {
    if (!this.options.proxies) return 'no proxies';
    return LINKS.map((link) => {
      const st = this.proxies[link].stats();
      return `${link}: ${typeof this.proxies[link].mode === 'string' ? String(this.proxies[link].mode) : 'delay'}, accepted ${st.accepted}, open ${st.open}`;
    }).join('; ');
  }

  /** Every process of the cluster ever started, with its role. */
  processes(): { name: ProcName; proc: TrackedProcess }[] {
    return (['witness', 'a', 'b'] as const).flatMap((name) => this.history[name].map((proc) => ({ name, proc })));
  }

  /** Recent output of every process, for failure messages. */
  output(n = 40): string {
    return (['witness', 'a', 'b'] as const).flatMap((name) => this.history[name].map((p) => p.output(n))).join('\n');
  }

  // ---- S1 -------------------------------------------------------------------------------------

  /** Throws if two run intervals overlap, with the overlaps and the timeline. */
  assertNoOverlaps(): void {
    const intervals = this.intervals();
    const overlaps = findOverlaps(intervals);
    if (overlaps.length > 0) {
      throw new Error(
        `S1 violated: two workloads ran at once\n${formatOverlaps(overlaps)}\n${formatTimeline(intervals)}`,
      );
    }
  }

  // ---- teardown -------------------------------------------------------------------------------

  /**
   * SIGCONT then SIGKILL every tracked process by PID, close the proxies and clients; then
   * (bounded: the watchdogs stop the workloads when their sidecar's pipe closes) assert that no
   * workload process of this cluster is still alive, and that no two run intervals overlapped.
   */
  async teardown(options: { keepDir?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (current === this) current = undefined;
    for (const p of trackedProcesses()) p.killNow('SIGCONT');
    await killAllTracked(5000);
    this.closeClients();
    await this.closeProxies();

    const intervals = this.intervals();
    const logged = new Set(intervals.map((iv) => iv.pid));
    // A workload other than the test's own writes no run log: its sidecar logged its pid.
    for (const node of ['a', 'b'] as const)
      for (const line of this.logged(node, 'workload running')) logged.add(Number(line.workloadPid));
    // The watchdogs are no tracked children (their sidecar spawned them): a teardown that returned
    // while one still exits would leave a process behind its caller.
    const watchdogs = new Set<number>();
    for (const node of ['a', 'b'] as const)
      for (const line of this.logged(node, 'watchdog started')) watchdogs.add(Number(line.watchdogPid));
    const survivors = (): number[] => {
      const pids = new Set([...logged, ...watchdogs].filter(isAlive));
      for (const pid of pidsWithCmdline(this.runLog)) pids.add(pid);
      return [...pids];
    };
    // A watchdog whose sidecar died stops its workload at once (SIGTERM, SIGKILL after
    // --stop-timeout), then exits: give both one lease, the bound design §8.3 promises after kill -9.
    const until = performance.now() + this.options.leaseMs;
    let left = survivors();
    while (left.length > 0 && performance.now() < until) {
      await sleep(POLL_MS);
      left = survivors();
    }
    const problems: string[] = [];
    if (left.length > 0) {
      for (const pid of left) {
        try {
          process.kill(-pid, 'SIGKILL'); // the workload leads its own process group
        } catch {
          // not a group leader
        }
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      problems.push(
        `workload or watchdog process(es) still alive ${this.options.leaseMs} ms after their sidecars were killed: ${left.join(', ')}`,
      );
    }
    if (!this.expectOverlaps) {
      const overlaps = findOverlaps(this.intervals());
      if (overlaps.length > 0) problems.push(`S1 violated: two workloads ran at once\n${formatOverlaps(overlaps)}`);
    }
    if (problems.length > 0) {
      throw new Error(`${problems.join('\n')}\n${formatTimeline(this.intervals())}`);
    }
    if (!options.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Polls every 20 ms for `ms` and fails as soon as `invariant` is false (something that must
   * NOT happen during an observation window, e.g. "b never runs").
   */
  async holdFor(what: string, invariant: () => boolean | Promise<boolean>, ms: number): Promise<void> {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      if (!(await invariant())) {
        const view = await this.active();
        throw new Error(
          `broken after ${Math.round(performance.now() - t0)} ms of ${ms}: ${what}\n` +
            `a: ${JSON.stringify(view.a)}\nb: ${JSON.stringify(view.b)}\n${formatTimeline(this.intervals())}`,
        );
      }
      await sleep(POLL_MS);
    }
  }
}

let current: Cluster | undefined;

/**
 * Registers the afterEach teardown in the calling `describe`. Put one scenario per `describe`, so
 * that a failing teardown check (it fails the hook) only skips that describe's remaining tests.
 */
export function useCluster(): void {
  afterEach(async function () {
    this.timeout(20_000);
    const cluster = current;
    if (cluster === undefined) {
      await killAllTracked(5000);
      return;
    }
    const failed = this.currentTest?.state === 'failed';
    if (failed && this.currentTest) {
      // Keep the evidence for the report (the run log is also printed on failure below).
      process.stderr.write(`\n--- ${this.currentTest.fullTitle()}: run log and output kept in ${cluster.dir}\n`);
      process.stderr.write(`${formatTimeline(cluster.intervals())}\n${cluster.output(60)}\n`);
      fs.writeFileSync(path.join(cluster.dir, 'output.txt'), cluster.output(20_000));
    }
    await cluster.teardown({ keepDir: failed });
  });
}
