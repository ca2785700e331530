/**
 * `npm run sim -- --schedules N --seed S [--verbose]`: runs N random fault schedules against the
 * production cores and reports schedules run, simulated time, violations (S1, S2, liveness) and
 * the failover-time distribution; exits 1 on any violation.
 *
 * `npm run sim -- --replay 0xSEED [--verbose]` replays one schedule and prints its configuration
 * and timeline (notable events; every message too with --verbose).
 *
 * `--hooks FILE --variant NAME` runs a variant exported by a hooks module (the deliberately broken
 * variants live in dist/test/sim/variants.js and exist only for the tests).
 */
import path from 'node:path';
import { type SimHooks } from './hooks';
import { FAULT_KINDS, type FaultKind } from './plan';
import { describePlan } from './plan-description';
import { scheduleSeed } from './prng';
import { emptySummary, percentile, type RunConfig, runMany, runSchedule, type Summary, totalViolations } from './run';
import { hex, type Violation } from './simulation';

const TIMELINE_LINES = 60;

interface Args {
  schedules: number;
  seed: number;
  verbose: boolean;
  replay: number | undefined;
  hooksFile: string | undefined;
  variant: string | undefined;
  examples: number;
  faults: FaultKind[] | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    schedules: 1000,
    seed: 1,
    verbose: false,
    replay: undefined,
    hooksFile: undefined,
    variant: undefined,
    examples: 5,
    faults: undefined,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[i + 1];
      if (v === undefined) usage(`${flag} needs a value`);
      i += 1;
      return v;
    };
    switch (flag) {
      case '--schedules':
        args.schedules = int(value(), flag);
        break;
      case '--seed':
        args.seed = int(value(), flag);
        break;
      case '--replay':
        args.replay = int(value(), flag);
        break;
      case '--verbose':
      case '-v':
        args.verbose = true;
        break;
      case '--hooks':
        args.hooksFile = value();
        break;
      case '--variant':
        args.variant = value();
        break;
      case '--faults': {
        const kinds = value().split(',');
        for (const k of kinds)
          if (!(FAULT_KINDS as readonly string[]).includes(k))
            usage(`unknown fault kind ${k}; kinds: ${FAULT_KINDS.join(',')}`);
        args.faults = kinds as FaultKind[];
        break;
      }
      case '--examples':
        args.examples = int(value(), flag);
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown argument ${flag}`);
    }
  }
  return args;
}

function int(text: string, flag: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    usage(`${flag} wants a non-negative integer (decimal or 0x hex): ${text}`);
  return n;
}

function usage(problem?: string): never {
  const text = [
    'usage: npm run sim -- [--schedules N] [--seed S] [--verbose] [--examples K]',
    '       npm run sim -- --replay 0xSEED [--verbose]',
    '       (either form) [--faults kind,kind,...]  only these fault kinds may be drawn',
    '       (either form) [--hooks dist/test/sim/variants.js --variant NAME]',
  ].join('\n');
  if (problem !== undefined) {
    process.stderr.write(`${problem}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

function loadHooks(args: Args): SimHooks | undefined {
  if (args.hooksFile === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.resolve(args.hooksFile)) as { VARIANTS?: Record<string, { hooks: SimHooks }> };
  const variant = args.variant === undefined ? undefined : mod.VARIANTS?.[args.variant];
  if (variant === undefined)
    usage(
      `${args.hooksFile} has no variant ${args.variant ?? '(none given)'}; it has: ${Object.keys(mod.VARIANTS ?? {}).join(', ')}`,
    );
  return variant.hooks;
}

export function replayCommand(seed: number, hooksFile?: string, variant?: string, faults?: readonly string[]): string {
  const extra = hooksFile === undefined ? '' : ` --hooks ${hooksFile} --variant ${variant ?? ''}`;
  const only = faults === undefined ? '' : ` --faults ${faults.join(',')}`;
  return `npm run sim -- --replay ${hex(seed)}${only}${extra}`;
}

/** The timeline before (and including) the violation, and the command that replays it. */
export function explain(
  seed: number,
  violation: Violation,
  config: RunConfig,
  replay: string,
  lines = TIMELINE_LINES,
): string[] {
  const { plan, result } = runSchedule(seed, config, 1);
  const same = result.violations.find((v) => v.kind === violation.kind && v.sub === violation.sub);
  const out: string[] = [];
  out.push(`--- ${violation.kind} (${violation.sub}) in schedule ${hex(seed)} at ${violation.at.toFixed(3)}ms`);
  out.push(`    ${violation.detail.split('\n')[0] ?? ''}`);
  for (const line of describePlan(plan)) out.push(`    ${line}`);
  const end = same?.traceIndex ?? result.timeline.length;
  const from = Math.max(0, end - lines);
  out.push(`    timeline (real ms, last ${end - from} notable events up to the violation):`);
  for (const line of result.timeline.slice(from, end)) out.push(`    ${line}`);
  out.push(`    replay: ${replay}`);
  return out;
}

function fmt(ms: number): string {
  return Number.isNaN(ms) ? '-' : `${ms.toFixed(0)}ms`;
}

function ratio(x: number): string {
  return Number.isNaN(x) ? '-' : x.toFixed(2);
}

export function report(summary: Summary, masterSeed: number): string[] {
  const out: string[] = [];
  const cpuS = summary.cpuMs / 1000;
  const simS = summary.simulatedMs / 1000;
  out.push(
    `schedules run: ${summary.schedules} (seed ${masterSeed}; ${summary.rejectedConfigs} drawn configurations rejected by settingsProblems())`,
  );
  out.push(
    `simulated time: ${simS.toFixed(0)}s (${(simS / 3600).toFixed(2)}h), ${(simS / Math.max(1, summary.schedules)).toFixed(1)}s per schedule; ${summary.events} events, ${summary.activations} workload starts`,
  );
  out.push(
    `cpu: ${cpuS.toFixed(2)}s, ${(summary.schedules / Math.max(cpuS, 1e-9)).toFixed(0)} schedules/s, ${(summary.events / Math.max(cpuS, 1e-9) / 1e6).toFixed(2)}M events/s`,
  );
  const by = summary.byKind;
  out.push(
    `violations: S1 ${by['S1'] ?? 0}, S2 ${by['S2'] ?? 0}, liveness ${by['liveness'] ?? 0}` +
      `${by['error'] ? `, errors ${by['error']}` : ''} (in ${summary.failingSchedules} schedules)`,
  );
  for (const [key, n] of Object.entries(summary.bySub).sort()) {
    const ex = summary.examples.get(key);
    out.push(`  ${key}: ${n}${ex === undefined ? '' : ` (first: schedule ${hex(ex.seed)})`}`);
  }
  const f = summary.probeFailoversMs;
  out.push(
    `failover, probe after heal (active node crashed, isolated or frozen; n=${f.length}): ` +
      `p50 ${fmt(percentile(f, 50))} p99 ${fmt(percentile(f, 99))} max ${fmt(percentile(f, 100))}; ` +
      `x lease p50 ${ratio(percentile(summary.probeLeaseRatios, 50))} p99 ${ratio(percentile(summary.probeLeaseRatios, 99))} ` +
      `max ${ratio(percentile(summary.probeLeaseRatios, 100))}; x printed bound p50 ${ratio(percentile(summary.probeBoundRatios, 50))} ` +
      `p99 ${ratio(percentile(summary.probeBoundRatios, 99))} max ${ratio(percentile(summary.probeBoundRatios, 100))}`,
  );
  const d = summary.probeLeaseDominantRatios;
  out.push(
    `  where the lease dominates (timeout, peer lease <= lease; n=${d.length}): x lease p50 ${ratio(percentile(d, 50))} ` +
      `p99 ${ratio(percentile(d, 99))} max ${ratio(percentile(d, 100))}`,
  );
  const h = summary.handOversMs;
  out.push(
    `hand-over, probe after heal (SIGTERM of the active sidecar; n=${h.length}): ` +
      `p50 ${fmt(percentile(h, 50))} p99 ${fmt(percentile(h, 99))} max ${fmt(percentile(h, 100))}`,
  );
  const g = summary.faultFailoversMs;
  out.push(
    `failover under faults (n=${g.length}): p50 ${fmt(percentile(g, 50))} p99 ${fmt(percentile(g, 99))} max ${fmt(percentile(g, 100))}`,
  );
  const k = summary.keptRestarts;
  out.push(
    `restarts keeping the workload (SIGUSR2, design §9.8): adopted ${k.adopted}, ` +
      `stopped at the deadline before the next process came ${k['stopped-before-adoption']}, ` +
      `nothing to keep (a planned stop) ${k['nothing-to-keep']}, not found by the next process ${k['not-found']}`,
  );
  const late = summary.pastDeadline;
  out.push(
    `answers past the deadline: ${late.schedules} schedules draw them; landed right after a later start ` +
      `${late.landed['next-start']}, right after their run ended ${late.landed['run-end']}, at a time drawn ${late.landed['drawn-time']}`,
  );
  const fresh = summary.freshness;
  out.push(
    `standby freshness: ${fresh.schedules} schedules sync, ${fresh.gated} with the gate; ${fresh.refusals} takeovers refused ` +
      `by it in ${fresh.refusingSchedules} schedules; ${fresh.probesRefused} probes ended refused (no failover owed)`,
  );
  out.push(
    `fault kinds (schedules with each): ${Object.entries(summary.faultCoverage)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  return out;
}

function main(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const args = parseArgs(process.argv.slice(2));
  const hooks = loadHooks(args);
  const config: RunConfig = {
    hooks,
    planOptions: args.faults === undefined ? undefined : { allowFaults: new Set(args.faults) },
  };
  const replayOf = (seed: number): string => replayCommand(seed, args.hooksFile, args.variant, args.faults);
  if (args.replay !== undefined) {
    const seed = args.replay;
    const { plan, result } = runSchedule(seed, config, args.verbose ? 2 : 1);
    for (const line of describePlan(plan)) process.stdout.write(`${line}\n`);
    for (const line of result.timeline) process.stdout.write(`${line}\n`);
    process.stdout.write(
      `simulated ${result.simulatedMs.toFixed(0)}ms, ${result.events} events; probe failover ` +
        `${result.probeFailoverMs === undefined ? '-' : `${result.probeFailoverMs.toFixed(1)}ms`}; ` +
        `${result.violations.length} violations\n`,
    );
    for (const v of result.violations)
      process.stdout.write(`  ${v.kind} (${v.sub}) at ${v.at.toFixed(3)}: ${v.detail}\n`);
    process.exitCode = result.violations.length > 0 ? 1 : 0;
    return;
  }
  process.stdout.write(
    `failover-witness simulator: ${args.schedules} schedules, seed ${args.seed}${args.variant ? `, variant ${args.variant}` : ''}\n`,
  );
  const summary = emptySummary();
  const chunk = 1000;
  for (let first = 0; first < args.schedules; first += chunk) {
    runMany(args.seed, Math.min(chunk, args.schedules - first), config, first, summary);
    if (args.verbose)
      process.stderr.write(`  ${summary.schedules} schedules, ${totalViolations(summary)} violations\n`);
  }
  for (const line of report(summary, args.seed)) process.stdout.write(`${line}\n`);
  const examples = [...summary.examples.values()];
  const shown = args.verbose ? examples : examples.slice(0, args.examples);
  for (const ex of shown) {
    for (const line of explain(ex.seed, ex.violation, config, replayOf(ex.seed))) process.stdout.write(`${line}\n`);
  }
  process.exitCode = totalViolations(summary) > 0 ? 1 : 0;
}

/** Exposed for tests: the seed of schedule `index` of a run. */
export { scheduleSeed };

if (require.main === module) main();
