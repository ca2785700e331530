/**
 * Real-process chaos runner (issue 4 item 5; design §3 and §13).
 *
 *   npm run chaos -- --seconds S [--seed N] [--json] [--max-faults 2] [--failback auto|manual]
 *                    [--keep] [--echo] [--witness-debug] [--quiet]
 *
 * One real cluster (test/support/cluster.ts: a witness, sidecar a (primary) and sidecar b
 * (secondary), each running the logging test workload under its watchdog, a FaultProxy on every
 * directed link a->witness, b->witness, a->b, b->a) at the cluster's configuration: --lease 1s
 * --heartbeat 100ms --timeout 500ms --stop-timeout 300ms --failback auto --failback-delay 2s.
 *
 * A seeded PRNG (sfc32 seeded by splitmix32, defined here) draws the whole fault schedule before
 * the run starts, so a seed names one schedule (`--seconds` and `--max-faults` too: they shape it).
 * Every 0.5-3 s a fault is injected unless a couple are already active (or, now and then, to leave
 * the pair healthy for a while); each fault lasts a random time and is then healed:
 *   - a link (one of the four): blackhole, refuse, one-way drop (forward or backward), delay;
 *   - the peer link both ways (blackhole or refuse); a node isolated from both (blackhole/refuse);
 *   - kill -9 of a sidecar, restarted after 0.2-3 s; SIGSTOP of a sidecar for 0.5-4 s, then SIGCONT;
 *   - kill -9 of the witness, restarted after 0.2-3 s (sometimes with its data directory wiped);
 *     SIGSTOP of the witness for 0.5-3 s;
 *   - link heals with and without resetting the connections that lived through the fault.
 * Two faults never touch the same link or process. The real processes' timing is not replayed
 * (the schedule is); every action's actual time is recorded.
 *
 * At the end: heal everything (SIGCONT, restart what is down, every link back to 'pass'), wait
 * for a settled pair (exactly one workload running, the same process, for 2 s; with auto fail-back
 * that is the primary once the hand-back is done), stop the cluster (SIGKILL by PID), then check:
 *   S1: no two workload run intervals overlap (run log);
 *   S2: the epochs of successive activations strictly increase (run log; decimal 63-bit integers,
 *       compared as BigInt); also every epoch the witness logged as granted is above every earlier
 *       grant (across witness restarts and wipes);
 *   no workload process outlives its killed sidecar (Cluster.teardown).
 * Exit status: 0 all good, 1 a violation / no settled pair / an action failed, 2 usage, 130 SIGINT.
 * A failing run keeps its directory (run log, every process's output, the schedule and a merged
 * timeline) and prints where.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  Cluster,
  LEASE_MS,
  LINKS,
  TIMEOUT_MS,
  timeline,
  type LinkName,
  type LogLine,
  type NodeName,
  type ProcName,
} from '../support/cluster';
import { killAllTracked } from '../support/processes';
import { findOverlaps, formatOverlaps, formatTimeline, type Overlap, type RunInterval } from '../support/run-intervals';

// ---- PRNG -----------------------------------------------------------------------------------------

/** sfc32 seeded through splitmix32: small, fast, and the same sequence on every platform. */
export class ChaosRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let x = this.float() * total;
    for (const [value, w] of entries) {
      if (x < w) return value;
      x -= w;
    }
    return entries[entries.length - 1]![0];
  }
}

/** A seed for today (UTC), e.g. 20250614: a new schedule every day, the same one all day. */
export function dateSeed(date = new Date()): number {
  return date.getUTCFullYear() * 10_000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296) >>> 0;
}

// ---- schedule -------------------------------------------------------------------------------------

export type FaultSpec =
  | { kind: 'blackhole'; link: LinkName }
  | { kind: 'refuse'; link: LinkName }
  | { kind: 'drop'; link: LinkName; direction: 'forward' | 'backward' }
  | { kind: 'delay'; link: LinkName; ms: number }
  | { kind: 'partition-peer'; mode: 'blackhole' | 'refuse' }
  | { kind: 'isolate'; node: NodeName; mode: 'blackhole' | 'refuse' }
  | { kind: 'kill-sidecar'; node: NodeName }
  | { kind: 'freeze-sidecar'; node: NodeName }
  | { kind: 'kill-witness'; wipe: boolean }
  | { kind: 'freeze-witness' };

export interface PlannedFault {
  id: number;
  /** ms after the schedule starts. */
  at: number;
  /** When it is healed / the process restarted or thawed (ms after the start). */
  until: number;
  spec: FaultSpec;
  /** Link faults: reset the connections that lived through the fault when healing. */
  resetOnHeal: boolean;
}

export interface ScheduleOptions {
  seconds: number;
  seed: number;
  /** At most this many faults active at once. Default 2. */
  maxActive?: number;
}

/** The kind a fault is counted under in the summary. */
export function faultLabel(spec: FaultSpec): string {
  switch (spec.kind) {
    case 'drop':
      return 'one-way-drop';
    case 'kill-witness':
      return spec.wipe ? 'kill-witness+wipe' : 'kill-witness';
    default:
      return spec.kind;
  }
}

export function describeFault(spec: FaultSpec): string {
  switch (spec.kind) {
    case 'blackhole':
    case 'refuse':
      return `${spec.kind} ${spec.link}`;
    case 'drop':
      return `drop-${spec.direction} ${spec.link}`;
    case 'delay':
      return `delay ${spec.ms}ms ${spec.link}`;
    case 'partition-peer':
      return `partition a<->b (${spec.mode})`;
    case 'isolate':
      return `isolate ${spec.node} (${spec.mode})`;
    case 'kill-sidecar':
      return `kill -9 sidecar ${spec.node}`;
    case 'freeze-sidecar':
      return `SIGSTOP sidecar ${spec.node}`;
    case 'kill-witness':
      return `kill -9 witness${spec.wipe ? ' (restart with its data wiped)' : ''}`;
    case 'freeze-witness':
      return 'SIGSTOP witness';
  }
}

function describeHeal(f: PlannedFault): string {
  const reset = f.resetOnHeal ? ' with reset' : ' without reset';
  switch (f.spec.kind) {
    case 'kill-sidecar':
      return `restart sidecar ${f.spec.node}`;
    case 'freeze-sidecar':
      return `SIGCONT sidecar ${f.spec.node}`;
    case 'kill-witness':
      return `restart witness${f.spec.wipe ? ' with a wiped data dir' : ''}`;
    case 'freeze-witness':
      return 'SIGCONT witness';
    case 'delay':
      return `heal ${f.spec.link} (delay off)`;
    case 'isolate':
      return `rejoin ${f.spec.node}${reset}`;
    case 'partition-peer':
      return `heal a<->b${reset}`;
    default:
      return `heal ${f.spec.link}${reset}`;
  }
}

