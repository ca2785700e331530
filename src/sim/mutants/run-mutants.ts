/**
 * The mutation run: each mutant of `mutant-list.ts` is applied to a copy of src/ in
 * a temporary directory, compiled with the project's compiler options (type errors fail it), and
 * simulated (`hunt.ts`) until the first schedule that shows a violation the unmutated cores do not.
 * Source-level mutation and a real compile cost about two seconds a mutant, small beside the
 * simulation, and test exactly the code a reader sees.
 *
 * `npm run sim:mutants -- [--budget N] [--seed S] [--jobs J] [--only id,...] [--timeout SECONDS]
 *  [--check] [--keep] [--markdown] [--list]`; exits 0 when every mutant is caught, 1 when one
 * survives or times out, 2 when a snippet does not match (or a mutant does not build).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HuntResult } from './hunt';
import { applyMutantInTree, listProblems, type Mutant } from './mutant';

/** `unit-tests-only`: no schedule caught it, a unit test of the cores did (`--unit-tests`). */
export type MutantStatus =
  'caught' | 'unit-tests-only' | 'survived' | 'timed-out' | 'no-match' | 'build-failed' | 'crashed';

export interface MutantResult {
  readonly id: string;
  readonly file: string;
  readonly description: string;
  readonly status: MutantStatus;
  /** Swarm schedules simulated: up to and including the catching one (0: a regression schedule caught it). */
  readonly schedules: number;
  readonly caught?: HuntResult['caught'];
  /** With `unit-tests-only`: the first unit test that failed, as `file: title`. */
  readonly unitTest?: string;
  /** Why it did not run (snippet, compiler or crash output). */
  readonly problem?: string;
  readonly elapsedMs: number;
  /** With `keep`: the mutated copy, whose dist/src/sim/main.js replays the catching schedule. */
  readonly dir?: string;
}

export interface RunOptions {
  readonly mutants: readonly Mutant[];
  /** Schedules per mutant at most. */
  readonly budget: number;
  readonly seed: number;
  /** Only these fault kinds are drawn (src/sim/plan.ts FAULT_KINDS); all when undefined. */
  readonly faults?: readonly string[];
  /** Skip the regression schedules (regression-schedules.ts): the swarm alone. */
  readonly noRegressions?: boolean;
  /** Mutants built and simulated at once. */
  readonly jobs: number;
  /** Per mutant, build and simulation together. */
  readonly timeoutMs: number;
  /** The repository whose src/ is mutated; this file's own by default. */
  readonly root?: string;
  readonly keep?: boolean;
  /** A mutant no schedule caught runs the cores' unit tests too (CORE_UNIT_TESTS). */
  readonly unitTests?: boolean;
  readonly onResult?: (result: MutantResult) => void;
}

export const DEFAULT_BUDGET = 20_000;
/** Bounds on what one run may ask for, so that no invocation runs for days. */
export const MAX_BUDGET = 1_000_000;
export const MAX_JOBS = 8;
const BUILD_TIMEOUT_MS = 180_000;
const KEPT_OUTPUT_CHARS = 2_000;

/** dist/src/sim/mutants -> the repository. */
export const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** The simulator runs the production shells too (runtime, service, wire), so the copy is all of src/. */
const COPIED_DIRS = ['src'];
/** With unit tests, test/ is copied and compiled beside it. */
const COPIED_DIRS_WITH_TESTS = ['src', 'test'];
/**
 * The unit tests of the cores, which drive them (and the production runtime, in the property
 * tests) through cases and transports the simulator does not draw: a shell that delivers answers
 * after their deadline, inputs between a grant and its decision. Seconds, not minutes.
 */
export const CORE_UNIT_TESTS = [
  'dist/test/unit/sidecar-*.test.js',
  'dist/test/unit/arbiter*.test.js',
  'dist/test/unit/epoch.test.js',
  'dist/test/unit/acquire-timing.test.js',
];
const UNIT_TEST_TIMEOUT_MS = 300_000;

export function snippetProblems(mutants: readonly Mutant[], root = REPOSITORY_ROOT): string[] {
  const problems = listProblems(mutants);
  for (const m of mutants) {
    const applied = applyMutantInTree(root, m);
    if (!applied.ok) problems.push(`${m.id}: ${applied.problem}`);
  }
  return problems;
}

interface ChildOutcome {
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly output: string;
}

/** Runs `node args`, keeping the tail of its output, killed at `timeoutMs`. */
function runNode(
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
  onLine?: (line: string) => void,
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-KEPT_OUTPUT_CHARS);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      keep(chunk);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine?.(line);
    });
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (partial !== '') onLine?.(partial);
      resolve({ code, timedOut, output });
    });
  });
}

/** A copy of the tree with the mutant applied, and a tsconfig that compiles only that copy. */
function prepareCopy(
  root: string,
  mutant: Mutant,
  mutated: ReadonlyMap<string, string>,
  dirs: readonly string[],
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `failover-witness-mutant-${mutant.id}-`));
  for (const sub of dirs) fs.cpSync(path.join(root, sub), path.join(dir, sub), { recursive: true });
  for (const [file, text] of mutated) fs.writeFileSync(path.join(dir, file), text);
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  // A full copy of the options rather than `extends`: an extended config's outDir would resolve
  // against the original tree and the mutant would overwrite the real dist/.
  const base = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: Record<string, unknown>;
  };
  const config = {
    compilerOptions: {
      ...base.compilerOptions,
      outDir: 'dist',
      rootDir: '.',
      declaration: false,
      sourceMap: false,
      incremental: false,
      types: ['node'],
    },
    include: dirs.map((d) => `${d}/**/*.ts`),
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  return dir;
}

