/**
 * `npm run sim:mutants -- [options]`: the mutation run's command line (run-mutants.ts does the
 * work). Run it under `nice`: it keeps `--jobs` compilers and simulators busy.
 */
import { FAULT_KINDS } from '../plan';
import { MUTANTS } from './mutant-list';
import type { Mutant } from './mutant';
import {
  DEFAULT_BUDGET,
  exitCodeOf,
  MAX_BUDGET,
  MAX_JOBS,
  type MutantResult,
  runMutants,
  snippetProblems,
} from './run-mutants';

interface Args {
  budget: number;
  seed: number;
  jobs: number;
  timeoutS: number;
  only: string[] | undefined;
  faults: string[] | undefined;
  check: boolean;
  keep: boolean;
  markdown: boolean;
  list: boolean;
  unitTests: boolean;
  noRegressions: boolean;
}

const USAGE = [
  'usage: npm run sim:mutants -- [--budget N] [--seed S] [--jobs J] [--timeout SECONDS] [--only id,id,...]',
  '                              [--faults kind,kind,...] [--keep] [--markdown] [--unit-tests] [--no-regressions]',
  '       npm run sim:mutants -- --check    only check that every snippet matches exactly once',
  '       npm run sim:mutants -- --list     the mutants, one a line',
  `  --budget   schedules per mutant at most (default ${DEFAULT_BUDGET}, at most ${MAX_BUDGET})`,
  '  --seed     master seed of the schedules (default 1)',
  `  --jobs     mutants at once (default 2, at most ${MAX_JOBS})`,
  '  --timeout  per mutant, build and simulation (default 600 s)',
  `  --faults   only these fault kinds are drawn: ${FAULT_KINDS.join(',')}`,
  '  --keep     keep each mutated copy, to replay its catching schedule',
  '  --markdown print the table as Markdown, with the descriptions',
  "  --unit-tests  a mutant no schedule catches runs the cores' unit tests too (reported apart)",
  '  --no-regressions  the swarm only: not the schedules that once found a fault (regression-schedules.ts) first',
  'exit 0: every mutant caught; 1: one survived or timed out; 2: a snippet does not match or a mutant does not build',
].join('\n');

function usage(problem?: string): never {
  if (problem !== undefined) {
    process.stderr.write(`${problem}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

function int(text: string | undefined, flag: string, max: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 1 || n > max)
    usage(`${flag} wants a whole number from 1 to ${max}`);
  return n;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    budget: DEFAULT_BUDGET,
    seed: 1,
    jobs: 2,
    timeoutS: 600,
    only: undefined,
    faults: undefined,
    check: false,
    keep: false,
    markdown: false,
    list: false,
    unitTests: false,
    noRegressions: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i] as string;
    const value = (): string | undefined => argv[++i];
    if (flag === '--budget') args.budget = int(value(), flag, MAX_BUDGET);
    else if (flag === '--seed') args.seed = int(value(), flag, 0xffffffff);
    else if (flag === '--jobs') args.jobs = int(value(), flag, MAX_JOBS);
    else if (flag === '--timeout') args.timeoutS = int(value(), flag, 24 * 3600);
    else if (flag === '--only') args.only = (value() ?? usage('--only needs ids')).split(',').filter((s) => s !== '');
    else if (flag === '--faults') args.faults = faultKinds(value());
    else if (flag === '--check') args.check = true;
    else if (flag === '--keep') args.keep = true;
    else if (flag === '--markdown') args.markdown = true;
    else if (flag === '--list') args.list = true;
    else if (flag === '--unit-tests') args.unitTests = true;
    else if (flag === '--no-regressions') args.noRegressions = true;
    else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument ${flag}`);
  }
  return args;
}

function faultKinds(text: string | undefined): string[] {
  const kinds = (text ?? usage('--faults needs kinds')).split(',');
  for (const k of kinds)
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      usage(`unknown fault kind ${k}; kinds: ${FAULT_KINDS.join(',')}`);
  return kinds;
}

function chosen(only: readonly string[] | undefined): readonly Mutant[] {
  if (only === undefined) return MUTANTS;
  const unknown = only.filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length > 0) usage(`no mutant ${unknown.join(', ')}; --list shows them`);
  return MUTANTS.filter((m) => only.includes(m.id));
}

function caughtBy(r: MutantResult): string {
  if (r.caught !== undefined) return `${r.caught.kind}/${r.caught.sub}`;
  if (r.status === 'unit-tests-only') return `no schedule (${r.schedules}); unit test ${r.unitTest ?? '?'}`;
  if (r.status === 'survived' || r.status === 'timed-out') return `${r.status} (${r.schedules} schedules)`;
  return r.status;
}

