/**
 * The child process of a mutation run: compiled inside the mutant's own copy of the tree, so
 * `../run` is the simulator over the MUTATED cores. It runs schedules 0, 1, ... of a seed until
 * the first one that shows a violation the unmutated cores (`--reference`, the project's own
 * dist/src/sim/run.js) do not show in the same schedule, or until the budget is spent.
 *
 * `node hunt.js --budget N --seed S --reference FILE [--faults kind,...]`; prints `progress K` lines, then one
 * `result {json}` line (a HuntResult).
 */
import type { FaultKind } from '../plan';
import { scheduleSeed } from '../prng';
import type { RunConfig } from '../run';
import { runSchedule } from '../run';
import type { ScheduleResult } from '../simulation';

export interface HuntResult {
  /** Schedules run, the catching one included. */
  readonly schedules: number;
  readonly caught?: {
    readonly index: number;
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

export function hunt(budget: number, masterSeed: number, reference: RunScheduleFn, config: RunConfig = {}): HuntResult {
  const shared = new Set<string>();
  for (let index = 0; index < budget; index += 1) {
    const seed = scheduleSeed(masterSeed, index);
    const mutated = runSchedule(seed, config).result.violations;
    if (mutated.length > 0) {
      const production = new Set(reference(seed, config).result.violations.map(keyOf));
      const own = mutated.find((v) => !production.has(keyOf(v)));
      for (const v of mutated) if (production.has(keyOf(v))) shared.add(keyOf(v));
      if (own !== undefined) {
        const detail = own.detail.split('\n')[0] ?? '';
        return {
          schedules: index + 1,
          caught: { index, seed, kind: own.kind, sub: own.sub, detail },
          sharedWithProduction: [...shared],
        };
      }
    }
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
  const result = hunt(budget, seed, reference, config);
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

if (require.main === module) main();
