/**
 * Runs a workload given as hooks (`--start-cmd`, `--stop-cmd`, `--status-cmd`, e.g. `systemctl
 * start x`) as if it were one long-lived command, so the watchdog treats it like any other: the
 * runner runs the start hook, then stays alive while the status hook succeeds; SIGTERM (from the
 * sidecar or its watchdog, at the lease deadline or when the sidecar dies) runs the stop hook.
 *
 *   node dist/src/sidecar/hook-runner.js --start CMD --stop CMD [--status CMD --status-every MS]
 *
 * Exit: 0 after the stop hook; non-zero when the start hook fails or the status hook reports the
 * service gone (the sidecar then sees a workload that exited by itself). The stop hook must finish
 * within --stop-timeout: after that the watchdog kills the runner and the hook with it.
 */
import { spawn } from 'node:child_process';

export const HOOK_RUNNER_SCRIPT = __filename;

interface Hooks {
  start: string;
  stop: string;
  status: string;
  statusEveryMs: number;
}

function parse(argv: readonly string[]): Hooks {
  const value = (flag: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 ? (argv[i + 1] ?? '') : '';
  };
  return {
    start: value('--start'),
    stop: value('--stop'),
    status: value('--status'),
    statusEveryMs: Number(value('--status-every')) || 1000,
  };
}

/** Runs a hook with the runner's environment (WITNESS_EPOCH, WITNESS_GROUP, WITNESS_NODE). */
function run(command: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

async function main(hooks: Hooks): Promise<void> {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void run(hooks.stop).then((code) => process.exit(code === 0 ? 0 : 1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const started = await run(hooks.start);
  if (stopping) return;
  if (started !== 0) process.exit(started);
  // Without a status hook nothing can notice the service ending by itself: stay until stopped.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  if (hooks.status === '') return;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, hooks.statusEveryMs));
    if (stopping) return;
    const status = await run(hooks.status);
    if (status !== 0 && !stopping) {
      clearInterval(keepAlive);
      process.exit(3);
    }
  }
}

if (require.main === module) void main(parse(process.argv.slice(2)));
