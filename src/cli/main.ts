#!/usr/bin/env node
/**
 * The `witness` command: a dispatcher and nothing else. Each subcommand parses its own options
 * (src/config) and runs its own program. Exit status: 0 done, 1 failed, 2 usage or configuration.
 */
import { ConfigError, loadWitnessConfig, witnessHelp } from '../config/witness-config';
import { certsHelp, loadCertsPlan } from '../config/certs-config';
import { initCerts } from '../certs/init-certs';
import path from 'node:path';
import { describeTables } from '../core/sidecar/describe-decisions';
import { describeRules } from '../core/witness/rules';
import { loadSidecarConfig, sidecarHelp } from '../config/sidecar-config';
import { runSidecar } from '../sidecar/run-sidecar';
import { runWitness } from '../witness/run-witness';
import {
  breakGroupHelp,
  EVENTS_COMMAND,
  FAILBACK_COMMAND,
  failbackHelp,
  eventsHelp,
  loadBreakGroupConfig,
  loadNodeConfig,
  loadOperatorConfig,
  loadGroupConfig,
  loadSwitchoverConfig,
  MAINTENANCE_COMMAND,
  maintenanceHelp,
  READMIT_NODE_COMMAND,
  readmitNodeHelp,
  REMOVE_NODE_COMMAND,
  removeNodeHelp,
  STATUS_COMMAND,
  statusHelp,
  switchoverHelp,
} from '../config/operator-config';
import { runEvents } from './events-command';
import {
  runBreakGroup,
  runFailback,
  runMaintenance,
  runReadmitNode,
  runRemoveNode,
  runSwitchover,
} from './operator-action-command';
import { runStatus } from './status-command';
import { SYNC_COMMAND, syncHelp } from '../config/sync-command-config';
import { runSyncNow } from './sync-command';
import { demoHelp, loadDemoConfig } from '../config/demo-config';
import { runDemo } from './demo-command';

const USAGE = `Usage: witness <command> [options]

Commands:
  serve   Run the witness gRPC service (options: witness serve --help).
  sidecar Run beside one copy of a workload (options: witness sidecar --help).
  certs   certs init --dir DIR: make a CA and the TLS certificates (options: witness certs init --help).
  status  Print the groups the witness knows, one line per node (--watch: again at every event).
  events  Print the witness's latest arbitration events (--follow: then new ones as they happen).
  maintenance  on|off --group G --node N: a node in maintenance hands over and is granted nothing.
  switchover  --group G: the active node hands the group to its peer, which takes over at once.
  failback  auto|manual|node --group G: the group's fail-back policy, over the sidecars' own.
  remove-node  --group G --node N: the node is granted nothing and runs nothing until readmitted.
  readmit-node --group G --node N: undoes remove-node (or break-group) for the node.
  break-group  --group G: every member is removed; nothing of the group runs until one is readmitted.
  sync    --group G: the standby runs its --sync-cmd now; prints the run's exit status and output.
  tables  Print the sidecar's decision rules, in order, and the VOLTTRON tables.
  rules   Print the rules the witness decides by, in the order it tries them.
  demo    On this machine: a witness, two sidecars and a workload, walked through a failover and a hand-back.
  help    Print this help; witness help <command> prints one command's help.
`;

/** Heads the serve options in `witness --help`: they are serve's, written after `serve`. */
const SERVE_HEADING = `The witness itself runs as witness serve; its options go after the command:

`;

const TABLES_USAGE = `Usage: witness tables

Prints the sidecar's decision rules: for each mode and workload phase, the rows in the order they
are tried (the first whose condition holds decides), then the VOLTTRON tables they amount to.
`;

const RULES_USAGE = `Usage: witness rules

Prints the witness's arbitration rules: for each request kind, the rules in the order they are
tried; the first whose condition holds decides.
`;

const print = (text: string): void => void process.stdout.write(`${text}\n`);

interface Command {
  readonly help: () => string;
  readonly run: (args: string[], env: NodeJS.ProcessEnv) => Promise<void> | void;
}