function toCatch(r: MutantResult): string {
  if (r.caught === undefined) return '-';
  return r.caught.regression === undefined ? String(r.schedules) : 'regression';
}

function seedOf(r: MutantResult): string {
  return r.caught === undefined ? '-' : `0x${(r.caught.seed >>> 0).toString(16).padStart(8, '0')}`;
}

export function plainTable(results: readonly MutantResult[]): string[] {
  const width = Math.max(...results.map((r) => r.id.length), 2);
  const by = Math.max(...results.map((r) => caughtBy(r).length), 9);
  const lines = [`${'id'.padEnd(width)}  ${'caught by'.padEnd(by)}  ${'schedules'.padStart(9)}  seed`];
  for (const r of results)
    lines.push(`${r.id.padEnd(width)}  ${caughtBy(r).padEnd(by)}  ${toCatch(r).padStart(9)}  ${seedOf(r)}`);
  return lines;
}

export function markdownTable(results: readonly MutantResult[]): string[] {
  const lines = [
    '| mutant | file | what is removed or weakened | caught by | schedules to catch |',
    '| --- | --- | --- | --- | ---: |',
  ];
  for (const r of results) {
    const file = r.file.replace(/^src\/core\//, '');
    lines.push(`| \`${r.id}\` | ${file} | ${r.description} | ${caughtBy(r)} | ${toCatch(r)} |`);
  }
  return lines;
}

function caughtAt(r: MutantResult): string {
  if (r.caught === undefined) return '';
  if (r.caught.regression !== undefined) return ` by regression schedule ${seedOf(r)} (${r.caught.regression})`;
  return ` at schedule ${r.caught.index}`;
}

function progressLine(r: MutantResult, done: number, total: number): string {
  const secs = (r.elapsedMs / 1000).toFixed(1);
  const where = r.dir === undefined ? '' : `; kept in ${r.dir}`;
  const problem = r.problem === undefined ? '' : `\n    ${r.problem.split('\n').slice(0, 8).join('\n    ')}`;
  return `[${done}/${total}] ${r.id}: ${caughtBy(r)}${caughtAt(r)} (${secs}s${where})${problem}\n`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const mutants = chosen(args.only);
  if (args.list) {
    for (const m of mutants) process.stdout.write(`${m.id.padEnd(40)} ${m.file}: ${m.description}\n`);
    return;
  }
  const problems = snippetProblems(mutants);
  if (args.check) {
    for (const p of problems) process.stdout.write(`${p}\n`);
    process.stdout.write(`${mutants.length - problems.length} of ${mutants.length} mutants match their source\n`);
    process.exitCode = problems.length > 0 ? 2 : 0;
    return;
  }
  for (const p of problems) process.stderr.write(`does not match: ${p}\n`);
  process.stderr.write(
    `mutation run: ${mutants.length} mutants, budget ${args.budget} schedules each, seed ${args.seed}, ${args.jobs} jobs` +
      `${args.faults === undefined ? '' : `, faults ${args.faults.join(',')}`}\n`,
  );
  let done = 0;
  const results = await runMutants({
    mutants,
    budget: args.budget,
    seed: args.seed,
    faults: args.faults,
    jobs: args.jobs,
    timeoutMs: args.timeoutS * 1000,
    keep: args.keep,
    unitTests: args.unitTests,
    noRegressions: args.noRegressions,
    onResult: (r) => process.stderr.write(progressLine(r, ++done, mutants.length)),
  });
  const table = args.markdown ? markdownTable(results) : plainTable(results);
  for (const line of table) process.stdout.write(`${line}\n`);
  const count = (s: MutantResult['status']): number => results.filter((r) => r.status === s).length;
  process.stdout.write(
    `${count('caught')} caught, ${args.unitTests ? `${count('unit-tests-only')} caught by unit tests only, ` : ''}` +
      `${count('survived')} survived, ${count('timed-out')} timed out, ` +
      `${count('no-match')} do not match, ${count('build-failed')} do not build, ${count('crashed')} crashed ` +
      `(budget ${args.budget}, seed ${args.seed}${args.faults === undefined ? '' : `, faults ${args.faults.join(',')}`})\n`,
  );
  for (const r of results.filter((x) => x.caught !== undefined && x.dir !== undefined))
    process.stdout.write(`replay ${r.id}: node ${r.dir}/dist/src/sim/main.js --replay ${seedOf(r)}\n`);
  process.exitCode = exitCodeOf(results);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  });
}