function linksOf(node: NodeName): LinkName[] {
  return node === 'a' ? ['a->witness', 'a->b', 'b->a'] : ['b->witness', 'b->a', 'a->b'];
}

/** What a fault occupies: two faults active at once never share a link or a process. */
function resources(spec: FaultSpec): string[] {
  switch (spec.kind) {
    case 'blackhole':
    case 'refuse':
    case 'drop':
    case 'delay':
      return [spec.link];
    case 'partition-peer':
      return ['a->b', 'b->a'];
    case 'isolate':
      return linksOf(spec.node);
    case 'kill-sidecar':
    case 'freeze-sidecar':
      return [`proc:${spec.node}`];
    case 'kill-witness':
    case 'freeze-witness':
      return ['proc:witness'];
  }
}

type Kind = FaultSpec['kind'];

const KIND_WEIGHTS: readonly (readonly [Kind, number])[] = [
  ['blackhole', 12],
  ['refuse', 8],
  ['drop', 12],
  ['delay', 10],
  ['partition-peer', 6],
  ['isolate', 12],
  ['kill-sidecar', 12],
  ['freeze-sidecar', 12],
  ['kill-witness', 10],
  ['freeze-witness', 4],
];

/** How long each kind of fault lasts (ms): [min, max]. */
const DURATION_MS: Record<Kind, readonly [number, number]> = {
  blackhole: [300, 4000],
  refuse: [300, 4000],
  drop: [300, 4000],
  delay: [500, 5000],
  'partition-peer': [500, 5000],
  isolate: [500, 5000],
  'kill-sidecar': [200, 3000],
  'freeze-sidecar': [500, 4000],
  'kill-witness': [200, 3000],
  'freeze-witness': [500, 3000],
};

/** Time between two injection attempts (ms). */
const GAP_MS: readonly [number, number] = [500, 3000];
/** Chance that an injection attempt is skipped on purpose, so the pair is healthy now and then. */
const QUIET_CHANCE = 0.15;
/** The node a node-directed fault hits: a (the usual active, with auto fail-back) a bit more often. */
const NODE_A_CHANCE = 0.6;

function drawSpec(rng: ChaosRng, kind: Kind): FaultSpec {
  const node = (): NodeName => (rng.chance(NODE_A_CHANCE) ? 'a' : 'b');
  switch (kind) {
    case 'blackhole':
    case 'refuse':
      return { kind, link: rng.pick(LINKS) };
    case 'drop':
      return { kind, link: rng.pick(LINKS), direction: rng.chance(0.5) ? 'forward' : 'backward' };
    case 'delay':
      // Mostly below the peer timeout (500 ms), sometimes above it (like a partition, but the
      // bytes arrive late instead of never).
      return { kind, link: rng.pick(LINKS), ms: rng.chance(0.7) ? rng.int(10, 400) : rng.int(400, 1500) };
    case 'partition-peer':
      return { kind, mode: rng.chance(0.7) ? 'blackhole' : 'refuse' };
    case 'isolate':
      return { kind, node: node(), mode: rng.chance(0.7) ? 'blackhole' : 'refuse' };
    case 'kill-sidecar':
    case 'freeze-sidecar':
      return { kind, node: node() };
    case 'kill-witness':
      return { kind, wipe: rng.chance(0.35) };
    case 'freeze-witness':
      return { kind };
  }
}

/**
 * The whole fault schedule of a seed: deterministic (only the PRNG decides). Every fault ends by
 * the end of the run (`seconds`); the final heal-all follows it.
 */
export function planSchedule(options: ScheduleOptions): PlannedFault[] {
  const rng = new ChaosRng(options.seed);
  const maxActive = options.maxActive ?? 2;
  const endMs = options.seconds * 1000;
  const planned: PlannedFault[] = [];
  let t = rng.int(GAP_MS[0], GAP_MS[1]);
  while (t < endMs) {
    const active = planned.filter((f) => f.until > t);
    if (active.length < maxActive && !rng.chance(QUIET_CHANCE)) {
      const busy = new Set(active.flatMap((f) => resources(f.spec)));
      // Draw a kind, then its target; retry a few times if it would touch something busy.
      for (let attempt = 0; attempt < 6; attempt++) {
        const kind = rng.weighted(KIND_WEIGHTS);
        const spec = drawSpec(rng, kind);
        if (resources(spec).some((r) => busy.has(r))) continue;
        const [lo, hi] = DURATION_MS[kind];
        const until = Math.min(endMs, t + rng.int(lo, hi));
        planned.push({ id: planned.length + 1, at: t, until, spec, resetOnHeal: rng.chance(0.5) });
        break;
      }
    }
    t += rng.int(GAP_MS[0], GAP_MS[1]);
  }
  return planned;
}

interface ScheduleEvent {
  at: number;
  fault: PlannedFault;
  phase: 'inject' | 'heal';
}

/** Injections and heals in time order; at the same instant, heals first (they free resources). */
function scheduleEvents(plan: readonly PlannedFault[]): ScheduleEvent[] {
  const events: ScheduleEvent[] = [];
  for (const fault of plan) {
    events.push({ at: fault.at, fault, phase: 'inject' });
    events.push({ at: fault.until, fault, phase: 'heal' });
  }
  return events.sort(
    (x, y) => x.at - y.at || (x.phase === y.phase ? 0 : x.phase === 'heal' ? -1 : 1) || x.fault.id - y.fault.id,
  );
}

// ---- running ------------------------------------------------------------------------------------

export interface ChaosOptions {
  seconds: number;
  seed: number;
  maxActive?: number;
  failback?: 'auto' | 'manual';
  failbackDelay?: string;
  /** Keep the cluster directory also when the run passes. */
  keep?: boolean;
  /** Echo every process's output to stderr. */
  echo?: boolean;
  witnessLogLevel?: string;
  /** Progress lines (each action as it happens). Default: none. */
  progress?: (line: string) => void;
  /** Abort the schedule (SIGINT): everything is still killed and the run log still checked. */
  signal?: AbortSignal;
}

export interface ActionRecord {
  /** Planned ms after the schedule start. */
  planned: number;
  /** Actual ms after the schedule start when the action began. */
  actual: number;
  /** On the shared timeline (performance.timeOrigin + performance.now(), ~ wall-clock ms). */
  t: number;
  /** How long the action itself took (a restart waits for the process to come up). */
  tookMs: number;
  fault: number;
  phase: 'inject' | 'heal' | 'final-heal';
  text: string;
  error?: string;
}

