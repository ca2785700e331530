/**
 * `witness demo` configuration: the walk-through's own schema. It takes almost nothing on purpose:
 * the demo picks its ports, its directory and its timings, so that it runs anywhere unchanged.
 */
import { type CommandSpec, loadConfig } from './load-config';
import { renderHelp } from './render-help';

export interface DemoConfig {
  /** Keep the temporary directory (logs, the witness's store) instead of removing it at the end. */
  readonly keep: 'true' | 'false';
}

export const DEMO_COMMAND: CommandSpec<DemoConfig> = {
  command: 'witness demo',
  schema: {
    keep: {
      doc: "Keep the demo's temporary directory (every process's log, the witness's store) at the end.",
      format: ['true', 'false'],
      default: 'false',
      arg: 'keep',
      env: 'WITNESS_DEMO_KEEP',
      flag: true,
    },
  },
};

export function loadDemoConfig(argv: readonly string[], env: NodeJS.ProcessEnv): DemoConfig {
  return loadConfig(DEMO_COMMAND, argv, env);
}

export function demoHelp(): string {
  return renderHelp(DEMO_COMMAND, {
    usage: 'witness demo [--keep]',
    description:
      'On this machine, starts a witness, two sidecars (a primary, b secondary) and a small workload on\n' +
      'free loopback ports, then walks through a failover (sidecar a is killed with SIGKILL: b takes\n' +
      'over once the witness confirms that the lease of a has run out) and a hand-back (a is restarted\n' +
      'and takes the group back by fail-back). Prints one line per step: how long after the start, who\n' +
      'runs, under which epoch, and why. Every process it started is stopped at the end, also on\n' +
      'Ctrl-C, and its temporary directory removed unless --keep. Takes about 15 s.',
    notes: [
      'Exit status: 0 when the walk-through went as shown; 1 when a step failed or timed out, or the\n' +
        'demo was interrupted (the message says which, and where the logs are); 2 for a bad option.',
    ],
  });
}
