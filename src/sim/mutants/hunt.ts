/**
 * The child process of a mutation run: compiled inside the mutant's own copy of the tree, so
 * `../run` is the simulator over the MUTATED cores. It runs the regression schedules
 * (regression-schedules.ts, unless `--no-regressions`), then schedules 0, 1, ... of a seed, until
 * the first one that shows a violation the unmutated cores (`--reference`, the project's own
 * dist/src/sim/run.js) do not show in the same schedule, or until the budget of swarm schedules
 * is spent.
 *
 * `node hunt.js --budget N --seed S --reference FILE [--faults kind,...] [--no-regressions]`; prints
 * `progress K` lines, then one `result {json}` line (a HuntResult).
 */
import type { FaultKind } from '../plan';
import { scheduleSeed } from '../prng';
import { REGRESSION_SCHEDULES, type RegressionSchedule, regressionRunConfig } from '../regression-schedules';
import type { RunConfig } from '../run';
import { runSchedule } from '../run';
import type { ScheduleResult } from '../simulation';

export interface HuntResult {
  /** Schedules of the swarm run, the catching one included (0 when a regression schedule caught it). */
  readonly schedules: number;
  readonly caught?: {
    /** The swarm schedule's index, or -1 for a regression schedule. */
    readonly index: number;
    /** What the regression schedule that caught it once found. */
    readonly regression?: string;
    readonly seed: number;
    readonly kind: string;
    readonly sub: string;
    readonly detail: string;
  };
  /** Violations the mutant showed that the unmutated cores show in the same schedule too. */
  readonly sharedWithProduction: readonly string[];
}

type RunScheduleFn = (seed: number, config?: RunConfig) => { result: ScheduleResult };

const PROGRESS_EVERY = 250;

function keyOf(v: { kind: string; sub: string }): string {
  return `${v.kind}/${v.sub}`;
}

/** The first violation of one schedule that the unmutated cores do not show in it. */
function ownViolation(
  seed: number,
  config: RunConfig,
  reference: RunScheduleFn,
  shared: Set<string>,
): { kind: string; sub: string; detail: string } | undefined {
  const mutated = runSchedule(seed, config).result.violations;
  if (mutated.length === 0) return undefined;
  const production = new Set(reference(seed, config).result.violations.map(keyOf));
  for (const v of mutated) if (production.has(keyOf(v))) shared.add(keyOf(v));
  const own = mutated.find((v) => !production.has(keyOf(v)));
  return own && { kind: own.kind, sub: own.sub, detail: own.detail.split('\n')[0] ?? '' };
}

export function hunt(
  budget: number,
  masterSeed: number,
  reference: RunScheduleFn,
  config: RunConfig = {},
  regressions: readonly RegressionSchedule[] = REGRESSION_SCHEDULES,
): HuntResult {
  const shared = new Set<string>();
  for (const schedule of regressions) {
    const own = ownViolation(schedule.seed, regressionRunConfig(schedule), reference, shared);
    if (own !== undefined)
      return {
        schedules: 0,
        caught: { index: -1, regression: schedule.found, seed: schedule.seed, ...own },
        sharedWithProduction: [...shared],
      };
  }
  for (let index = 0; index < budget; index += 1) {
    const seed = scheduleSeed(masterSeed, index);
    const own = ownViolation(seed, config, reference, shared);
    if (own !== undefined)
      return { schedules: index + 1, caught: { index, seed, ...own }, sharedWithProduction: [...shared] };
    if ((index + 1) % PROGRESS_EVERY === 0) process.stdout.write(`progress ${index + 1}\n`);
  }
  return { schedules: budget, sharedWithProduction: [...shared] };
}

function optionalFlag(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}

function flag(argv: readonly string[], name: string): string {
  const value = optionalFlag(argv, name);
  if (value === undefined) throw new Error(`hunt: ${name} is required`);
  return value;
}

function main(): void {
  const argv = process.argv.slice(2);
  const budget = Number(flag(argv, '--budget'));
  const seed = Number(flag(argv, '--seed'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const reference = (require(flag(argv, '--reference')) as { runSchedule: RunScheduleFn }).runSchedule;
  const faults = optionalFlag(argv, '--faults');
  // The kinds were checked by the runner against FAULT_KINDS.
  const config: RunConfig =
    faults === undefined ? {} : { planOptions: { allowFaults: new Set(faults.split(',') as FaultKind[]) } };
  const regressions = argv.includes('--no-regressions') ? [] : REGRESSION_SCHEDULES;
  const result = hunt(budget, seed, reference, config, regressions);
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

if (require.main === module) main();