export interface Failover {
  from: NodeName | string;
  to: NodeName | string;
  fromEpoch: string | null;
  toEpoch: string | null;
  /** 'takeover': the other node took over; 'hand-back': a coordinated fail-back; 'restart': the same node ran again. */
  kind: 'takeover' | 'hand-back' | 'restart';
  /** Why the previous run ended (its sidecar's stop decision, or what the run log shows). */
  endCause: string;
  /** No workload ran for this long: previous run's end -> this run's start. */
  gapMs: number;
  /** The latest chaos action at or before the previous run's end -> this run's start. */
  sinceFaultMs: number | null;
  sinceFault: string | null;
  /** ms after the schedule start. */
  atMs: number;
}

export interface Stat {
  n: number;
  p50: number | null;
  max: number | null;
}

export interface SettleResult {
  settled: boolean;
  /** From the end of the heal-all to the first moment exactly one workload ran (ms). */
  firstOneMs: number | null;
  /** From the end of the heal-all to the settled state (stable for STABLE_MS) (ms). */
  settledMs: number | null;
  node: string | null;
  epoch: string | null;
  /** The bound on the first "exactly one" (ms after the heal-all). */
  boundMs: number;
  note: string | null;
  lastObservation: string;
}

export interface ChaosResult {
  seed: number;
  seconds: number;
  /** ms the schedule actually ran. */
  ranMs: number;
  aborted: boolean;
  faultsInjected: number;
  faultsByKind: Record<string, number>;
  healsWithReset: number;
  healsWithoutReset: number;
  activations: number;
  activationsByNode: Record<string, number>;
  /** Each overlap: its description, length, and where it began (ms after the schedule start). */
  overlaps: { text: string; overlapMs: number; atMs: number }[];
  s2Violations: string[];
  witnessGrants: number;
  failovers: Failover[];
  takeoverGap: Stat;
  takeoverSinceFault: Stat;
  handBackGap: Stat;
  /** Longest time with no workload running during the schedule (ms) and when it began. */
  longestOutageMs: number;
  longestOutageAtMs: number | null;
  /** Share of the schedule with a workload running. */
  availability: number;
  workloadSelfExits: number;
  failoverBoundMs: number | null;
  settle: SettleResult | null;
  teardownProblems: string | null;
  actionErrors: string[];
  errors: string[];
  /** On failure: the merged timeline around each overlap (or the end of the run). */
  evidence: string[];
  dir: string | null;
  keptDir: boolean;
  replay: string;
  loadAverage: { start: number[]; end: number[] };
  ok: boolean;
  failures: string[];
}

/** Exactly one workload process must run this long, unchanged, for the pair to count as settled. */
export const STABLE_MS = 2 * LEASE_MS;
/** Slack on top of the computed settle bound: process scheduling on a loaded CI machine, polling. */
export const SETTLE_SLACK_MS = 2000;
/** A run-log interval counts as running if it ticked this recently (20 ms ticks). */
const TICK_FRESH_MS = 1000;

class Aborted extends Error {}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted('aborted'));
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Aborted('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function stat(values: readonly number[]): Stat {
  if (values.length === 0) return { n: 0, p50: null, max: null };
  const sorted = [...values].sort((x, y) => x - y);
  const p50 = sorted[Math.max(0, Math.ceil(0.5 * sorted.length) - 1)]!;
  return { n: sorted.length, p50, max: sorted[sorted.length - 1]! };
}

function fmtMs(n: number | null): string {
  return n === null ? '-' : `${Math.round(n)} ms`;
}

function lineTime(l: LogLine): number {
  return typeof l.time === 'number' ? l.time : NaN;
}

export function replayCommand(
  seconds: number,
  seed: number,
  maxActive = 2,
  failback: 'auto' | 'manual' = 'auto',
): string {
  const extra =
    (maxActive !== 2 ? ` --max-faults ${maxActive}` : '') + (failback !== 'auto' ? ` --failback ${failback}` : '');
  return `npm run chaos -- --seconds ${seconds} --seed ${seed}${extra}`;
}

/** Carries out one scheduled action against the cluster. */
async function perform(c: Cluster, fault: PlannedFault, phase: 'inject' | 'heal'): Promise<void> {
  const spec = fault.spec;
  const reset = { reset: fault.resetOnHeal };
  if (phase === 'inject') {
    switch (spec.kind) {
      case 'blackhole':
        return c.blackhole(spec.link);
      case 'refuse':
        return c.cut(spec.link);
      case 'drop':
        return c.proxies[spec.link].setMode(spec.direction === 'forward' ? 'drop-forward' : 'drop-backward');
      case 'delay':
        return c.proxies[spec.link].setMode({ delayMs: spec.ms });
      case 'partition-peer':
        c.proxies['a->b'].setMode(spec.mode);
        c.proxies['b->a'].setMode(spec.mode);
        return;
      case 'isolate':
        return c.isolate(spec.node, spec.mode);
      case 'kill-sidecar':
        return c.kill(spec.node);
      case 'freeze-sidecar':
        return c.freeze(spec.node);
      case 'kill-witness':
        return c.kill('witness');
      case 'freeze-witness':
        return c.freeze('witness');
    }
  }
  switch (spec.kind) {
    case 'blackhole':
    case 'refuse':
    case 'drop':
    case 'delay':
      return c.heal(spec.link, reset);
    case 'partition-peer':
      c.heal('a->b', reset);
      c.heal('b->a', reset);
      return;
    case 'isolate':
      return c.rejoin(spec.node, reset);
    case 'kill-sidecar':
      await c.restart(spec.node);
      return;
    case 'freeze-sidecar':
      return c.thaw(spec.node);
    case 'kill-witness':
      await c.restart('witness', { wipe: spec.wipe });
      return;
    case 'freeze-witness':
      return c.thaw('witness');
  }
}

interface OneActive {
  /** Exactly one ticking workload in the run log, and nobody else says it is active. */
  candidate: { node: string; pid: number; epoch: string | null } | null;
  /** Both sidecars answered GetState and exactly the candidate's node says it is active and running. */
  confirmed: boolean;
  /** Something contradicts "exactly one" (two or no workloads ticking, two active, none active). */
  broken: boolean;
  text: string;
}

