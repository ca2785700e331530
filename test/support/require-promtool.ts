/**
 * The metrics tests lint every scrape with `promtool check metrics`. Without promtool they are
 * skipped, saying why and how to install it; under CI=true a missing promtool fails instead, so CI
 * never passes by skipping them (.ci/run installs the package).
 */
import { spawnSync } from 'node:child_process';
import { requireCommand } from './require-command';

export const PROMTOOL_WHY =
  'the promtool command is not on PATH: these tests lint /metrics output with promtool check metrics; ' +
  'install it with apt-get install --no-install-recommends prometheus (Debian, Ubuntu)';

export function promtoolAvailable(): boolean {
  const result = spawnSync(process.env.PROMTOOL ?? 'promtool', ['--version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/** Call from a `before` hook: returns if promtool runs, else skips the suite (or throws under CI=true). */
export function requirePromtool(context: Mocha.Context): void {
  requireCommand(context, 'promtool', promtoolAvailable(), PROMTOOL_WHY);
}

/** `promtool check metrics` of `text`: its exit status and what it printed (its lint problems). */
export function promtoolCheck(text: string): { status: number | null; problems: string } {
  const result = spawnSync(process.env.PROMTOOL ?? 'promtool', ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    // promtool reads stdin and exits; a hung one is killed by its PID when this passes.
    timeout: 20_000,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, problems: `${result.stdout}${result.stderr}`.trim() };
}
