/**
 * The chaos runner's fault schedule: drawn whole from a seed before the run starts, so a seed
 * (with `--seconds` and `--max-faults`, which shape it) names one schedule. The draws come from
 * the simulator's PRNG (src/sim/prng.ts); Math.random only picks a seed when none is given.
 *
 * Every 0.5-3 s a fault is injected unless a couple are already active (or, now and then, to leave
 * the pair healthy for a while); each lasts a random time and is then healed. Two faults active at
 * once never touch the same link or process.
 */
import { Rng } from '../../src/sim/prng';
import { LINKS, type LinkName, type NodeName } from '../support/cluster';

/** A seed for today (UTC), e.g. 20250614: a new schedule every day, the same one all day. */
export function dateSeed(date = new Date()): number {
  return date.getUTCFullYear() * 10_000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296) >>> 0;
}

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

export function describeHeal(f: PlannedFault): string {
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

/** Uniform integer in [lo, hi], both included. */
function intBetween(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** One of the entries' values, each as likely as its weight. */
function pickWeighted<T>(rng: Rng, entries: readonly (readonly [T, number])[]): T {
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let x = rng.next() * total;
  for (const [value, w] of entries) {
    if (x < w) return value;
    x -= w;
  }
  return entries[entries.length - 1]![0];
}

function drawSpec(rng: Rng, kind: Kind): FaultSpec {
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
      return {
        kind,
        link: rng.pick(LINKS),
        ms: rng.chance(0.7) ? intBetween(rng, 10, 400) : intBetween(rng, 400, 1500),
      };
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
  const rng = new Rng(options.seed);
  const maxActive = options.maxActive ?? 2;
  const endMs = options.seconds * 1000;
  const planned: PlannedFault[] = [];
  let t = intBetween(rng, GAP_MS[0], GAP_MS[1]);
  while (t < endMs) {
    const active = planned.filter((f) => f.until > t);
    if (active.length < maxActive && !rng.chance(QUIET_CHANCE)) {
      const busy = new Set(active.flatMap((f) => resources(f.spec)));
      // Draw a kind, then its target; retry a few times if it would touch something busy.
      for (let attempt = 0; attempt < 6; attempt++) {
        const kind = pickWeighted(rng, KIND_WEIGHTS);
        const spec = drawSpec(rng, kind);
        if (resources(spec).some((r) => busy.has(r))) continue;
        const [lo, hi] = DURATION_MS[kind];
        const until = Math.min(endMs, t + intBetween(rng, lo, hi));
        planned.push({ id: planned.length + 1, at: t, until, spec, resetOnHeal: rng.chance(0.5) });
        break;
      }
    }
    t += intBetween(rng, GAP_MS[0], GAP_MS[1]);
  }
  return planned;
}

export interface ScheduleEvent {
  at: number;
  fault: PlannedFault;
  phase: 'inject' | 'heal';
}

/** Injections and heals in time order; at the same instant, heals first (they free resources). */
export function scheduleEvents(plan: readonly PlannedFault[]): ScheduleEvent[] {
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

export function formatPlan(plan: readonly PlannedFault[]): string {
  return plan
    .map(
      (f) =>
        `#${String(f.id).padStart(3)} +${(f.at / 1000).toFixed(2).padStart(7)} s .. +${(f.until / 1000).toFixed(2).padStart(7)} s  ` +
        `${describeFault(f.spec)}; then ${describeHeal(f)}`,
    )
    .join('\n');
}
