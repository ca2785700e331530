/**
 * The demo's steps: a witness and two sidecars start; a runs; sidecar a is killed with SIGKILL and
 * b takes over; a is restarted and takes the group back. Each wait is bounded and fails naming
 * what it waited for.
 */
import path from 'node:path';
import type { SidecarState__Output } from '../../gen/witness/v1/SidecarState';
import { groupAlive } from '../../sidecar/watchdog/process-group';
import type { DemoProcesses } from './demo-processes';
import { runs, SidecarProbe, WitnessEvents } from './demo-observers';
import type { Timeline } from './demo-timeline';
import { readWorkloadStarts, workloadCommand, type WorkloadStart } from './demo-workload';
import { freeLoopbackPorts } from './free-ports';

export interface DemoContext {
  readonly dir: string;
  readonly processes: DemoProcesses;
  readonly timeline: Timeline;
  /** Aborted on Ctrl-C, SIGTERM or the demo's overall time limit; its reason is the error. */
  readonly signal: AbortSignal;
}

export interface DemoResult {
  /** The epochs a ran under, then b, then a again: each above the one before (the steps wait for that). */
  readonly epochs: readonly [bigint, bigint, bigint];
  readonly failoverMs: number;
  readonly handBackMs: number;
}

const GROUP = 'demo';
/** The timings of the project's end-to-end tests: a failover takes about a second. */
const LEASE = '1s';
const SIDECAR_TIMING = ['--heartbeat', '100ms', '--lease', LEASE, '--timeout', '500ms', '--stop-timeout', '300ms'];
const FAILBACK_DELAY = '2s';
/** Bound on a start (a process on a busy machine, its first grant) or on one step of the story. */
const STEP_TIMEOUT_MS = 20_000;
const POLL_MS = 100;

type Node = 'a' | 'b';

interface Running {
  readonly state: SidecarState__Output;
  readonly workload: WorkloadStart;
}

