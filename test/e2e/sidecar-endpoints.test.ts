/**
 * The sidecar's witness endpoint list, zones, health and reflection, and its Peer service's
 * refusals, with real processes on loopback (issue 3, items 5 and 7):
 *
 * - `--witness 'P1;P2' --failback-probe 1s`: ONE witness reached through two FaultProxies per
 *   sidecar (a->P1, a->P2, b->P1, b->P2; the endpoints of a list must share one store, which with
 *   the embedded store means one witness). Blackholing P1 moves both sidecars to P2 without
 *   interrupting a's workload and without b ever running; healing P1 moves them back within about
 *   one probe period plus a few timeouts.
 * - `--zone dc2 --witness 'P1@dc1;P2@dc2'`: P2 is used from the start.
 * - `--health-active-only true`: health SERVING on the active sidecar only, and on the other one
 *   within the failover bound once the active one is killed.
 * - Reflection (buf curl), and Peer heartbeats from another group or malformed.
 *
 * Configuration: --heartbeat 100ms --lease 1s --timeout 500ms --stop-timeout 300ms, witness
 * --lease 1s --default-lease 1s. Every wait is bounded; afterEach SIGKILLs every process by PID,
 * then checks that no workload process is left and that no two run intervals overlapped.
 */
import { RULE_NAMES } from '../../src/core/sidecar/decision-rules';
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { AdminClient } from '../../src/gen/witness/v1/Admin';
import type { GroupStatus__Output } from '../../src/gen/witness/v1/GroupStatus';
import type { PeerClient } from '../../src/gen/witness/v1/Peer';
import type { PeerHeartbeatResponse__Output } from '../../src/gen/witness/v1/PeerHeartbeatResponse';
import type { PeerState } from '../../src/gen/witness/v1/PeerState';
import type { SidecarClient } from '../../src/gen/witness/v1/Sidecar';
import type { SidecarState__Output } from '../../src/gen/witness/v1/SidecarState';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { isAlive, listenPort, pidsWithCmdline } from '../support/cluster';
import { FaultProxy } from '../support/fault-proxy';
import { killAllTracked, spawnNode, type TrackedProcess } from '../support/processes';
import { timeline } from '../support/timeline';
import {
  findOverlaps,
  formatOverlaps,
  formatTimeline,
  readIntervals,
  type RunInterval,
} from '../support/run-intervals';
import {
  bufCurl,
  bufJson,
  callError,
  cleanEnv,
  rawUnary,
  startWitness,
  unary,
  waitUntil,
  WITNESS_MAIN,
  type RunningWitness,
} from '../support/witness-process';
import { WORKLOAD_SCRIPT } from '../support/workload';

const HEARTBEAT_MS = 100;
const TIMEOUT_MS = 500;
const LEASE_MS = 1000;
const PROBE_MS = 1000;
const WITNESS_ARGS = ['--lease', '1s', '--default-lease', '1s'];
/** Bound on a sidecar's start (spawn, watchdog, bind, its "failoverBoundMs" line). */
const START_TIMEOUT_MS = 10_000;
/** Bound on a cold start: the witness's start-up grace (~1 s), peer silence, then the workload's start. */
const COLD_START_MS = 8000;
/** Deadline of one status or health call (a blackholed or dead sidecar answers nothing). */
const CALL_MS = 300;
/** The endpoint in use fails over within its deadline plus a few heartbeats; a few timeouts to spare. */
const SWITCH_BOUND_MS = 4 * TIMEOUT_MS;
/** Back to the first endpoint: the next probe (one period), its answer, a few timeouts to spare. */
const FAILBACK_BOUND_MS = PROBE_MS + 4 * TIMEOUT_MS;
/** Slack on the failover bound the sidecar reports: the workload's own start and the polling. */
const FAILOVER_SLACK_MS = 1000;
const POLL_MS = 20;

type NodeName = 'a' | 'b';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * TCP sockets of process `pid` whose remote end is 127.0.0.1:`port`, counted by state (from
 * /proc/net/tcp): whether a sidecar still holds connections that lived through a blackhole.
 */
function socketsTo(pid: number, port: number): Record<string, number> {
  const states: Record<string, string> = {
    '01': 'ESTABLISHED',
    '06': 'TIME_WAIT',
    '08': 'CLOSE_WAIT',
    '04': 'FIN_WAIT1',
    '05': 'FIN_WAIT2',
    '09': 'LAST_ACK',
  };
  const inodes = new Set<string>();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] !== undefined) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return {};
  }
  const counts: Record<string, number> = {};
  const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[2] !== wanted || !inodes.has(f[9] ?? '')) continue;
    const state = states[f[3] ?? ''] ?? `state ${f[3]}`;
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}

function report(line: string): void {
  process.stdout.write(`      [measure] ${line}\n`);
}

interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
}

let healthConstructor: grpc.ServiceClientConstructor | undefined;

function healthClient(address: string): HealthClient {
  if (healthConstructor === undefined) {
    const definition = protoLoader.loadSync(healthProtoPath, { enums: String });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    healthConstructor = loaded.grpc.health.v1.Health;
  }
  return new healthConstructor(address, grpc.credentials.createInsecure(), FAST_RECONNECT) as unknown as HealthClient;
}

