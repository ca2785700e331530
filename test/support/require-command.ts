/**
 * Tests that need an OS command skip without it, saying why and how to install it; under CI=true a
 * missing command fails instead, so CI never passes by skipping them (.ci/run installs the package).
 */

/** Call from a `before` hook: returns if `available`, else skips the suite (or throws under CI=true). */
export function requireCommand(context: Mocha.Context, command: string, available: boolean, why: string): void {
  if (available) return;
  if (process.env.CI === 'true') throw new Error(`${why} (CI=true: a missing ${command} is a failure, not a skip)`);
  process.stderr.write(`      skipped: ${why}\n`);
  context.skip();
}
