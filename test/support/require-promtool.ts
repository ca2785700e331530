/**
 * The metrics tests lint every scrape with `promtool check metrics` (a missing promtool: see
 * require-tool.ts).
 */
import { spawnSync } from 'node:child_process';
import { type OsTool, requireTool } from './require-tool';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

const PROMTOOL_TOOL: OsTool = {
  name: 'promtool',
  probe: [PROMTOOL, '--version'],
  why:
    'the promtool command is not on PATH: these tests lint /metrics output with promtool check metrics; ' +
    'install it with apt-get install --no-install-recommends prometheus (Debian, Ubuntu)',
};

/** Call from a `before` hook: returns if promtool runs, else skips the suite (or throws under CI=true). */
export function requirePromtool(context: Mocha.Context): void {
  requireTool(context, PROMTOOL_TOOL);
}

/** `promtool check metrics` of `text`: its exit status and what it printed (its lint problems). */
export function promtoolCheck(text: string): { status: number | null; problems: string } {
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    // promtool reads stdin and exits; a hung one is killed by its PID when this passes.
    timeout: 20_000,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, problems: `${result.stdout}${result.stderr}`.trim() };
}
