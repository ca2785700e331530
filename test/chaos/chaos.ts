/**
 * Real-process chaos runner, the command line (issue 4 item 5; design §3 and §13).
 *
 *   npm run chaos -- --seconds S [--seed N] [--json] [--max-faults 2] [--failback auto|manual]
 *                    [--keep] [--echo] [--witness-debug] [--quiet]
 *
 * One real cluster (test/support/cluster.ts: a witness, sidecar a (primary) and sidecar b
 * (secondary), each running the logging test workload under its watchdog, a FaultProxy on every
 * directed link a->witness, b->witness, a->b, b->a) at the cluster's configuration: --lease 1s
 * --heartbeat 100ms --timeout 500ms --stop-timeout 300ms --failback auto --failback-delay 2s.
 *
 * A seeded PRNG (the simulator's, src/sim/prng.ts) draws the whole fault schedule before the run
 * starts, so a seed names one schedule (`--seconds` and `--max-faults` too: they shape it).
 * Every 0.5-3 s a fault is injected unless a couple are already active (or, now and then, to leave
 * the pair healthy for a while); each fault lasts a random time and is then healed:
 *   - a link (one of the four): blackhole, refuse, one-way drop (forward or backward), delay;
 *   - the peer link both ways (blackhole or refuse); a node isolated from both (blackhole/refuse);
 *   - kill -9 of a sidecar, restarted after 0.2-3 s; SIGSTOP of a sidecar for 0.5-4 s, then SIGCONT;
 *   - kill -9 of the witness, restarted after 0.2-3 s (sometimes with its data directory wiped);
 *     SIGSTOP of the witness for 0.5-3 s;
 *   - link heals with and without resetting the connections that lived through the fault.
 * Two faults never touch the same link or process. The real processes' timing is not replayed
 * (the schedule is); every action's actual time is recorded.
 *
 * At the end: heal everything (SIGCONT, restart what is down, every link back to 'pass'), wait
 * for a settled pair (exactly one workload running, the same process, for 2 s; with auto fail-back
 * that is the primary once the hand-back is done), stop the cluster (SIGKILL by PID), then check:
 *   S1: no two workload run intervals overlap (run log);
 *   S2: the epochs of successive activations strictly increase (run log; decimal 63-bit integers,
 *       compared as BigInt); also every epoch the witness logged as granted is above every earlier
 *       grant (across witness restarts and wipes);
 *   no workload process outlives its killed sidecar (Cluster.teardown).
 * Exit status: 0 all good, 1 a violation / no settled pair / an action failed, 2 usage, 130 SIGINT.
 * A failing run keeps its directory (run log, every process's output, the schedule and a merged
 * timeline) and prints where.
 *
 * The parts: fault-plan.ts (the schedule of a seed), fault-driver.ts (carrying it out),
 * settle.ts (the end state), safety-checks.ts and failover-analysis.ts (what the run log says),
 * merged-timeline.ts (evidence), chaos-report.ts (the summary), run-chaos.ts (one run, all of it).
 */
import { formatFailovers, formatSummary } from './chaos-report';
import { randomSeed } from './fault-plan';
import { replayCommand, runChaos } from './run-chaos';

interface CliArgs {
  seconds: number;
  seed: number;
  json: boolean;
  maxActive: number;
  failback: 'auto' | 'manual';
  keep: boolean;
  echo: boolean;
  witnessDebug: boolean;
  quiet: boolean;
}

class UsageError extends Error {}

const USAGE =
  'usage: npm run chaos -- --seconds S [--seed N] [--json] [--max-faults N] [--failback auto|manual] [--keep] [--echo] [--witness-debug] [--quiet]';

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = {
    seconds: 60,
    seed: randomSeed(),
    json: false,
    maxActive: 2,
    failback: 'auto',
    keep: false,
    echo: false,
    witnessDebug: false,
    quiet: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=')
      ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]
      : [flag, undefined];
    const take = (): string => inline ?? value(++i, name);
    switch (name) {
      case '--seconds': {
        const n = Number(take());
        if (!Number.isFinite(n) || n <= 0 || n > 86_400)
          throw new UsageError('--seconds needs a number of seconds in (0, 86400]');
        args.seconds = n;
        break;
      }
      case '--seed': {
        const n = Number(take());
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
          throw new UsageError('--seed needs an integer in [0, 4294967295]');
        args.seed = n;
        break;
      }
      case '--max-faults': {
        const n = Number(take());
        if (!Number.isInteger(n) || n < 1 || n > 4) throw new UsageError('--max-faults needs an integer in [1, 4]');
        args.maxActive = n;
        break;
      }
      case '--failback': {
        const v = take();
        if (v !== 'auto' && v !== 'manual') throw new UsageError('--failback is auto or manual');
        args.failback = v;
        break;
      }
      case '--json':
        args.json = true;
        break;
      case '--keep':
        args.keep = true;
        break;
      case '--echo':
        args.echo = true;
        break;
      case '--witness-debug':
        args.witnessDebug = true;
        break;
      case '--quiet':
        args.quiet = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument ${flag}`);
    }
  }
  return args;
}

async function main(): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(`\nchaos: ${sig}: stopping the schedule, killing every process, checking the run log\n`);
      controller.abort();
    } else {
      process.stderr.write(`chaos: ${sig} again: exiting now (every tracked process is SIGKILLed on exit)\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Progress goes to stderr with --json (stdout carries only the JSON), else to stdout.
  const out = (line: string): void => {
    if (args.json) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
  out(`chaos: seed ${args.seed} (replay: ${replayCommand(args.seconds, args.seed, args.maxActive, args.failback)})`);
  const result = await runChaos({
    seconds: args.seconds,
    seed: args.seed,
    maxActive: args.maxActive,
    failback: args.failback,
    keep: args.keep,
    echo: args.echo,
    witnessLogLevel: args.witnessDebug ? 'debug' : 'info',
    progress: args.quiet ? undefined : out,
    signal: controller.signal,
  });
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    out('\n=== failovers ===');
    out(formatFailovers(result) || '  none');
    out('\n=== chaos summary ===');
    out(formatSummary(result));
    for (const e of [...result.errors, ...result.evidence]) out(`\n${e}`);
  }
  if (result.aborted) return 130;
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
