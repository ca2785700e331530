#!/usr/bin/env node
/**
 * The `witness` command: a dispatcher and nothing else. Each subcommand parses its own options
 * (src/config) and runs its own program. Exit status: 0 done, 1 failed, 2 usage or configuration.
 *
 * Each command's modules are required only when that command runs (or its help is printed): a
 * sidecar process then never loads the witness, the store (etcd3), the alert mailer or the
 * operator commands, which cost it about 10 MB of private memory (test/bench/README.md).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the lazy loading above */
import { ConfigError } from '../config/load-config';

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

type OperatorConfigModule = typeof import('../config/operator-config');
type OperatorActionModule = typeof import('./operator-action-command');
const operatorConfig = (): OperatorConfigModule => require('../config/operator-config') as OperatorConfigModule;
const operatorAction = (): OperatorActionModule => require('./operator-action-command') as OperatorActionModule;

/** What `witness serve --help` prints; also the tail of `witness --help`. */
const witnessHelp = (): string =>
  (require('../config/witness-config') as typeof import('../config/witness-config')).witnessHelp();

/** A command whose options operator-config.ts parses: `run` gets that module with the arguments. */
function operatorCommand(
  help: (config: OperatorConfigModule) => () => string,
  run: (config: OperatorConfigModule, args: string[], env: NodeJS.ProcessEnv) => Promise<void> | void,
): () => Command {
  return () => {
    const config = operatorConfig();
    return { help: help(config), run: (args, env) => run(config, args, env) };
  };
}

