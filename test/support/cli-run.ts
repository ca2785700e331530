/** The built `witness` CLI run to completion as a real process, for commands that exit at once. */
import { spawnSync } from 'node:child_process';
import { cleanEnv, WITNESS_MAIN } from './witness-process';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `witness ARGS` (help, a usage error); the timeout only bounds a regression on a busy machine. */
export function runCli(args: readonly string[]): CliRun {
  const run = spawnSync(process.execPath, [WITNESS_MAIN, ...args], {
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 10_000,
    killSignal: 'SIGKILL',
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