async function runOne(mutant: Mutant, options: RunOptions, root: string): Promise<MutantResult> {
  const started = Date.now();
  const base = { id: mutant.id, file: mutant.file, description: mutant.description };
  const done = (rest: Omit<MutantResult, 'id' | 'file' | 'description' | 'elapsedMs'>): MutantResult => ({
    ...base,
    ...rest,
    elapsedMs: Date.now() - started,
  });
  const applied = applyMutantInTree(root, mutant);
  if (!applied.ok) return done({ status: 'no-match', schedules: 0, problem: applied.problem });

  const dir = prepareCopy(
    root,
    mutant,
    applied.files,
    options.unitTests === true ? COPIED_DIRS_WITH_TESTS : COPIED_DIRS,
  );
  try {
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    const build = await runNode([tsc, '-p', 'tsconfig.json'], dir, Math.min(BUILD_TIMEOUT_MS, options.timeoutMs));
    if (build.code !== 0 || build.timedOut) {
      const why = build.timedOut ? 'the build timed out' : build.output.trim();
      return done({ status: 'build-failed', schedules: 0, problem: why });
    }
    let progress = 0;
    let result: HuntResult | undefined;
    const remainingMs = Math.max(1, options.timeoutMs - (Date.now() - started));
    const reference = path.join(root, 'dist', 'src', 'sim', 'run.js');
    const huntArgs = ['--budget', String(options.budget), '--seed', String(options.seed), '--reference', reference];
    if (options.faults !== undefined) huntArgs.push('--faults', options.faults.join(','));
    if (options.noRegressions === true) huntArgs.push('--no-regressions');
    const sim = await runNode(
      [path.join('dist', 'src', 'sim', 'mutants', 'hunt.js'), ...huntArgs],
      dir,
      remainingMs,
      (line) => {
        if (line.startsWith('progress ')) progress = Number(line.slice('progress '.length));
        if (line.startsWith('result ')) result = JSON.parse(line.slice('result '.length)) as HuntResult;
      },
    );
    const kept = options.keep === true ? { dir } : {};
    if (sim.timedOut) return done({ status: 'timed-out', schedules: progress, ...kept });
    if (sim.code !== 0 || result === undefined)
      return done({ status: 'crashed', schedules: progress, problem: sim.output.trim(), ...kept });
    if (result.caught !== undefined)
      return done({ status: 'caught', schedules: result.schedules, caught: result.caught, ...kept });
    if (options.unitTests === true) {
      const failed = await firstFailingUnitTest(root, dir);
      if (failed !== undefined)
        return done({ status: 'unit-tests-only', schedules: result.schedules, unitTest: failed, ...kept });
    }
    return done({ status: 'survived', schedules: result.schedules, ...kept });
  } finally {
    if (options.keep !== true) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs CORE_UNIT_TESTS in the mutant's copy: the first failure as `file: title`, or undefined. */
async function firstFailingUnitTest(root: string, dir: string): Promise<string | undefined> {
  const mocha = require.resolve('mocha/bin/mocha.js', { paths: [root] });
  const report = path.join(dir, 'unit-tests.json');
  const run = await runNode(
    [
      mocha,
      '--no-config',
      '--reporter',
      'json',
      '--reporter-option',
      `output=${report}`,
      '--timeout',
      '60000',
      '--exit',
    ].concat(CORE_UNIT_TESTS),
    dir,
    UNIT_TEST_TIMEOUT_MS,
  );
  if (run.timedOut) return 'the unit tests timed out';
  if (!fs.existsSync(report)) return run.code === 0 ? undefined : `mocha failed: ${run.output.trim().slice(-300)}`;
  const parsed = JSON.parse(fs.readFileSync(report, 'utf8')) as {
    failures: readonly { fullTitle: string; file?: string }[];
  };
  const first = parsed.failures[0];
  if (first === undefined) return undefined;
  return `${path.basename(first.file ?? '?')}: ${first.fullTitle}`;
}

/** Every mutant, `jobs` at a time; results in list order. */
export async function runMutants(options: RunOptions): Promise<MutantResult[]> {
  const root = options.root ?? REPOSITORY_ROOT;
  const results: MutantResult[] = new Array<MutantResult>(options.mutants.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < options.mutants.length; i = next++) {
      const result = await runOne(options.mutants[i] as Mutant, options, root);
      results[i] = result;
      options.onResult?.(result);
    }
  };
  const jobs = Math.max(1, Math.min(options.jobs, MAX_JOBS, options.mutants.length));
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
}

export function exitCodeOf(results: readonly MutantResult[]): number {
  if (results.some((r) => r.status === 'no-match' || r.status === 'build-failed' || r.status === 'crashed')) return 2;
  // A mutant only the unit tests catch is not caught by the simulator: it still counts.
  if (results.some((r) => r.status !== 'caught')) return 1;
  return 0;
}
