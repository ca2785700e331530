/**
 * The workload used by end-to-end tests, run as a real process:
 *
 *   node dist/test/support/workload.js --log FILE [--tick 20] [--ignore-sigterm] [--max-runtime MS]
 *
 * Reads WITNESS_NODE, WITNESS_EPOCH, WITNESS_GROUP from its environment and appends JSON lines to
 * FILE (format: see run-intervals.ts): `start` at once, `tick` every --tick ms, `stop` on SIGTERM
 * or SIGINT (then exits 0). Each line is one fs.appendFileSync call (O_APPEND, one write), so lines
 * from concurrent processes never interleave mid-line.
 *
 * --ignore-sigterm: on SIGTERM, log a `signal` line (ignored: true) and keep running, to test the
 *   SIGKILL escalation. SIGINT still stops it.
 * --max-runtime MS: safety net against orphans; stops (with a stop line, signal "max-runtime")
 *   after MS ms. Default 600000 (10 min); 0 = never.
 *
 * On stdout it prints `workload started node=.. pid=.. epoch=.. group=..` after the start line is
 * written, `workload ignoring SIGTERM` and `workload stopped` (for waitForLine).
 */
import fs from 'node:fs';
import type { WorkloadLogLine } from './run-intervals';
import { timeline } from './timeline';

/** Absolute path of the compiled script (dist/test/support/workload.js), for spawning. */
export const WORKLOAD_SCRIPT = __filename;

export interface WorkloadArgs {
  log: string;
  tickMs: number;
  ignoreSigterm: boolean;
  maxRuntimeMs: number;
}

export function parseWorkloadArgs(argv: readonly string[]): WorkloadArgs {
  const args: WorkloadArgs = { log: '', tickMs: 20, ignoreSigterm: false, maxRuntimeMs: 600_000 };
  const number = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--log': {
        const value = argv[++i];
        if (!value) throw new Error('--log needs a file');
        args.log = value;
        break;
      }
      case '--tick':
        args.tickMs = number(flag, argv[++i], 1);
        break;
      case '--max-runtime':
        args.maxRuntimeMs = number(flag, argv[++i], 0);
        break;
      case '--ignore-sigterm':
        args.ignoreSigterm = true;
        break;
      default:
        throw new Error(`unknown argument ${String(flag)}`);
    }
  }
  if (!args.log) throw new Error('usage: workload --log FILE [--tick MS] [--ignore-sigterm] [--max-runtime MS]');
  return args;
}

function main(): void {
  let args: WorkloadArgs;
  try {
    args = parseWorkloadArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`workload: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const { log, tickMs, ignoreSigterm, maxRuntimeMs } = args;
  const base = {
    node: process.env.WITNESS_NODE ?? null,
    pid: process.pid,
    epoch: process.env.WITNESS_EPOCH ?? null,
  };
  const group = process.env.WITNESS_GROUP ?? null;
  const write = (event: string, extra: Partial<WorkloadLogLine> = {}): void => {
    const line: WorkloadLogLine = { ...base, event, t: timeline(), ...extra };
    fs.appendFileSync(log, JSON.stringify(line) + '\n');
  };

  // Handlers first: a signal sent as soon as the "started" line is read must find them installed.
  // (Signal handlers run from the event loop, so they never run before the start line below.)
  let ticker: NodeJS.Timeout | null = null;
  const stop = (signal: string): void => {
    if (ticker) clearInterval(ticker);
    write('stop', { signal });
    process.stdout.write('workload stopped\n');
    process.exit(0);
  };
  process.on('SIGTERM', () => {
    if (!ignoreSigterm) return stop('SIGTERM');
    write('signal', { signal: 'SIGTERM', ignored: true });
    process.stdout.write('workload ignoring SIGTERM\n');
  });
  process.on('SIGINT', () => stop('SIGINT'));
  if (maxRuntimeMs > 0) setTimeout(() => stop('max-runtime'), maxRuntimeMs).unref();

  write('start', { group, tickMs });
  ticker = setInterval(() => write('tick'), tickMs);
  process.stdout.write(
    `workload started node=${base.node ?? '-'} pid=${base.pid} epoch=${base.epoch ?? '-'} group=${group ?? '-'}\n`,
  );
}

if (require.main === module) main();