const FAST_RECONNECT: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.min_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 200,
};

interface SidecarSpec {
  node: NodeName;
  group?: string;
  /** The --witness list. */
  witness: string;
  /** Extra flags (before `--`). */
  extra?: string[];
  /** Extra arguments of the workload (after --log FILE). */
  workload?: string[];
}

/** One test's processes, proxies and clients, all torn down (by PID) in afterEach. */
class Rig {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-endpoints-e2e-'));
  readonly ports: Record<NodeName, number> = { a: 0, b: 0 };
  readonly sidecars: Partial<Record<NodeName, TrackedProcess>> = {};
  witness: RunningWitness | undefined;
  private readonly proxies: FaultProxy[] = [];
  private readonly clients: grpc.Client[] = [];
  private readonly stateClients: Partial<Record<NodeName, SidecarClient>> = {};
  private readonly healthClients: Partial<Record<NodeName, HealthClient>> = {};

  get runLog(): string {
    return path.join(this.dir, 'run.log');
  }

  async startWitness(): Promise<RunningWitness> {
    const dataDir = path.join(this.dir, 'witness-data');
    fs.mkdirSync(dataDir, { recursive: true });
    this.witness = await startWitness(dataDir, WITNESS_ARGS);
    return this.witness;
  }

  async proxy(port: number): Promise<FaultProxy> {
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
    this.proxies.push(proxy);
    return proxy;
  }

  async pickPorts(): Promise<void> {
    this.ports.a = await listenPort();
    do this.ports.b = await listenPort();
    while (this.ports.b === this.ports.a);
  }

  address(node: NodeName): string {
    return `127.0.0.1:${this.ports[node]}`;
  }

  /** Spawns a sidecar (node a: primary, b: secondary; each the other's peer) and waits until it listens. */
  async startSidecar(spec: SidecarSpec): Promise<TrackedProcess> {
    const peer: NodeName = spec.node === 'a' ? 'b' : 'a';
    const args = [
      'sidecar',
      '--group',
      spec.group ?? 'g1',
      '--node',
      spec.node,
      '--role',
      spec.node === 'a' ? 'primary' : 'secondary',
      '--listen',
      this.address(spec.node),
      '--peer',
      this.address(peer),
      '--peer-node',
      peer,
      '--witness',
      spec.witness,
      '--heartbeat',
      `${HEARTBEAT_MS}ms`,
      '--lease',
      '1s',
      '--timeout',
      `${TIMEOUT_MS}ms`,
      '--stop-timeout',
      '300ms',
      ...(spec.extra ?? []),
      '--',
      process.execPath,
      WORKLOAD_SCRIPT,
      '--log',
      this.runLog,
      '--max-runtime',
      '120000',
      ...(spec.workload ?? []),
    ];
    const proc = spawnNode(WITNESS_MAIN, args, {
      name: `sidecar ${spec.node}`,
      env: cleanEnv(),
      maxLines: 20_000,
      echo: process.env.E2E_ECHO === '1',
    });
    this.sidecars[spec.node] = proc;
    await proc.waitForLine(/"failoverBoundMs"/, START_TIMEOUT_MS, { stream: 'stdout' });
    return proc;
  }

  /**
   * Starts a, then b once a listens: started together on a loaded machine, b could hear nothing
   * from a for a timeout and take the group itself (correct, but not the state these tests need).
   */
  async startPair(spec: (node: NodeName) => Omit<SidecarSpec, 'node'>): Promise<void> {
    for (const node of ['a', 'b'] as const) await this.startSidecar({ node, ...spec(node) });
  }

  client<C extends grpc.Client>(make: () => C): C {
    const client = make();
    this.clients.push(client);
    return client;
  }

  /** GetState of a sidecar; undefined when it is not running or does not answer in CALL_MS. */
  state(node: NodeName): Promise<SidecarState__Output | undefined> {
    if (this.sidecars[node]?.running !== true) return Promise.resolve(undefined);
    let client = this.stateClients[node];
    if (client === undefined) {
      const { grpcObject } = loadWitnessProto();
      client = new grpcObject.witness.v1.Sidecar(this.address(node), grpc.credentials.createInsecure(), FAST_RECONNECT);
      this.stateClients[node] = client;
    }
    const c = client;
    return new Promise((resolve) => {
      c.GetState({}, { deadline: Date.now() + CALL_MS }, (error, state) => resolve(error ? undefined : state));
    });
  }

  /** grpc.health.v1.Health/Check of service '' on a sidecar's port; the status, or the error's code name. */
  health(node: NodeName, service = ''): Promise<string> {
    let client = this.healthClients[node];
    if (client === undefined) {
      client = healthClient(this.address(node));
      this.healthClients[node] = client;
    }
    const c = client;
    return new Promise((resolve) => {
      c.Check({ service }, { deadline: Date.now() + CALL_MS }, (error, response) =>
        resolve(error ? `error ${grpc.status[error.code]}` : String(response?.status)),
      );
    });
  }

  intervals(): RunInterval[] {
    return readIntervals(this.runLog, { allowMissing: true });
  }

