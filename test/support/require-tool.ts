/**
 * Tests that need an OS tool (openssl, an SMTP server, promtool). Without it they are skipped,
 * saying why and how to install it; under CI=true a missing tool fails instead, so CI never passes
 * by skipping them (.ci/run installs the packages).
 */
import { spawnSync } from 'node:child_process';

export interface OsTool {
  /** How the failure names it ("openssl"). */
  readonly name: string;
  /** The command and arguments that exit 0 when the tool can be used. */
  readonly probe: readonly [string, ...string[]];
  /** Why the tests need it and how to install it. */
  readonly why: string;
}

export function toolAvailable(tool: OsTool): boolean {
  const [command, ...args] = tool.probe;
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/** Call from a `before` hook: returns if the tool runs, else skips the suite (or throws under CI=true). */
export function requireTool(context: Mocha.Context, tool: OsTool): void {
  if (toolAvailable(tool)) return;
  if (process.env.CI === 'true')
    throw new Error(`${tool.why} (CI=true: a missing ${tool.name} is a failure, not a skip)`);
  process.stderr.write(`      skipped: ${tool.why}\n`);
  context.skip();
}
