/**
 * Tests that make certificates need the openssl command. Without it they are skipped, saying why
 * and how to install it; under CI=true a missing openssl fails instead, so CI never passes by
 * skipping them (.ci/run installs the package).
 */
import { spawnSync } from 'node:child_process';
import { requireCommand } from './require-command';

export const OPENSSL_WHY =
  'the openssl command is not on PATH: these tests make their certificates with it at test time ' +
  '(witness certs init); install it with apt-get install openssl';

export function opensslAvailable(): boolean {
  const result = spawnSync(process.env.OPENSSL ?? 'openssl', ['version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/** Call from a `before` hook: returns if openssl runs, else skips the suite (or throws under CI=true). */
export function requireOpenssl(context: Mocha.Context): void {
  requireCommand(context, 'openssl', opensslAvailable(), OPENSSL_WHY);
}