const commands = new Map<string, Command>([
  [
    'serve',
    {
      help: witnessHelp,
      run: async (args, env) => runWitness(loadWitnessConfig(args, env)),
    },
  ],
  [
    'sidecar',
    {
      help: sidecarHelp,
      run: async (args, env) => {
        // Everything after `--` is the workload's command line, untouched.
        const split = args.indexOf('--');
        const options = split >= 0 ? args.slice(0, split) : args;
        const command = split >= 0 ? args.slice(split + 1) : [];
        const report = (line: string): void => void process.stdout.write(`${line}\n`);
        await runSidecar(loadSidecarConfig(options, env, [], report), command);
      },
    },
  ],
  [
    'certs',
    {
      help: certsHelp,
      run: (args, env) => {
        const [sub, ...rest] = args;
        if (sub !== 'init') {
          throw new ConfigError(
            '',
            `certs takes the subcommand init: witness certs init --dir DIR; got ${sub ?? 'nothing'}`,
          );
        }
        const plan = loadCertsPlan(rest, env);
        for (const file of initCerts(plan)) process.stdout.write(`${path.join(plan.dir, file)}\n`);
      },
    },
  ],
  [
    'status',
    {
      help: statusHelp,
      run: (args, env) => runStatus(loadOperatorConfig(STATUS_COMMAND, args, env), print),
    },
  ],
  [
    'events',
    {
      help: eventsHelp,
      run: (args, env) => runEvents(loadOperatorConfig(EVENTS_COMMAND, args, env), print),
    },
  ],
  [
    'maintenance',
    {
      help: maintenanceHelp,
      run: (args, env) => {
        const [onOff, ...rest] = args;
        if (onOff !== 'on' && onOff !== 'off') {
          throw new ConfigError(
            '',
            `maintenance takes on or off first: witness maintenance on --group G --node N; got ${onOff ?? 'nothing'}`,
          );
        }
        return runMaintenance(loadNodeConfig(MAINTENANCE_COMMAND, rest, env), onOff === 'on', print);
      },
    },
  ],
  [
    'failback',
    {
      help: failbackHelp,
      run: (args, env) => {
        const [policy, ...rest] = args;
        if (policy !== 'auto' && policy !== 'manual' && policy !== 'node') {
          throw new ConfigError(
            '',
            `failback takes auto, manual or node first: witness failback manual --group G; got ${policy ?? 'nothing'}`,
          );
        }
        return runFailback(loadGroupConfig(FAILBACK_COMMAND, rest, env), policy, print);
      },
    },
  ],
  [
    'remove-node',
    {
      help: removeNodeHelp,
      run: (args, env) => runRemoveNode(loadNodeConfig(REMOVE_NODE_COMMAND, args, env), print),
    },
  ],
  [
    'readmit-node',
    {
      help: readmitNodeHelp,
      run: (args, env) => runReadmitNode(loadNodeConfig(READMIT_NODE_COMMAND, args, env), print),
    },
  ],
  [
    'break-group',
    {
      help: breakGroupHelp,
      run: (args, env) => runBreakGroup(loadBreakGroupConfig(args, env), print),
    },
  ],
  [
    'sync',
    {
      help: syncHelp,
      run: (args, env) => runSyncNow(loadGroupConfig(SYNC_COMMAND, args, env), print),
    },
  ],
  [
    'switchover',
    {
      help: switchoverHelp,
      run: (args, env) => runSwitchover(loadSwitchoverConfig(args, env), print),
    },
  ],
  [
    'demo',
    {
      help: demoHelp,
      run: (args, env) => runDemo(loadDemoConfig(args, env), print),
    },
  ],
  [
    'tables',
    {
      help: () => TABLES_USAGE,
      run: (args) => {
        if (args.length > 0) throw new ConfigError('', `tables takes no arguments; got ${args.join(' ')}`);
        process.stdout.write(`${describeTables()}\n`);
      },
    },
  ],
  [
    'rules',
    {
      help: () => RULES_USAGE,
      run: (args) => {
        if (args.length > 0) throw new ConfigError('', `rules takes no arguments; got ${args.join(' ')}`);
        process.stdout.write(`${describeRules()}\n`);
      },
    },
  ],
]);

/** Each command's name and its `--help`, in the order of the usage: for the configuration reference. */
export function commandHelps(): Array<[name: string, help: string]> {
  return [...commands].map(([name, command]) => [name, command.help()]);
}

const wantsHelp = (args: readonly string[]): boolean => args.includes('--help') || args.includes('-h');

/** Runs `witness <argv>`; resolves to the exit status. Never rejects. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? args[0] : undefined;
    if (topic === undefined) {
      process.stdout.write(`${USAGE}\n${SERVE_HEADING}${witnessHelp()}`);
      return 0;
    }
    const command = commands.get(topic);
    if (command === undefined) {
      process.stderr.write(`witness: no help for unknown command "${topic}"\n\n${USAGE}`);
      return 2;
    }
    process.stdout.write(command.help());
    return 0;
  }
  if (name.startsWith('-')) {
    // Options belong to a command; guessing `serve` would start a witness nobody asked for.
    process.stderr.write(
      `witness: ${name} is an option, not a command: options go after the command, ` +
        `e.g. witness serve ${argv.join(' ')}\n\n${USAGE}`,
    );
    return 2;
  }
  const command = commands.get(name);
  if (command === undefined) {
    process.stderr.write(`witness: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (wantsHelp(args)) {
    process.stdout.write(command.help());
    return 0;
  }
  try {
    await command.run(args, env);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.message.split('\n')) process.stderr.write(`witness: ${line}\n`);
      return 2;
    }
    process.stderr.write(`witness: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** Entry point for `bin/` wrappers: runs with the process's arguments and sets its exit status. */
export function run(): void {
  void main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) run();