async function observeOne(c: Cluster): Promise<OneActive> {
  const view = await c.active();
  const now = timeline();
  const ticking = c
    .intervals()
    .filter((iv) => iv.endedBy === 'last-tick' && now - (iv.lastTick ?? iv.start) < TICK_FRESH_MS);
  const desc =
    `state: a=${view.a ? `${view.a.workload}${view.a.active ? ' active' : ''} epoch ${view.a.epoch}` : 'no answer'}, ` +
    `b=${view.b ? `${view.b.workload}${view.b.active ? ' active' : ''} epoch ${view.b.epoch}` : 'no answer'}; ` +
    `ticking workloads: [${ticking.map((iv) => `${iv.node}/pid ${iv.pid}/epoch ${iv.epoch}`).join(', ')}]`;
  if (ticking.length !== 1 || view.active.length > 1)
    return { candidate: null, confirmed: false, broken: true, text: desc };
  const iv = ticking[0]!;
  const bothAnswered = view.a !== undefined && view.b !== undefined;
  if (bothAnswered && view.active.length === 0) return { candidate: null, confirmed: false, broken: true, text: desc };
  if (view.active.length === 1 && view.active[0] !== iv.node)
    return { candidate: null, confirmed: false, broken: true, text: desc };
  const st = iv.node === 'a' ? view.a : iv.node === 'b' ? view.b : undefined;
  const confirmed =
    bothAnswered &&
    view.active.length === 1 &&
    st !== undefined &&
    st.workload === 'WORKLOAD_PHASE_RUNNING' &&
    st.epoch === iv.epoch;
  return { candidate: { node: iv.node ?? '?', pid: iv.pid, epoch: iv.epoch }, confirmed, broken: false, text: desc };
}

/**
 * After the heal-all: waits for exactly one workload to run (the bound: the failover bound, a
 * restarted witness's start-up grace, two peer timeouts for connections to come back without a
 * reset (keepalive), and SETTLE_SLACK_MS), then for it to stay the same process for STABLE_MS.
 * With auto fail-back a secondary that runs is expected to hand back to the primary after the
 * fail-back delay; if it has not by `handBackBy`, the pair still counts as settled (exactly one
 * runs) and the summary notes the missing hand-back.
 */