  intervalsOf(node: NodeName): RunInterval[] {
    return this.intervals().filter((iv) => iv.node === node);
  }

  /** Both sidecars' states and the run-log timeline, for failure messages. */
  async describe(): Promise<string> {
    const [a, b] = await Promise.all([this.state('a'), this.state('b')]);
    const proxies = this.proxies
      .map(
        (p) =>
          `${p.port}: ${typeof p.mode === 'string' ? p.mode : 'delay'} accepted ${p.stats().accepted} open ${p.stats().open}`,
      )
      .join('; ');
    return `a: ${JSON.stringify(a)}\nb: ${JSON.stringify(b)}\nproxies: ${proxies}\n${formatTimeline(this.intervals())}`;
  }

  /** Polls `predicate` until true; resolves with the ms it took; throws after `timeoutMs` with the states. */
  async waitFor(what: string, predicate: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      if (await predicate()) return performance.now() - t0;
      if (performance.now() - t0 > timeoutMs)
        throw new Error(`not within ${timeoutMs} ms: ${what}\n${await this.describe()}`);
      await sleep(POLL_MS);
    }
  }

  /** Polls `invariant` for `ms` and throws as soon as it is false. */
  async holdFor(what: string, invariant: () => Promise<boolean> | boolean, ms: number): Promise<void> {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      if (!(await invariant())) {
        throw new Error(
          `broken after ${Math.round(performance.now() - t0)} ms of ${ms}: ${what}\n${await this.describe()}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * SIGKILLs every tracked process (by PID), closes clients and proxies; then, bounded by one
   * lease (the watchdogs stop the workloads once their sidecar is gone), checks that no workload
   * process is left and that no two run intervals overlapped.
   */
  async teardown(keepDir: boolean): Promise<void> {
    await killAllTracked(5000);
    for (const c of [...this.clients, ...Object.values(this.stateClients), ...Object.values(this.healthClients)])
      c.close();
    await Promise.all(this.proxies.map((p) => p.close()));
    const logged = new Set(this.intervals().map((iv) => iv.pid));
    const survivors = (): number[] => {
      const pids = new Set([...logged].filter(isAlive));
      for (const pid of pidsWithCmdline(this.runLog)) pids.add(pid);
      return [...pids];
    };
    const until = performance.now() + LEASE_MS;
    let left = survivors();
    while (left.length > 0 && performance.now() < until) {
      await sleep(POLL_MS);
      left = survivors();
    }
    const problems: string[] = [];
    for (const pid of left) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone, or not a group leader
        }
      }
    }
    if (left.length > 0)
      problems.push(
        `workload process(es) still alive ${LEASE_MS} ms after their sidecars were killed: ${left.join(', ')}`,
      );
    const overlaps = findOverlaps(this.intervals());
    if (overlaps.length > 0) problems.push(`S1 violated: two workloads ran at once\n${formatOverlaps(overlaps)}`);
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${formatTimeline(this.intervals())}`);
    if (!keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function adminOf(rig: Rig, w: RunningWitness): AdminClient {
  const { grpcObject } = loadWitnessProto();
  return rig.client(() => new grpcObject.witness.v1.Admin(w.address, grpc.credentials.createInsecure()));
}

function getGroup(admin: AdminClient, group: string): Promise<GroupStatus__Output> {
  return unary<GroupStatus__Output>((cb) => admin.GetGroup({ group }, { deadline: Date.now() + 2000 }, cb));
}

/** a runs on a witness lease and a peer lease; b hears both a and the witness. */
async function steady(
  rig: Rig,
  extra: (a: SidecarState__Output, b: SidecarState__Output) => boolean = () => true,
): Promise<void> {
  await rig.waitFor(
    'steady state: a active on both leases, b standby hearing a and the witness',
    async () => {
      const [a, b] = await Promise.all([rig.state('a'), rig.state('b')]);
      return (
        a !== undefined &&
        b !== undefined &&
        a.active &&
        a.workload === 'WORKLOAD_PHASE_RUNNING' &&
        a.witnessLeaseRemainingMs > 0 &&
        a.peerLeaseRemainingMs > 0 &&
        !b.active &&
        b.peerReachable &&
        b.witnessReachable &&
        // GetState says RUNNING once the watchdog has spawned it; its start line comes a moment later.
        rig.intervalsOf('a').length > 0 &&
        extra(a, b)
      );
    },
    COLD_START_MS,
  );
}

describe('sidecar witness endpoints, zones, health and reflection (real processes)', function () {
  this.timeout(60_000);
  let rig: Rig;

  beforeEach(() => {
    rig = new Rig();
  });

  afterEach(async function () {
    this.timeout(20_000);
    const failed = this.currentTest?.state === 'failed';
    if (failed) {
      const out = Object.values(rig.sidecars)
        .map((p) => p?.output(60))
        .join('\n');
      process.stderr.write(`\n--- ${this.currentTest?.fullTitle()}: kept in ${rig.dir}\n${out}\n`);
    }
    await rig.teardown(failed);
  });

  describe('ordered list with a failback probe (one witness through two proxies per sidecar)', () => {
    /**
     * a and b with `--witness 'P1;P2' --failback-probe 1s`, each through its own two proxies to
     * the one witness. Blackholes P1 (both sidecars' proxies), checks the move to P2, then heals P1
     * (with or without resetting the connections that lived through the blackhole) and checks the
     * move back. Returns the measured times.
     */
    async function blackholeAndHeal(reset: boolean): Promise<{ switchMs: number; failbackMs: number }> {
      const w = await rig.startWitness();
      const admin = adminOf(rig, w);
      await rig.pickPorts();
      const p1 = { a: await rig.proxy(w.port), b: await rig.proxy(w.port) };
      const p2 = { a: await rig.proxy(w.port), b: await rig.proxy(w.port) };
      const endpoint = (p: FaultProxy): string => `127.0.0.1:${p.port}`;
      const list = (n: NodeName): string => `${endpoint(p1[n])};${endpoint(p2[n])}`;
      await rig.startPair((node) => ({ witness: list(node), extra: ['--failback-probe', '1s'] }));
      await steady(rig, (a, b) => a.witnessEndpoint === endpoint(p1.a) && b.witnessEndpoint === endpoint(p1.b));
      const [aRun] = rig.intervalsOf('a');
      expect(rig.intervalsOf('a'), 'a ran once').to.have.lengthOf(1);
      const epoch = aRun?.epoch;
      const held = await getGroup(admin, 'g1');
      expect(held).to.include({ holder: 'a', epoch });
      const p2Before = { a: p2.a.stats().accepted, b: p2.b.stats().accepted };
      expect(p2Before, 'while P1 answers, P2 is never used').to.deep.equal({ a: 0, b: 0 });

      // a's workload runs on without a break, and b never runs: checked at every poll below.
      const undisturbed = async (): Promise<boolean> => {
        const runs = rig.intervals();
        const aRuns = runs.filter((iv) => iv.node === 'a');
        const b = await rig.state('b');
        return (
          aRuns.length === 1 &&
          aRuns[0]?.pid === aRun?.pid &&
          aRuns[0]?.endedBy === 'last-tick' &&
          runs.every((iv) => iv.node !== 'b') &&
          b !== undefined &&
          !b.active
        );
      };
      const andUndisturbed = async (what: () => Promise<boolean>): Promise<boolean> => {
        if (!(await undisturbed())) throw new Error(`a's workload was interrupted or b ran\n${await rig.describe()}`);
        return what();
      };

      p1.a.setMode('blackhole');
      p1.b.setMode('blackhole');
      const switchMs = await rig.waitFor(
        'both sidecars move to endpoint 2 (P2) after P1 is blackholed',
        () =>
          andUndisturbed(async () => {
            const [a, b] = await Promise.all([rig.state('a'), rig.state('b')]);
            return a?.witnessEndpoint === endpoint(p2.a) && b?.witnessEndpoint === endpoint(p2.b);
          }),
        SWITCH_BOUND_MS,
      );
      report(`blackhole of P1: both sidecars on P2 after ${Math.round(switchMs)} ms (bound ${SWITCH_BOUND_MS} ms)`);
      // On P2 the witness is reachable again and a's witness lease is renewed there, same epoch.
      await rig.waitFor(
        'a renews its witness lease through P2',
        () =>
          andUndisturbed(async () => {
            const a = await rig.state('a');
            return a !== undefined && a.witnessReachable && a.witnessLeaseRemainingMs > 0 && a.epoch === epoch;
          }),
        SWITCH_BOUND_MS,
      );
      expect(p2.a.stats().accepted, 'a connected through P2').to.be.greaterThan(0);
      // Probes of the blackholed P1 (every 1 s) fail and must not move a back: hold two periods.
      await rig.holdFor(
        'a stays on P2 while P1 is blackholed; a runs on; b never runs',
        () =>
          andUndisturbed(async () => {
            const a = await rig.state('a');
            return a?.witnessEndpoint === endpoint(p2.a) && a.active;
          }),
        2 * PROBE_MS + TIMEOUT_MS,
      );
      expect(await getGroup(admin, 'g1')).to.include({ holder: 'a', epoch });

      // Heal at the worst moment: just as a probe opens a new connection into the blackhole (the
      // connection a failed probe's client rebuild makes), so that probe's connection is one that
      // lived through the blackhole; without a reset it stays dead after the heal.
      const acceptedBefore = p1.a.stats().accepted;
      await rig.waitFor(
        "a's probe opens a new connection through the blackholed P1",
        () => andUndisturbed(async () => p1.a.stats().accepted > acceptedBefore),
        2 * PROBE_MS + 2 * TIMEOUT_MS,
      );
      p1.a.setMode('pass');
      p1.b.setMode('pass');
      if (reset) {
        p1.a.resetConnections();
        p1.b.resetConnections();
      }
      const failbackMs = await rig.waitFor(
        `a moves back to endpoint 1 (P1) after P1 heals (${reset ? 'connections reset' : 'connections left hanging'})`,
        () =>
          andUndisturbed(async () => {
            const a = await rig.state('a');
            return a?.witnessEndpoint === endpoint(p1.a);
          }),
        FAILBACK_BOUND_MS,
      );
      report(
        `heal of P1 (${reset ? 'with' : 'without'} resetConnections): a back on P1 after ${Math.round(failbackMs)} ms (bound ${FAILBACK_BOUND_MS} ms)`,
      );
      await rig.waitFor(
        'b moves back to endpoint 1 (P1) as well',
        () => andUndisturbed(async () => (await rig.state('b'))?.witnessEndpoint === endpoint(p1.b)),
        FAILBACK_BOUND_MS,
      );
      // Back on P1, a renews there: the lease holds with P2 out of the way.
      p2.a.setMode('blackhole');
      p2.b.setMode('blackhole');
      await rig.holdFor(
        'on P1 again a keeps its witness lease with P2 blackholed; a runs on; b never runs',
        () =>
          andUndisturbed(async () => {
            const a = await rig.state('a');
            return a !== undefined && a.witnessEndpoint === endpoint(p1.a) && a.active && a.witnessReachable;
          }),
        2 * TIMEOUT_MS,
      );
      expect(await getGroup(admin, 'g1')).to.include({ holder: 'a', epoch });
      expect(rig.intervalsOf('a'), 'a ran once, without a break').to.have.lengthOf(1);
      expect(rig.intervalsOf('b'), 'b never ran').to.have.lengthOf(0);
      const st = p1.a.stats();
      const aPid = rig.sidecars.a?.pid ?? 0;
      report(
        `a->P1 proxy at the end: ${st.accepted} connection(s) accepted in all, ${st.open} still tracked by the proxy; ` +
          `sidecar a's sockets to P1: ${JSON.stringify(socketsTo(aPid, p1.a.port))}`,
      );
      return { switchMs, failbackMs };
    }

    it('at start with endpoint 1 blackholed, walks to endpoint 2 (a runs, b never does), and moves back to endpoint 1 once it heals', async () => {
      const w = await rig.startWitness();
      await rig.pickPorts();
      const p1 = { a: await rig.proxy(w.port), b: await rig.proxy(w.port) };
      const p2 = { a: await rig.proxy(w.port), b: await rig.proxy(w.port) };
      const endpoint = (p: FaultProxy): string => `127.0.0.1:${p.port}`;
      p1.a.setMode('blackhole');
      p1.b.setMode('blackhole');
      const t0 = performance.now();
      await rig.startPair((node) => ({
        witness: `${endpoint(p1[node])};${endpoint(p2[node])}`,
        extra: ['--failback-probe', '1s'],
      }));
      await steady(rig, (a, b) => a.witnessEndpoint === endpoint(p2.a) && b.witnessEndpoint === endpoint(p2.b));
      report(
        `start with P1 blackholed: a runs via P2 ${Math.round(performance.now() - t0)} ms after the sidecars were spawned`,
      );
      expect(rig.intervalsOf('b'), 'b never ran').to.have.lengthOf(0);
      p1.a.setMode('pass');
      p1.b.setMode('pass');
      const back = await rig.waitFor(
        'both sidecars move back to P1 after it heals (no reset)',
        async () => {
          const [a, b] = await Promise.all([rig.state('a'), rig.state('b')]);
          if (rig.intervalsOf('b').length > 0 || rig.intervalsOf('a').length !== 1)
            throw new Error(`a was interrupted or b ran\n${await rig.describe()}`);
          return a?.witnessEndpoint === endpoint(p1.a) && b?.witnessEndpoint === endpoint(p1.b) && a.active;
        },
        FAILBACK_BOUND_MS,
      );
      report(`start with P1 blackholed: both back on P1 ${Math.round(back)} ms after the heal`);
    });

    it('moves to endpoint 2 when endpoint 1 is blackholed (a runs on, b never runs), and back once it heals (connections reset)', async () => {
      await blackholeAndHeal(true);
    });

    it('moves back to endpoint 1 after a heal that leaves the blackholed connections hanging (no reset)', async () => {
      await blackholeAndHeal(false);
    });
  });

  describe('connections that lived through a blackhole', () => {
    /*
     * An endpoint that accepts TCP but never answers (the FaultProxy blackhole; in the field a
     * middlebox, or a frozen witness whose kernel still completes handshakes) leaves each new
     * connection stuck in the HTTP/2 handshake. The sidecar's links rebuild a client that answers
     * nothing for a timeout (src/sidecar/channel-keeper.ts); closing the old client must not leave
     * its connection behind, or a long blackhole piles up sockets (file descriptors).
     */
    it('a sidecar does not keep piling up sockets to a blackholed endpoint it probes, nor keep them after the heal', async () => {
      const w = await rig.startWitness();
      await rig.pickPorts();
      const p1 = await rig.proxy(w.port);
      const p2 = await rig.proxy(w.port);
      const e1 = `127.0.0.1:${p1.port}`;
      const a = await rig.startSidecar({
        node: 'a',
        witness: `${e1};127.0.0.1:${p2.port}`,
        extra: ['--failback-probe', '1s'],
      });
      await rig.waitFor(
        'a hears the witness through P1',
        async () => (await rig.state('a'))?.witnessReachable === true,
        3000,
      );
      const before = socketsTo(a.pid, p1.port);
      p1.setMode('blackhole');
      const counts: number[] = [];
      for (let k = 0; k < 6; k += 1) {
        await sleep(PROBE_MS);
        counts.push(socketsTo(a.pid, p1.port).ESTABLISHED ?? 0);
      }
      p1.setMode('pass'); // no reset: the connections opened into the blackhole stay dead
      await rig.waitFor(
        'a moves back to P1 after the heal',
        async () => (await rig.state('a'))?.witnessEndpoint === e1,
        FAILBACK_BOUND_MS,
      );
      await sleep(2 * TIMEOUT_MS);
      const after = socketsTo(a.pid, p1.port);
      report(
        `sockets of sidecar a to P1: before ${JSON.stringify(before)}, each second of the blackhole ${JSON.stringify(counts)}, ` +
          `after the heal ${JSON.stringify(after)} (proxy accepted ${p1.stats().accepted})`,
      );
      expect(
        Math.max(...counts),
        `ESTABLISHED sockets to the blackholed P1, each second: ${JSON.stringify(counts)}`,
      ).to.be.at.most(3);
      expect(after.ESTABLISHED ?? 0, `sockets to P1 after the heal: ${JSON.stringify(after)}`).to.be.at.most(2);
    });
  });

  describe('zones', () => {
    it("--zone dc2 --witness 'P1@dc1;P2@dc2' uses P2 from the start, and P1 only when P2 fails", async () => {
      const w = await rig.startWitness();
      await rig.pickPorts();
      const p1 = await rig.proxy(w.port);
      const p2 = await rig.proxy(w.port);
      const e1 = `127.0.0.1:${p1.port}`;
      const e2 = `127.0.0.1:${p2.port}`;
      // A lone sidecar (its peer does not exist): the endpoint choice does not depend on it.
      await rig.startSidecar({
        node: 'a',
        witness: `${e1}@dc1;${e2}@dc2`,
        extra: ['--zone', 'dc2', '--failback-probe', '1s'],
      });
      const first = await rig.state('a');
      expect(first?.witnessEndpoint, 'the first GetState').to.equal(e2);
      await rig.waitFor(
        'a hears the witness through P2',
        async () => (await rig.state('a'))?.witnessReachable === true,
        3000,
      );
      await rig.holdFor(
        'a stays on its own zone endpoint P2 while it answers',
        async () => (await rig.state('a'))?.witnessEndpoint === e2,
        3 * TIMEOUT_MS,
      );
      expect(p1.stats().accepted, 'nothing went to the other zone (P1) while P2 answered').to.equal(0);

      // P2 refuses: walk on to P1 (the other zone); P2 answers again: the probe moves back to P2.
      p2.setMode('refuse');
      const toOther = await rig.waitFor(
        'a moves to the other zone, P1, when P2 refuses',
        async () => (await rig.state('a'))?.witnessEndpoint === e1,
        SWITCH_BOUND_MS,
      );
      await rig.waitFor(
        'a hears the witness through P1',
        async () => (await rig.state('a'))?.witnessReachable === true,
        SWITCH_BOUND_MS,
      );
      p2.setMode('pass');
      const back = await rig.waitFor(
        'a moves back to its zone, P2, once it answers',
        async () => (await rig.state('a'))?.witnessEndpoint === e2,
        FAILBACK_BOUND_MS,
      );
      report(`zones: to P1@dc1 after ${Math.round(toOther)} ms, back to P2@dc2 after ${Math.round(back)} ms`);
    });

    it("without --zone the same list 'P1@dc1;P2@dc2' uses P1 (the order given)", async () => {
      const w = await rig.startWitness();
      await rig.pickPorts();
      const p1 = await rig.proxy(w.port);
      const p2 = await rig.proxy(w.port);
      const e1 = `127.0.0.1:${p1.port}`;
      await rig.startSidecar({ node: 'a', witness: `${e1}@dc1;127.0.0.1:${p2.port}@dc2` });
      expect((await rig.state('a'))?.witnessEndpoint).to.equal(e1);
      await rig.waitFor(
        'a hears the witness through P1',
        async () => (await rig.state('a'))?.witnessReachable === true,
        3000,
      );
      await rig.holdFor('a stays on P1', async () => (await rig.state('a'))?.witnessEndpoint === e1, 3 * TIMEOUT_MS);
      expect(p2.stats().accepted, 'P2 unused').to.equal(0);
    });
  });

  describe('--health-active-only true', () => {
    it('health is SERVING on the active sidecar only, and on the other one within the failover bound after the active one is killed', async () => {
      const w = await rig.startWitness();
      await rig.pickPorts();
      await rig.startPair(() => ({ witness: w.address, extra: ['--health-active-only', 'true'] }));
      await steady(rig);
      await rig.waitFor(
        'health: a SERVING, b NOT_SERVING',
        async () => (await rig.health('a')) === 'SERVING' && (await rig.health('b')) === 'NOT_SERVING',
        2000,
      );
      await rig.holdFor(
        'health stays a SERVING, b NOT_SERVING while a runs',
        async () => (await rig.health('a')) === 'SERVING' && (await rig.health('b')) === 'NOT_SERVING',
        1000,
      );
      const b = await rig.state('b');
      const bound = b?.failoverBoundMs ?? 0;
      expect(bound, 'failover bound reported by GetState').to.be.greaterThan(0);

      const a = rig.sidecars.a;
      if (a === undefined) throw new Error('no sidecar a');
      a.kill('SIGKILL');
      await a.waitForExit(5000);
      const t0 = performance.now();
      const tookMs = await rig.waitFor(
        'b health SERVING after a was killed',
        async () => (await rig.health('b')) === 'SERVING',
        bound + FAILOVER_SLACK_MS,
      );
      report(
        `health-active-only: b SERVING ${Math.round(tookMs)} ms after kill -9 of a (failover bound ${bound} ms + ${FAILOVER_SLACK_MS} ms slack)`,
      );
      const bState = await rig.state('b');
      expect(bState?.active, 'b is active when its health says SERVING').to.equal(true);
      // SERVING comes with the watchdog's spawn; the workload's own start line follows shortly.
      const started = await rig.waitFor(
        'b runs the workload (its start line)',
        () => rig.intervalsOf('b').length > 0,
        2000,
      );
      report(
        `health-active-only: b's workload logged its start ${Math.round(performance.now() - t0)} ms after the kill (${Math.round(started)} ms after SERVING)`,
      );
    });

    it('health is no longer SERVING once a shutdown (SIGTERM to the sidecar) has begun stopping the workload', async () => {
      const w = await rig.startWitness();
      await rig.pickPorts();
      // a's workload ignores SIGTERM, so its stop takes the whole --stop-timeout (300 ms, then SIGKILL).
      await rig.startSidecar({
        node: 'a',
        witness: w.address,
        extra: ['--health-active-only', 'true'],
        workload: ['--ignore-sigterm'],
      });
      await rig.startSidecar({ node: 'b', witness: w.address, extra: ['--health-active-only', 'true'] });
      await steady(rig);
      await rig.waitFor('health: a SERVING', async () => (await rig.health('a')) === 'SERVING', 2000);
      const a = rig.sidecars.a;
      if (a === undefined) throw new Error('no sidecar a');
      const answers: Array<{ t: number; status: string }> = [];
      a.kill('SIGTERM');
      const until = performance.now() + 3000;
      while (a.running && performance.now() < until) {
        const sent = timeline(); // when the request left: the answer was computed after that
        answers.push({ status: await rig.health('a'), t: sent });
        await sleep(10);
      }
      await a.waitForExit(5000);
      const signalled = fs
        .readFileSync(rig.runLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"signal"'))
        .map((l) => JSON.parse(l) as { node: string; event: string; t: number })
        .find((l) => l.node === 'a' && l.event === 'signal');
      expect(signalled, "a's workload logged the SIGTERM it ignored").to.not.equal(undefined);
      const t = signalled?.t ?? 0;
      // Only requests sent after the workload got its SIGTERM count (plus 5 ms for clock reads).
      const servingAfterStop = answers.filter((x) => x.status === 'SERVING' && x.t > t + 5);
      const lastServing = servingAfterStop[servingAfterStop.length - 1];
      report(
        `shutdown: ${servingAfterStop.length} SERVING answer(s) after the workload got SIGTERM, the last ${lastServing === undefined ? '-' : Math.round(lastServing.t - t)} ms after it; ` +
          `answers: ${[...new Set(answers.map((x) => x.status))].join(', ')}`,
      );
      expect(
        servingAfterStop.map((x) => `${Math.round(x.t - t)} ms`),
        'health answered SERVING while the workload was being stopped (ms after its SIGTERM)',
      ).to.deep.equal([]);
    });

    it('without --health-active-only, health is SERVING on both sidecars', async () => {
      const w = await rig.startWitness();
      await rig.pickPorts();
      await rig.startPair(() => ({ witness: w.address }));
      await steady(rig);
      expect(await rig.health('a')).to.equal('SERVING');
      expect(await rig.health('b')).to.equal('SERVING');
    });
  });

  describe('reflection and the Peer service', () => {
    async function pair(): Promise<void> {
      const w = await rig.startWitness();
      await rig.pickPorts();
      await rig.startPair(() => ({ witness: w.address }));
      await steady(rig);
    }

    it('buf curl lists witness.v1.Sidecar, witness.v1.Peer and grpc.health.v1.Health, and calls GetState', async () => {
      await pair();
      const cache = path.join(rig.dir, 'buf-cache');
      const url = `http://${rig.address('a')}`;
      const listed = await bufCurl(['--list-services', url], cache);
      expect(listed.code, listed.stderr).to.equal(0);
      const services = listed.stdout.split('\n').map((l) => l.trim());
      expect(services).to.include.members(['witness.v1.Sidecar', 'witness.v1.Peer', 'grpc.health.v1.Health']);

      const got = await bufCurl(['--emit-defaults', '-d', '{}', `${url}/witness.v1.Sidecar/GetState`], cache);
      expect(got.code, got.stderr).to.equal(0);
      const state = bufJson(got);
      expect(state).to.include({ group: 'g1', node: 'a', role: 'ROLE_PRIMARY', mode: 'standard', active: true });
      expect(state).to.include({ witnessEndpoint: rig.witness?.address, witnessReachable: true, peerReachable: true });
      // buf curl prints the .proto fields by their JSON names (witness_endpoint -> witnessEndpoint).
      const jsonNames = [
        'group',
        'node',
        'role',
        'mode',
        'workload',
        'active',
        'epoch',
        'knownEpoch',
        'holding',
        'peerReachable',
        'witnessReachable',
        'msUntilStop',
        'witnessLeaseRemainingMs',
        'peerLeaseRemainingMs',
        'witnessEndpoint',
        'lastDecision',
        'failoverBoundMs',
        'lastRule',
        'sync',
        'syncing',
      ];
      expect(Object.keys(state)).to.have.members(jsonNames);
      // The row that decided last is one that `witness tables` prints.
      expect(RULE_NAMES.has(String(state.lastRule)), `lastRule ${String(state.lastRule)}`).to.equal(true);
      expect(state.epoch, 'uint64 as a JSON string')
        .to.be.a('string')
        .that.matches(/^[1-9][0-9]*$/);

      const health = await bufCurl(['-d', '{}', `${url}/grpc.health.v1.Health/Check`], cache);
      expect(health.code, health.stderr).to.equal(0);
      expect(bufJson(health)).to.deep.equal({ status: 'SERVING' });
    });

    it('a Peer heartbeat from another group gets FAILED_PRECONDITION naming state.group, a malformed one INVALID_ARGUMENT; the sidecar keeps serving', async () => {
      await pair();
      const before = await rig.state('a');
      const { grpcObject } = loadWitnessProto();
      const peer: PeerClient = rig.client(
        () => new grpcObject.witness.v1.Peer(rig.address('a'), grpc.credentials.createInsecure()),
      );
      const heartbeat = (state: PeerState) =>
        unary<PeerHeartbeatResponse__Output>((cb) => peer.Heartbeat({ state }, { deadline: Date.now() + 5000 }, cb));
      const foreign: PeerState = {
        group: 'other',
        node: 'x',
        role: 'ROLE_PRIMARY',
        workload: 'WORKLOAD_PHASE_RUNNING',
        epoch: before?.epoch ?? '1',
        knownEpoch: before?.epoch ?? '1',
        acquiring: true,
        eligible: true,
        handbackRequested: true,
      };
      const other = await callError(heartbeat(foreign));
      expect(other.code, `${grpc.status[other.code]} ${other.details}`).to.equal(grpc.status.FAILED_PRECONDITION);
      expect(other.details)
        .to.match(/^state\.group: /)
        .and.to.include('g1')
        .and.to.include('other');

      // Its own name in the same group: a misdirected --peer.
      const self = await callError(heartbeat({ ...foreign, group: 'g1', node: 'a' }));
      expect(self.code, `${grpc.status[self.code]} ${self.details}`).to.equal(grpc.status.FAILED_PRECONDITION);
      expect(self.details).to.match(/^state\.node: /);

      const malformed: Array<[string, number[]]> = [
        ['garbage', [0xff, 0xff, 0x0f]],
        ['state as a varint', [0x08, 0x01]],
        ['state.group as a varint', [0x0a, 0x02, 0x08, 0x01]],
        ['state cut short', [0x0a, 0x10, 0x0a, 0x02, 0x67]],
        ['state.group not UTF-8', [0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28]],
      ];
      const wrong: string[] = [];
      for (const [what, bytes] of malformed) {
        try {
          const answer = await rawUnary(rig.address('a'), '/witness.v1.Peer/Heartbeat', Buffer.from(bytes));
          wrong.push(`${what}: answered OK (${answer.toString('hex')})`);
        } catch (error) {
          const e = error as grpc.ServiceError;
          if (e.code !== grpc.status.INVALID_ARGUMENT) wrong.push(`${what}: ${grpc.status[e.code]} ${e.details}`);
        }
      }
      // A well-formed request whose state is missing or invalid is INVALID_ARGUMENT naming the field.
      const missing = await callError(
        unary<PeerHeartbeatResponse__Output>((cb) => peer.Heartbeat({}, { deadline: Date.now() + 5000 }, cb)),
      );
      if (missing.code !== grpc.status.INVALID_ARGUMENT || !/^state: /.test(missing.details))
        wrong.push(`no state: ${grpc.status[missing.code]} ${missing.details}`);
      expect(wrong, wrong.join('\n')).to.deep.equal([]);

      // It keeps serving: GetState answers, a still runs the same workload on the same epoch, and
      // b still hears a (the refused heartbeats changed nothing).
      await rig.holdFor(
        'a keeps running and serving after the refused heartbeats; b stays standby hearing a',
        async () => {
          const [a, b] = await Promise.all([rig.state('a'), rig.state('b')]);
          return (
            a !== undefined && a.active && a.epoch === before?.epoch && b !== undefined && !b.active && b.peerReachable
          );
        },
        1000,
      );
      expect(rig.intervalsOf('a')).to.have.lengthOf(1);
      expect(rig.intervalsOf('b')).to.have.lengthOf(0);
      await waitUntil('GetState still answers', async () => (await rig.state('a'))?.node === 'a', 2000);
    });
  });
});
