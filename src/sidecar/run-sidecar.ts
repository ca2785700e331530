/** `witness sidecar ... -- COMMAND`: the sidecar process around one copy of the workload. */
import { type SidecarConfig, toSidecarOptions } from '../config/sidecar-config';
import { ConfigError } from '../config/load-config';
import { createLogger } from '../log/logger';
import { SidecarHost } from './sidecar-host';
import { SidecarConfigError } from './sidecar-runtime';
import { HOOK_RUNNER_SCRIPT } from './hook-runner';
import { WorkloadSupervisor } from './workload-supervisor';

export async function runSidecar(config: SidecarConfig, command: string[]): Promise<void> {
  const options = toSidecarOptions(config);
  const argv = workloadArgv(config, command, options.heartbeatMs);
  const logger = createLogger('sidecar', options.logLevel);
  const supervisor = new WorkloadSupervisor({ argv, stopTimeoutMs: options.stopTimeoutMs, logger });
  let runtime: SidecarHost;
  try {
    runtime = new SidecarHost(options, supervisor, logger);
  } catch (error) {
    if (error instanceof SidecarConfigError) throw new ConfigError('lease', error.message);
    throw error;
  }
  // The watchdog's own start-up must not eat into the first lease.
  await supervisor.prepare();
  try {
    await runtime.start();
  } catch (error) {
    // The watchdog is already up and would keep this process alive, serving nobody.
    await runtime.close();
    throw error;
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { group: options.group, node: options.node, signal },
      'shutting down: stopping the workload, then releasing',
    );
    runtime.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The command after `--`, or the hooks run as one long-lived command (see hook-runner.ts). */
function workloadArgv(config: SidecarConfig, command: string[], heartbeatMs: number): string[] {
  const hooks = config.startCmd !== '' || config.stopCmd !== '' || config.statusCmd !== '';
  if (hooks && command.length > 0) {
    throw new ConfigError('startCmd', 'give either a command after -- or --start-cmd/--stop-cmd, not both');
  }
  if (!hooks) {
    if (command.length === 0) {
      throw new ConfigError(
        'command',
        'the workload is missing: witness sidecar [options] -- COMMAND [ARGS...], or --start-cmd and --stop-cmd',
      );
    }
    return command;
  }
  if (config.startCmd === '' || config.stopCmd === '') {
    throw new ConfigError(
      config.startCmd === '' ? 'startCmd' : 'stopCmd',
      'start-cmd (--start-cmd) and stop-cmd (--stop-cmd) go together',
    );
  }
  const statusEvery = String(Math.max(1000, heartbeatMs));
  return [
    process.execPath,
    HOOK_RUNNER_SCRIPT,
    '--start',
    config.startCmd,
    '--stop',
    config.stopCmd,
    '--status',
    config.statusCmd,
    '--status-every',
    statusEvery,
  ];
}