export async function walkThrough(ctx: DemoContext): Promise<DemoResult> {
  const { processes, timeline } = ctx;
  const [witnessPort, portA, portB] = await freeLoopbackPorts(3);
  const witness = `127.0.0.1:${witnessPort}`;
  const listen: Record<Node, string> = { a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}` };
  const reports = path.join(ctx.dir, 'workload-starts.jsonl');

  const dataDir = path.join(ctx.dir, 'witness-data');
  const witnessArgs = ['--listen', witness, '--data-dir', dataDir, '--lease', LEASE, '--default-lease', LEASE];
  // Open registration, as the quick start: anyone on loopback may join, the first two nodes of a
  // group its members. A real deployment declares them (--groups-file).
  const witnessPid = processes.start('witness', ['serve', ...witnessArgs, '--open-registration'], true);
  timeline.step(`witness started (pid ${witnessPid}) on ${witness}, its store in ${dataDir}`);
  const events = new WitnessEvents(witness, (event) => timeline.witnessEvent(event));
  const probes: Record<Node, SidecarProbe> = { a: new SidecarProbe(listen.a), b: new SidecarProbe(listen.b) };
  try {
    await bounded(ctx, 'the witness to accept connections', events.ready(STEP_TIMEOUT_MS));
    events.watch();

    const sidecar = (node: Node): number => {
      const peer: Node = node === 'a' ? 'b' : 'a';
      const role = node === 'a' ? 'primary' : 'secondary';
      const pid = processes.start(`sidecar-${node}`, [
        'sidecar',
        ...['--group', GROUP, '--node', node, '--peer-node', peer, '--role', role],
        ...['--listen', listen[node], '--peer', listen[peer], '--witness', witness],
        ...SIDECAR_TIMING,
        // The hand-back is fail-back, the sidecars' default policy (delay shortened for the demo):
        // what a pair does by itself once the primary is healthy again, with no operator involved.
        ...['--failback', 'auto', '--failback-delay', FAILBACK_DELAY],
        '--',
        ...workloadCommand(reports),
      ]);
      timeline.step(`sidecar ${node} started (pid ${pid}), ${role}, on ${listen[node]}`);
      return pid;
    };
    const runningAbove = (node: Node, epoch: bigint) => async (): Promise<Running | undefined> => {
      const state = await probes[node].state();
      if (state === undefined || !runs(state) || BigInt(state.epoch) <= epoch) return undefined;
      const workload = readWorkloadStarts(reports).find((w) => w.node === node && w.epoch === state.epoch);
      if (workload === undefined) return undefined;
      processes.addWorkload(workload.pid);
      return { state, workload };
    };
    const standingBy = (node: Node) => async (): Promise<SidecarState__Output | undefined> => {
      const state = await probes[node].state();
      return state !== undefined && !state.active && state.peerReachable ? state : undefined;
    };
    // A workload is its process group's leader: gone means nothing of its group is left.
    const gone = (pid: number) => async (): Promise<true | undefined> => (groupAlive(pid) ? undefined : true);

    timeline.step('1. Start: a, the primary, should run; b, the secondary, stands by.');
    const startedAt = timeline.now();
    sidecar('a');
    sidecar('b');
    const first = await poll(ctx, 'a to run its workload', runningAbove('a', 0n));
    timeline.step(`   a runs, epoch ${first.state.epoch}, workload pid ${first.workload.pid}: ${why(first.state)}`);
    const idle = await poll(ctx, 'b to stand by', standingBy('b'));
    timeline.step(`   b stands by: ${standingByBecause(idle)} [start took ${timeline.took(startedAt)}]`);

    timeline.step('2. Failover: kill -9 sidecar a. Its watchdog stops the workload; b may take over only');
    timeline.step("   once the witness confirms that a's lease has run out.");
    const killedAt = timeline.now();
    processes.crash('sidecar-a');
    await poll(ctx, "a's workload to stop", gone(first.workload.pid));
    timeline.step(`   a's workload (pid ${first.workload.pid}) stopped by its watchdog [${timeline.took(killedAt)}]`);
    const second = await poll(ctx, 'b to take over', runningAbove('b', BigInt(first.state.epoch)));
    const failoverMs = timeline.now() - killedAt;
    timeline.step(`   b runs, epoch ${second.state.epoch}, workload pid ${second.workload.pid}: ${why(second.state)}`);
    timeline.step(`   failover took ${timeline.took(killedAt)} after the kill`);

    timeline.step(`3. Hand-back: restart sidecar a. It finds b running and stands by, healthy for`);
    timeline.step(`   ${FAILBACK_DELAY} (--failback-delay); then b hands the group back, without waiting out a lease.`);
    const restartedAt = timeline.now();
    sidecar('a');
    const back = await poll(ctx, 'a to stand by', standingBy('a'));
    timeline.step(`   a stands by: ${standingByBecause(back)}`);
    const third = await poll(ctx, 'a to take the group back', runningAbove('a', BigInt(second.state.epoch)));
    const handBackMs = timeline.now() - restartedAt;
    timeline.step(`   a runs, epoch ${third.state.epoch}, workload pid ${third.workload.pid}: ${why(third.state)}`);
    await poll(ctx, "b's workload to have stopped", gone(second.workload.pid));
    timeline.step(`   b's workload stopped; hand-back took ${timeline.took(restartedAt)} after the restart`);
    return {
      epochs: [BigInt(first.state.epoch), BigInt(second.state.epoch), BigInt(third.state.epoch)],
      failoverMs,
      handBackMs,
    };
  } finally {
    events.close();
    probes.a.close();
    probes.b.close();
  }
}

/** The sidecar's last decision, with the rule that made it (`witness tables` lists them). */
function why(state: SidecarState__Output): string {
  return state.lastRule === '' ? state.lastDecision : `${state.lastDecision} (rule ${state.lastRule})`;
}

/** Why a node runs nothing: what it sees (before its first decision, it has made none to quote). */
function standingByBecause(state: SidecarState__Output): string {
  const seen = (reachable: boolean): string => (reachable ? 'reachable' : 'not reachable');
  return `runs nothing; its peer is ${seen(state.peerReachable)}, the witness ${seen(state.witnessReachable)}`;
}

/** `check()` every POLL_MS until it answers; fails after STEP_TIMEOUT_MS, on abort, or when a child died. */
async function poll<T>(ctx: DemoContext, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const answer = await bounded(ctx, what, check());
    if (answer !== undefined) return answer;
    if (Date.now() >= until) throw new Error(`timed out after ${STEP_TIMEOUT_MS / 1000} s waiting for ${what}`);
    await bounded(ctx, what, new Promise((resolve) => setTimeout(resolve, POLL_MS)));
  }
}

/** `promise`, unless the demo is aborted or one of its processes ended by itself first. */
async function bounded<T>(ctx: DemoContext, what: string, promise: Promise<T>): Promise<T> {
  const died = ctx.processes.unexpectedExit();
  if (died !== undefined) throw new Error(`while waiting for ${what}: ${died}`);
  ctx.signal.throwIfAborted();
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