async function settle(
  c: Cluster,
  options: { failoverBoundMs: number; failback: 'auto' | 'manual'; failbackDelayMs: number },
): Promise<SettleResult> {
  const restartGraceMs = LEASE_MS * 1.01 + 50;
  const boundMs = Math.ceil(options.failoverBoundMs + restartGraceMs + 2 * TIMEOUT_MS + SETTLE_SLACK_MS);
  const handBackMs =
    options.failback === 'auto' ? options.failbackDelayMs + options.failoverBoundMs + SETTLE_SLACK_MS : 0;
  const t0 = performance.now();
  let firstOne: number | null = null;
  let stable: { pid: number; since: number } | null = null;
  let last = '';
  for (;;) {
    const obs = await observeOne(c);
    const now = performance.now() - t0;
    last = obs.text;
    if (obs.broken) stable = null;
    if (obs.candidate !== null) {
      if (firstOne === null && obs.confirmed) firstOne = now;
      if (stable === null || stable.pid !== obs.candidate.pid) stable = { pid: obs.candidate.pid, since: now };
      const isStable = obs.confirmed && now - stable.since >= STABLE_MS;
      const handBackDue = firstOne !== null && now >= firstOne + handBackMs + STABLE_MS;
      if (isStable && (obs.candidate.node === 'a' || options.failback === 'manual' || handBackDue)) {
        return {
          settled: true,
          firstOneMs: firstOne,
          settledMs: now,
          node: obs.candidate.node,
          epoch: obs.candidate.epoch,
          boundMs,
          note:
            obs.candidate.node !== 'a' && options.failback === 'auto'
              ? `the secondary still runs ${Math.round(now - (firstOne ?? now))} ms after the pair settled: no hand-back to the primary within fail-back delay + failover bound + slack`
              : null,
          lastObservation: last,
        };
      }
    }
    const deadline =
      firstOne === null ? boundMs : Math.max(boundMs, firstOne + handBackMs) + 2 * STABLE_MS + SETTLE_SLACK_MS;
    if (now > deadline) {
      return {
        settled: false,
        firstOneMs: firstOne,
        settledMs: null,
        node: null,
        epoch: null,
        boundMs,
        note:
          firstOne === null
            ? `no single active workload within ${boundMs} ms of the heal`
            : `exactly one ran ${Math.round(firstOne)} ms after the heal, but it did not stay stable for ${STABLE_MS} ms within ${Math.round(deadline)} ms`,
        lastObservation: last,
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** S2 over the run log: each activation's epoch is above every earlier activation's. */
export function checkEpochs(intervals: readonly RunInterval[]): string[] {
  const sorted = [...intervals].sort((x, y) => x.start - y.start || x.pid - y.pid);
  const problems: string[] = [];
  let highest: { epoch: bigint; iv: RunInterval } | null = null;
  const t0 = sorted[0]?.start ?? 0;
  const label = (iv: RunInterval): string =>
    `node=${iv.node ?? '?'} pid=${iv.pid} epoch=${iv.epoch ?? 'null'} start=+${(iv.start - t0).toFixed(1)} ms`;
  for (const iv of sorted) {
    if (iv.epoch === null || !/^\d+$/.test(iv.epoch)) {
      problems.push(`activation without a decimal epoch: ${label(iv)}`);
      continue;
    }
    const epoch = BigInt(iv.epoch);
    if (epoch >= 1n << 63n) problems.push(`epoch beyond 63 bits: ${label(iv)}`);
    if (highest !== null && epoch <= highest.epoch) {
      problems.push(`epoch not above every earlier activation's: ${label(iv)} after ${label(highest.iv)}`);
    }
    if (highest === null || epoch > highest.epoch) highest = { epoch, iv };
  }
  return problems;
}

/** S2 at the witness: every grant it logged (all its processes, in order) is above every earlier one. */
function checkGrants(c: Cluster): { grants: number; problems: string[] } {
  const grants = c.logs('witness').filter((l) => l.event === 'granted' && typeof l.epoch === 'string');
  const problems: string[] = [];
  let highest: bigint | null = null;
  for (const g of grants) {
    const epoch = BigInt(g.epoch!);
    if (highest !== null && epoch <= highest) {
      problems.push(
        `the witness granted epoch ${g.epoch} to ${String(g.node)} at ${new Date(lineTime(g)).toISOString()} after granting ${highest}`,
      );
    }
    if (highest === null || epoch > highest) highest = epoch;
  }
  return { grants: grants.length, problems };
}

function analyseFailovers(
  c: Cluster,
  intervals: readonly RunInterval[],
  actions: readonly ActionRecord[],
  scheduleT0: number,
): Failover[] {
  const sorted = [...intervals].sort((x, y) => x.start - y.start || x.pid - y.pid);
  const stops = { a: c.logged('a', 'stop'), b: c.logged('b', 'stop') };
  const out: Failover[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    const nodeStops = prev.node === 'a' || prev.node === 'b' ? stops[prev.node] : [];
    const stop = nodeStops.filter((l) => l.epoch === prev.epoch && lineTime(l) <= prev.end + 50).pop();
    let endCause: string;
    if (stop !== undefined) endCause = `stop: ${stop.why ?? '?'}`;
    else if (prev.endedBy === 'stop')
      endCause =
        'stopped without a stop decision of its sidecar (watchdog: sidecar killed or frozen, or the workload exited)';
    else endCause = 'killed (no stop line)';
    const handBack = stop !== undefined && /fail-back/.test(stop.why ?? '');
    const kind: Failover['kind'] = prev.node === cur.node ? 'restart' : handBack ? 'hand-back' : 'takeover';
    const before = actions.filter((a) => a.t <= prev.end).pop();
    out.push({
      from: prev.node ?? '?',
      to: cur.node ?? '?',
      fromEpoch: prev.epoch,
      toEpoch: cur.epoch,
      kind,
      endCause,
      gapMs: cur.start - prev.end,
      sinceFaultMs: before === undefined ? null : cur.start - before.t,
      sinceFault: before === undefined ? null : `#${before.fault} ${before.text}`,
      atMs: cur.start - scheduleT0,
    });
  }
  return out;
}

interface MergedEvent {
  t: number;
  text: string;
}

const SIDECAR_MSGS = new Set([
  'start',
  'stop',
  'acquire',
  'release',
  'workload running',
  'workload stopped',
  'workload exited by itself',
  'watchdog started',
  'watchdog exited',
]);

/** Every chaos action, workload start/stop, sidecar decision and witness event on one timeline. */
function mergedTimeline(
  c: Cluster,
  intervals: readonly RunInterval[],
  actions: readonly ActionRecord[],
): MergedEvent[] {
  const events: MergedEvent[] = [];
  for (const a of actions) {
    events.push({ t: a.t, text: `CHAOS   #${a.fault} ${a.phase}: ${a.text}${a.error ? ` FAILED: ${a.error}` : ''}` });
  }
  for (const iv of intervals) {
    events.push({ t: iv.start, text: `WORKLOAD ${iv.node} pid ${iv.pid} epoch ${iv.epoch} START` });
    events.push({
      t: iv.end,
      text: `WORKLOAD ${iv.node} pid ${iv.pid} epoch ${iv.epoch} END (${iv.endedBy}, ${iv.ticks} ticks)`,
    });
  }
  for (const node of ['a', 'b'] as const) {
    for (const l of c.logs(node)) {
      if (typeof l.msg !== 'string') continue;
      // 'workload running'/'workload stopped' are logged twice (supervisor, runtime): keep the one with the epoch.
      if (SIDECAR_MSGS.has(l.msg) && !(l.msg.startsWith('workload ') && l.epoch === undefined)) {
        events.push({
          t: lineTime(l),
          text: `sidecar ${node}: ${l.msg} epoch ${String(l.epoch ?? '-')}${l.why ? ` (${l.why})` : ''}`,
        });
      } else if ('failoverBoundMs' in l) {
        events.push({ t: lineTime(l), text: `sidecar ${node}: started (pid ${String(l.pid)})` });
      }
    }
  }
  for (const l of c.logs('witness')) {
    if (typeof l.event === 'string') {
      events.push({
        t: lineTime(l),
        text: `witness: ${l.event} node ${String(l.node)} epoch ${String(l.epoch)} holder ${String(l.holder)} (${String(l.rule)})`,
      });
    } else if (l.msg === 'witness listening') {
      events.push({ t: lineTime(l), text: `witness: listening (pid ${String(l.pid)})` });
    }
  }
  return events.filter((e) => Number.isFinite(e.t)).sort((x, y) => x.t - y.t);
}

function formatMerged(
  events: readonly MergedEvent[],
  t0: number,
  from = -Infinity,
  to = Infinity,
  maxLines = Infinity,
): string {
  const rows = events
    .filter((e) => e.t >= from && e.t <= to)
    .map((e) => `  +${((e.t - t0) / 1000).toFixed(3).padStart(8)} s  ${e.text}`);
  if (rows.length <= maxLines) return rows.join('\n');
  const head = Math.floor(maxLines / 2);
  return [
    ...rows.slice(0, head),
    `  ... ${rows.length - maxLines} line(s) left out (see chaos-timeline.txt) ...`,
    ...rows.slice(rows.length - (maxLines - head)),
  ].join('\n');
}

/**
 * Runs one chaos schedule against one real cluster; resolves with the result (never leaves a
 * process behind: the cluster is torn down, every process SIGKILLed by PID, also on errors).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const seconds = options.seconds;
  const seed = options.seed >>> 0;
  const maxActive = options.maxActive ?? 2;
  const failback = options.failback ?? 'auto';
  const failbackDelay = options.failbackDelay ?? '2s';
  const failbackDelayMs = parseSimpleDuration(failbackDelay);
  const say = options.progress ?? (() => undefined);
  const signal = options.signal;
  const plan = planSchedule({ seconds, seed, maxActive });
  const events = scheduleEvents(plan);
  const result: ChaosResult = {
    seed,
    seconds,
    ranMs: 0,
    aborted: false,
    faultsInjected: 0,
    faultsByKind: {},
    healsWithReset: 0,
    healsWithoutReset: 0,
    activations: 0,
    activationsByNode: {},
    overlaps: [],
    s2Violations: [],
    witnessGrants: 0,
    failovers: [],
    takeoverGap: stat([]),
    takeoverSinceFault: stat([]),
    handBackGap: stat([]),
    longestOutageMs: 0,
    longestOutageAtMs: null,
    availability: 0,
    workloadSelfExits: 0,
    failoverBoundMs: null,
    settle: null,
    teardownProblems: null,
    actionErrors: [],
    errors: [],
    evidence: [],
    dir: null,
    keptDir: false,
    replay: replayCommand(seconds, seed, maxActive, failback),
    loadAverage: { start: os.loadavg().map((x) => Math.round(x * 100) / 100), end: [] },
    ok: false,
    failures: [],
  };
  say(`chaos: seed ${seed}, ${seconds} s, ${plan.length} faults planned; replay: ${result.replay}`);

  let c: Cluster | undefined;
  const actions: ActionRecord[] = [];
  let scheduleT0 = performance.now();
  let scheduleT0Timeline = timeline();
  try {
    c = await Cluster.start({ failback, failbackDelay, witnessLogLevel: options.witnessLogLevel, echo: options.echo });
    result.dir = c.dir;
    const bound = c.logs('a').find((l) => typeof l.failoverBoundMs === 'number')?.failoverBoundMs;
    result.failoverBoundMs = typeof bound === 'number' ? bound : null;
    say(
      `chaos: cluster in ${c.dir}: witness :${c.ports.witness}, a :${c.ports.a}, b :${c.ports.b}; ` +
        `failover bound ${String(result.failoverBoundMs)} ms`,
    );
    // A cold start with everything up (scenario 1): a runs; b hears a and the witness.
    const cluster = c;
    await cluster.waitFor(
      'cold start: a runs its workload and b hears a and the witness',
      async () => {
        const v = await cluster.active();
        return v.a?.workload === 'WORKLOAD_PHASE_RUNNING' && v.b?.peerReachable === true && v.b.witnessReachable;
      },
      8000,
    );

    scheduleT0 = performance.now();
    scheduleT0Timeline = timeline();
    const endAt = seconds * 1000;
    const active = new Set<number>();
    for (const ev of events) {
      const now = performance.now() - scheduleT0;
      if (ev.phase === 'inject' && now > endAt) continue; // late (slow restarts): past the end, inject nothing more
      if (ev.phase === 'heal' && !active.has(ev.fault.id)) continue;
      await abortableSleep(ev.at - now, signal);
      const actual = performance.now() - scheduleT0;
      const t = timeline();
      const text = ev.phase === 'inject' ? describeFault(ev.fault.spec) : describeHeal(ev.fault);
      const record: ActionRecord = { planned: ev.at, actual, t, tookMs: 0, fault: ev.fault.id, phase: ev.phase, text };
      actions.push(record);
      try {
        await perform(cluster, ev.fault, ev.phase);
      } catch (error) {
        record.error = (error as Error).message.split('\n')[0] ?? String(error);
        result.actionErrors.push(`#${ev.fault.id} ${ev.phase} ${text}: ${(error as Error).message}`);
      }
      record.tookMs = performance.now() - scheduleT0 - actual;
      if (ev.phase === 'inject') {
        active.add(ev.fault.id);
        result.faultsInjected += 1;
        const label = faultLabel(ev.fault.spec);
        result.faultsByKind[label] = (result.faultsByKind[label] ?? 0) + 1;
      } else {
        active.delete(ev.fault.id);
        if (['blackhole', 'refuse', 'drop', 'partition-peer', 'isolate'].includes(ev.fault.spec.kind)) {
          if (ev.fault.resetOnHeal) result.healsWithReset += 1;
          else result.healsWithoutReset += 1;
        }
      }
      say(
        `[+${(actual / 1000).toFixed(2)}s] #${ev.fault.id} ${ev.phase === 'inject' ? 'inject' : 'heal  '} ${text}` +
          (ev.phase === 'inject' ? ` (for ${((ev.fault.until - ev.fault.at) / 1000).toFixed(2)} s)` : '') +
          (record.tookMs > 200 ? ` [took ${Math.round(record.tookMs)} ms]` : '') +
          (record.error ? ` FAILED: ${record.error}` : ''),
      );
    }
    await abortableSleep(endAt - (performance.now() - scheduleT0), signal);
    result.ranMs = performance.now() - scheduleT0;

    // Heal everything: SIGCONT every process, every link back to 'pass', restart what is down.
    const finalT = timeline();
    const finalActual = performance.now() - scheduleT0;
    const healed: string[] = [];
    for (const name of ['witness', 'a', 'b'] as const) {
      if (cluster.proc(name).running) cluster.proc(name).kill('SIGCONT');
    }
    for (const link of LINKS) {
      if (cluster.proxies[link].mode !== 'pass') {
        healed.push(link);
        cluster.heal(link, { reset: true });
      }
    }
    for (const name of ['witness', 'a', 'b'] as ProcName[]) {
      if (!cluster.proc(name).running) {
        healed.push(`restart ${name}`);
        try {
          await cluster.restart(name);
        } catch (error) {
          result.actionErrors.push(`final heal: restart ${name}: ${(error as Error).message}`);
        }
      }
    }
    actions.push({
      planned: seconds * 1000,
      actual: finalActual,
      t: finalT,
      tookMs: performance.now() - scheduleT0 - finalActual,
      fault: 0,
      phase: 'final-heal',
      text: `heal everything (SIGCONT all${healed.length ? `; ${healed.join(', ')}` : '; nothing else was faulted'})`,
    });
    say(
      `[+${(finalActual / 1000).toFixed(2)}s] final heal: ${actions[actions.length - 1]!.text}; waiting for a settled pair`,
    );
    result.settle = await settle(cluster, {
      failoverBoundMs: result.failoverBoundMs ?? 1300,
      failback,
      failbackDelayMs,
    });
    say(
      result.settle.settled
        ? `chaos: settled: exactly one runs (${result.settle.node}, epoch ${result.settle.epoch}); first ${fmtMs(result.settle.firstOneMs)} after the heal`
        : `chaos: NOT settled: ${result.settle.note}; last seen: ${result.settle.lastObservation}`,
    );
  } catch (error) {
    if (error instanceof Aborted) {
      result.aborted = true;
      result.ranMs = performance.now() - scheduleT0;
      say('chaos: aborted; stopping the cluster');
    } else {
      result.errors.push((error as Error).stack ?? String(error));
      result.ranMs = performance.now() - scheduleT0;
    }
  } finally {
    if (c !== undefined) {
      try {
        await c.teardown({ keepDir: true });
      } catch (error) {
        result.teardownProblems = (error as Error).message;
      }
    } else {
      await killAllTracked(5000).catch((error: unknown) => result.errors.push(String(error)));
    }
  }

  result.loadAverage.end = os.loadavg().map((x) => Math.round(x * 100) / 100);
  if (c === undefined) {
    result.failures.push(`the cluster did not start: ${result.errors.join('\n')}`);
    return result;
  }

  // ---- checks on the complete run log -------------------------------------------------------------
  let intervals: RunInterval[] = [];
  try {
    intervals = c.intervals();
  } catch (error) {
    result.errors.push(`run log unreadable: ${(error as Error).message}`);
  }
  const overlaps: Overlap[] = findOverlaps(intervals);
  result.overlaps = overlaps.map((o) => ({
    text: `${formatOverlaps([o])} (at +${((o.from - scheduleT0Timeline) / 1000).toFixed(3)} s of the schedule)`,
    overlapMs: o.overlapMs,
    atMs: o.from - scheduleT0Timeline,
  }));
  result.s2Violations = checkEpochs(intervals);
  const grants = checkGrants(c);
  result.witnessGrants = grants.grants;
  result.s2Violations.push(...grants.problems);
  result.activations = intervals.length;
  for (const iv of intervals)
    result.activationsByNode[iv.node ?? '?'] = (result.activationsByNode[iv.node ?? '?'] ?? 0) + 1;
  try {
    result.workloadSelfExits = (fs.readFileSync(c.runLog, 'utf8').match(/"signal":"max-runtime"/g) ?? []).length;
  } catch {
    // no run log
  }
  result.failovers = analyseFailovers(c, intervals, actions, scheduleT0Timeline);
  const takeovers = result.failovers.filter((f) => f.kind === 'takeover');
  result.takeoverGap = stat(takeovers.map((f) => f.gapMs));
  result.takeoverSinceFault = stat(takeovers.flatMap((f) => (f.sinceFaultMs === null ? [] : [f.sinceFaultMs])));
  result.handBackGap = stat(result.failovers.filter((f) => f.kind === 'hand-back').map((f) => f.gapMs));
  // Outages within the schedule window: stretches with no workload running.
  const windowEnd = scheduleT0Timeline + result.ranMs;
  let covered = scheduleT0Timeline;
  let up = 0;
  for (const iv of [...intervals].sort((x, y) => x.start - y.start)) {
    const s = Math.max(iv.start, scheduleT0Timeline);
    const e = Math.min(iv.end, windowEnd);
    if (e <= s) continue;
    if (s > covered && s - covered > result.longestOutageMs) {
      result.longestOutageMs = s - covered;
      result.longestOutageAtMs = covered - scheduleT0Timeline;
    }
    up += Math.max(0, e - Math.max(s, covered));
    covered = Math.max(covered, e);
  }
  if (windowEnd - covered > result.longestOutageMs) {
    result.longestOutageMs = windowEnd - covered;
    result.longestOutageAtMs = covered - scheduleT0Timeline;
  }
  result.availability = result.ranMs > 0 ? up / result.ranMs : 0;

  if (result.overlaps.length > 0)
    result.failures.push(`S1: ${result.overlaps.length} overlap(s) of workload run intervals`);
  if (result.s2Violations.length > 0) result.failures.push(`S2: ${result.s2Violations.length} violation(s)`);
  if (result.teardownProblems !== null) result.failures.push(`teardown: ${result.teardownProblems.split('\n')[0]}`);
  if (result.actionErrors.length > 0) result.failures.push(`${result.actionErrors.length} chaos action(s) failed`);
  if (result.errors.length > 0) result.failures.push(`run error: ${result.errors[0]!.split('\n')[0]}`);
  if (!result.aborted && (result.settle === null || !result.settle.settled)) {
    result.failures.push(`not settled after the heal: ${result.settle?.note ?? 'the run did not get that far'}`);
  }
  result.ok = result.failures.length === 0 && !result.aborted;

  // ---- evidence --------------------------------------------------------------------------------
  const merged = mergedTimeline(c, intervals, actions);
  if (!result.ok || options.keep) {
    result.keptDir = true;
    const write = (name: string, text: string): void => {
      try {
        fs.writeFileSync(path.join(c!.dir, name), text);
      } catch {
        // best effort
      }
    };
    write('chaos-summary.txt', formatSummary(result));
    write('chaos-result.json', JSON.stringify(result, null, 2));
    write('chaos-schedule.txt', formatPlan(plan) + '\n\nexecuted:\n' + formatActions(actions));
    write(
      'chaos-timeline.txt',
      `t0 = schedule start (${new Date(scheduleT0Timeline).toISOString()})\n` +
        formatMerged(merged, scheduleT0Timeline),
    );
    write('chaos-intervals.txt', formatTimeline(intervals, { width: 100 }));
    write('output.txt', c.output(20_000));
  } else {
    fs.rmSync(c.dir, { recursive: true, force: true });
  }
  if (!result.ok) {
    // The part of the merged timeline that matters, for the report.
    const windows: [number, number][] = overlaps.map((o) => [o.from - 3000, o.to + 1000]);
    if (windows.length === 0) windows.push([scheduleT0Timeline + result.ranMs - 3000, Infinity]);
    result.evidence.push(
      ...windows
        .slice(0, 3)
        .map(
          ([from, to]) =>
            `timeline (t0 = schedule start; the whole run in chaos-timeline.txt):\n` +
            formatMerged(merged, scheduleT0Timeline, from, to, 160),
        ),
    );
  }
  return result;
}

function parseSimpleDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export function formatPlan(plan: readonly PlannedFault[]): string {
  return plan
    .map(
      (f) =>
        `#${String(f.id).padStart(3)} +${(f.at / 1000).toFixed(2).padStart(7)} s .. +${(f.until / 1000).toFixed(2).padStart(7)} s  ` +
        `${describeFault(f.spec)}; then ${describeHeal(f)}`,
    )
    .join('\n');
}

function formatActions(actions: readonly ActionRecord[]): string {
  return actions
    .map(
      (a) =>
        `+${(a.actual / 1000).toFixed(3).padStart(8)} s (planned +${(a.planned / 1000).toFixed(2)} s, took ${Math.round(a.tookMs)} ms) ` +
        `#${a.fault} ${a.phase}: ${a.text}${a.error ? ` FAILED: ${a.error}` : ''}`,
    )
    .join('\n');
}

function formatStat(s: Stat): string {
  return s.n === 0 ? 'none' : `n=${s.n} p50 ${fmtMs(s.p50)}, max ${fmtMs(s.max)}`;
}

export function formatSummary(r: ChaosResult): string {
  const kinds = Object.entries(r.faultsByKind)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const nodes = Object.entries(r.activationsByNode)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const takeovers = r.failovers.filter((f) => f.kind === 'takeover');
  const handBacks = r.failovers.filter((f) => f.kind === 'hand-back');
  const restarts = r.failovers.filter((f) => f.kind === 'restart');
  const lines = [
    `seed: ${r.seed}`,
    `seconds run: ${(r.ranMs / 1000).toFixed(1)} (planned ${r.seconds})${r.aborted ? ' ABORTED' : ''}`,
    `faults injected: ${r.faultsInjected} (${kinds || 'none'}); link heals with reset ${r.healsWithReset}, without ${r.healsWithoutReset}`,
    `activations: ${r.activations} (${nodes || 'none'}); witness grants: ${r.witnessGrants}; workload self-exits (max-runtime): ${r.workloadSelfExits}`,
    `overlaps (S1): ${r.overlaps.length}`,
    ...r.overlaps.map((o) => `  ${o.text}`),
    `S2 violations: ${r.s2Violations.length}`,
    ...r.s2Violations.map((v) => `  ${v}`),
    `failovers observed: ${takeovers.length} takeover(s): no-workload gap ${formatStat(r.takeoverGap)}; ` +
      `last chaos action -> new workload start ${formatStat(r.takeoverSinceFault)}`,
    `hand-backs: ${handBacks.length}: gap ${formatStat(r.handBackGap)}; same-node restarts: ${restarts.length}`,
    `availability during the schedule: ${(r.availability * 100).toFixed(1)}%; longest stretch with nothing running: ${fmtMs(r.longestOutageMs)}` +
      (r.longestOutageAtMs === null ? '' : ` from +${(r.longestOutageAtMs / 1000).toFixed(2)} s`),
    `failover bound printed by the sidecars: ${r.failoverBoundMs === null ? '?' : `${r.failoverBoundMs} ms`}`,
    r.settle === null
      ? 'settled at the end: not reached'
      : r.settle.settled
        ? `settled at the end: yes: exactly one runs (${r.settle.node}, epoch ${r.settle.epoch}); first ${fmtMs(r.settle.firstOneMs)} after the heal (bound ${r.settle.boundMs} ms), stable at ${fmtMs(r.settle.settledMs)}` +
          (r.settle.note ? `\n  NOTE: ${r.settle.note}` : '')
        : `settled at the end: NO: ${r.settle.note}\n  last seen: ${r.settle.lastObservation}`,
    ...(r.teardownProblems ? [`teardown: ${r.teardownProblems}`] : []),
    ...r.actionErrors.map((e) => `action failed: ${e}`),
    `load average: start ${r.loadAverage.start.join(' ')}, end ${r.loadAverage.end.join(' ')}`,
    `result: ${
      r.ok
        ? 'PASS'
        : r.aborted && r.failures.length === 0
          ? 'ABORTED (interrupted; no violation in the run log so far)'
          : `FAIL: ${r.failures.join('; ')}${r.aborted ? ' (interrupted)' : ''}`
    }`,
    ...(r.keptDir && r.dir ? [`evidence kept in ${r.dir}`] : []),
    `replay: ${r.replay}`,
  ];
  return lines.join('\n');
}

export function formatFailovers(r: ChaosResult): string {
  return r.failovers
    .map(
      (f) =>
        `  +${(f.atMs / 1000).toFixed(2)} s ${f.kind.padEnd(9)} ${f.from}(${f.fromEpoch}) -> ${f.to}(${f.toEpoch}): gap ${Math.round(f.gapMs)} ms` +
        (f.sinceFaultMs === null ? '' : `, ${Math.round(f.sinceFaultMs)} ms after ${f.sinceFault}`) +
        `; ended by ${f.endCause}`,
    )
    .join('\n');
}

// ---- command line ---------------------------------------------------------------------------------

interface CliArgs {
  seconds: number;
  seed: number;
  json: boolean;
  maxActive: number;
  failback: 'auto' | 'manual';
  keep: boolean;
  echo: boolean;
  witnessDebug: boolean;
  quiet: boolean;
}

class UsageError extends Error {}

const USAGE =
  'usage: npm run chaos -- --seconds S [--seed N] [--json] [--max-faults N] [--failback auto|manual] [--keep] [--echo] [--witness-debug] [--quiet]';

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = {
    seconds: 60,
    seed: randomSeed(),
    json: false,
    maxActive: 2,
    failback: 'auto',
    keep: false,
    echo: false,
    witnessDebug: false,
    quiet: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=')
      ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]
      : [flag, undefined];
    const take = (): string => inline ?? value(++i, name);
    switch (name) {
      case '--seconds': {
        const n = Number(take());
        if (!Number.isFinite(n) || n <= 0 || n > 86_400)
          throw new UsageError('--seconds needs a number of seconds in (0, 86400]');
        args.seconds = n;
        break;
      }
      case '--seed': {
        const n = Number(take());
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
          throw new UsageError('--seed needs an integer in [0, 4294967295]');
        args.seed = n;
        break;
      }
      case '--max-faults': {
        const n = Number(take());
        if (!Number.isInteger(n) || n < 1 || n > 4) throw new UsageError('--max-faults needs an integer in [1, 4]');
        args.maxActive = n;
        break;
      }
      case '--failback': {
        const v = take();
        if (v !== 'auto' && v !== 'manual') throw new UsageError('--failback is auto or manual');
        args.failback = v;
        break;
      }
      case '--json':
        args.json = true;
        break;
      case '--keep':
        args.keep = true;
        break;
      case '--echo':
        args.echo = true;
        break;
      case '--witness-debug':
        args.witnessDebug = true;
        break;
      case '--quiet':
        args.quiet = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument ${flag}`);
    }
  }
  return args;
}

async function main(): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(`\nchaos: ${sig}: stopping the schedule, killing every process, checking the run log\n`);
      controller.abort();
    } else {
      process.stderr.write(`chaos: ${sig} again: exiting now (every tracked process is SIGKILLed on exit)\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Progress goes to stderr with --json (stdout carries only the JSON), else to stdout.
  const out = (line: string): void => {
    if (args.json) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
  out(`chaos: seed ${args.seed} (replay: ${replayCommand(args.seconds, args.seed, args.maxActive, args.failback)})`);
  const result = await runChaos({
    seconds: args.seconds,
    seed: args.seed,
    maxActive: args.maxActive,
    failback: args.failback,
    keep: args.keep,
    echo: args.echo,
    witnessLogLevel: args.witnessDebug ? 'debug' : 'info',
    progress: args.quiet ? undefined : out,
    signal: controller.signal,
  });
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    out('\n=== failovers ===');
    out(formatFailovers(result) || '  none');
    out('\n=== chaos summary ===');
    out(formatSummary(result));
    for (const e of [...result.errors, ...result.evidence]) out(`\n${e}`);
  }
  if (result.aborted) return 130;
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