const commands = new Map<string, () => Command>([
  [
    'serve',
    () => {
      const { loadWitnessConfig } = require('../config/witness-config') as typeof import('../config/witness-config');
      const { runWitness } = require('../witness/run-witness') as typeof import('../witness/run-witness');
      return { help: witnessHelp, run: async (args, env) => runWitness(loadWitnessConfig(args, env)) };
    },
  ],
  [
    'sidecar',
    () => {
      const { keepYoungGenerationSmall } =
        require('../sidecar/young-generation') as typeof import('../sidecar/young-generation');
      // Before the sidecar's modules load: their loading is what first grows the young generation.
      keepYoungGenerationSmall();
      const { loadSidecarConfig, sidecarHelp } =
        require('../config/sidecar-config') as typeof import('../config/sidecar-config');
      return {
        help: sidecarHelp,
        run: async (args, env) => {
          const { runSidecar } = require('../sidecar/run-sidecar') as typeof import('../sidecar/run-sidecar');
          // Everything after `--` is the workload's command line, untouched.
          const split = args.indexOf('--');
          const options = split >= 0 ? args.slice(0, split) : args;
          const command = split >= 0 ? args.slice(split + 1) : [];
          const report = (line: string): void => void process.stdout.write(`${line}\n`);
          await runSidecar(loadSidecarConfig(options, env, [], report), command);
        },
      };
    },
  ],
  [
    'certs',
    () => {
      const { certsHelp, loadCertsPlan } = require('../config/certs-config') as typeof import('../config/certs-config');
      return {
        help: certsHelp,
        run: (args, env) => {
          const [sub, ...rest] = args;
          if (sub !== 'init') {
            throw new ConfigError(
              '',
              `certs takes the subcommand init: witness certs init --dir DIR; got ${sub ?? 'nothing'}`,
            );
          }
          const { initCerts } = require('../certs/init-certs') as typeof import('../certs/init-certs');
          const path = require('node:path') as typeof import('node:path');
          const plan = loadCertsPlan(rest, env);
          for (const file of initCerts(plan)) process.stdout.write(`${path.join(plan.dir, file)}\n`);
        },
      };
    },
  ],
  [
    'status',
    operatorCommand(
      (c) => c.statusHelp,
      (c, args, env) => {
        const { runStatus } = require('./status-command') as typeof import('./status-command');
        return runStatus(c.loadOperatorConfig(c.STATUS_COMMAND, args, env), print);
      },
    ),
  ],
  [
    'events',
    operatorCommand(
      (c) => c.eventsHelp,
      (c, args, env) => {
        const { runEvents } = require('./events-command') as typeof import('./events-command');
        return runEvents(c.loadOperatorConfig(c.EVENTS_COMMAND, args, env), print);
      },
    ),
  ],
  [
    'maintenance',
    operatorCommand(
      (c) => c.maintenanceHelp,
      (c, args, env) => {
        const [onOff, ...rest] = args;
        if (onOff !== 'on' && onOff !== 'off') {
          throw new ConfigError(
            '',
            `maintenance takes on or off first: witness maintenance on --group G --node N; got ${onOff ?? 'nothing'}`,
          );
        }
        return operatorAction().runMaintenance(
          c.loadNodeConfig(c.MAINTENANCE_COMMAND, rest, env),
          onOff === 'on',
          print,
        );
      },
    ),
  ],
  [
    'failback',
    operatorCommand(
      (c) => c.failbackHelp,
      (c, args, env) => {
        const [policy, ...rest] = args;
        if (policy !== 'auto' && policy !== 'manual' && policy !== 'node') {
          throw new ConfigError(
            '',
            `failback takes auto, manual or node first: witness failback manual --group G; got ${policy ?? 'nothing'}`,
          );
        }
        return operatorAction().runFailback(c.loadGroupConfig(c.FAILBACK_COMMAND, rest, env), policy, print);
      },
    ),
  ],
  [
    'remove-node',
    operatorCommand(
      (c) => c.removeNodeHelp,
      (c, args, env) => operatorAction().runRemoveNode(c.loadNodeConfig(c.REMOVE_NODE_COMMAND, args, env), print),
    ),
  ],
  [
    'readmit-node',
    operatorCommand(
      (c) => c.readmitNodeHelp,
      (c, args, env) => operatorAction().runReadmitNode(c.loadNodeConfig(c.READMIT_NODE_COMMAND, args, env), print),
    ),
  ],
  [
    'break-group',
    operatorCommand(
      (c) => c.breakGroupHelp,
      (c, args, env) => operatorAction().runBreakGroup(c.loadBreakGroupConfig(args, env), print),
    ),
  ],
  [
    'sync',
    () => {
      const { SYNC_COMMAND, syncHelp } =
        require('../config/sync-command-config') as typeof import('../config/sync-command-config');
      return {
        help: syncHelp,
        run: (args, env) => {
          const { runSyncNow } = require('./sync-command') as typeof import('./sync-command');
          return runSyncNow(operatorConfig().loadGroupConfig(SYNC_COMMAND, args, env), print);
        },
      };
    },
  ],
  [
    'switchover',
    operatorCommand(
      (c) => c.switchoverHelp,
      (c, args, env) => operatorAction().runSwitchover(c.loadSwitchoverConfig(args, env), print),
    ),
  ],
  [
    'demo',
    () => {
      const { demoHelp, loadDemoConfig } = require('../config/demo-config') as typeof import('../config/demo-config');
      return {
        help: demoHelp,
        run: (args, env) => {
          const { runDemo } = require('./demo-command') as typeof import('./demo-command');
          return runDemo(loadDemoConfig(args, env), print);
        },
      };
    },
  ],
  [
    'tables',
    () => ({
      help: () => TABLES_USAGE,
      run: (args) => {
        if (args.length > 0) throw new ConfigError('', `tables takes no arguments; got ${args.join(' ')}`);
        const { describeTables } =
          require('../core/sidecar/describe-decisions') as typeof import('../core/sidecar/describe-decisions');
        process.stdout.write(`${describeTables()}\n`);
      },
    }),
  ],
  [
    'rules',
    () => ({
      help: () => RULES_USAGE,
      run: (args) => {
        if (args.length > 0) throw new ConfigError('', `rules takes no arguments; got ${args.join(' ')}`);
        const { describeRules } = require('../core/witness/rules') as typeof import('../core/witness/rules');
        process.stdout.write(`${describeRules()}\n`);
      },
    }),
  ],
]);

/** Each command's name and its `--help`, in the order of the usage: for the configuration reference. */
export function commandHelps(): Array<[name: string, help: string]> {
  return [...commands].map(([name, load]) => [name, load().help()]);
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
    const load = commands.get(topic);
    if (load === undefined) {
      process.stderr.write(`witness: no help for unknown command "${topic}"\n\n${USAGE}`);
      return 2;
    }
    process.stdout.write(load().help());
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
  const load = commands.get(name);
  if (load === undefined) {
    process.stderr.write(`witness: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const command = load();
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
