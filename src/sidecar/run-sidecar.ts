/** `witness sidecar ... -- COMMAND`: the sidecar process around one copy of the workload. */
import { type SidecarConfig, toSidecarOptions } from '../config/sidecar-config';
import { ConfigError } from '../config/load-config';
import { createLogger } from '../log/logger';
import { SidecarConfigError, SidecarRuntime } from './sidecar-runtime';
import { WorkloadSupervisor } from './workload-supervisor';

export async function runSidecar(config: SidecarConfig, command: string[]): Promise<void> {
  if (command.length === 0) {
    throw new ConfigError('command', 'the workload command is missing: witness sidecar [options] -- COMMAND [ARGS...]');
  }
  const options = toSidecarOptions(config);
  const logger = createLogger('sidecar', options.logLevel);
  const supervisor = new WorkloadSupervisor({ argv: command, stopTimeoutMs: options.stopTimeoutMs, logger });
  let runtime: SidecarRuntime;
  try {
    runtime = new SidecarRuntime(options, supervisor, logger);
  } catch (error) {
    if (error instanceof SidecarConfigError) throw new ConfigError('lease', error.message);
    throw error;
  }
  // The watchdog's own start-up must not eat into the first lease.
  await supervisor.prepare();
  await runtime.start();
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ group: options.group, node: options.node, signal }, 'shutting down: stopping the workload, then releasing');
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
