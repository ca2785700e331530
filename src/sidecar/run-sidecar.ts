/** `witness sidecar ... -- COMMAND`: the sidecar process around one copy of the workload. */
import type { SidecarConfig } from '../config/sidecar-config';
import { toSidecarOptions } from '../config/to-sidecar-options';
import { ConfigError } from '../config/load-config';
import type { KeptRun } from '../core/sidecar/types';
import { createLogger, type Logger } from '../log/logger';
import { SidecarHost } from './sidecar-host';
import { SidecarConfigError } from './workable-settings';
import { HOOK_RUNNER_SCRIPT } from './hook-runner';
import path from 'node:path';
import { EpochRecordFile } from './epoch-record-file';
import { RecordingWorkload } from './recording-workload';
import { watchdogSocketPath } from './state-dir';
import { KeptRunRefused } from './watchdog/kept-run-link';
import { WorkloadSupervisor } from './workload-supervisor';

/**
 * The exit status of a sidecar that exits for a restart (SIGUSR2, design §9.8), keeping its
 * workload or, with none running to keep, after a planned stop: EX_TEMPFAIL, which a service
 * manager restarts (deploy/systemd: RestartForceExitStatus).
 */
export const RESTART_EXIT_STATUS = 75;

export async function runSidecar(config: SidecarConfig, command: string[]): Promise<void> {
  const options = toSidecarOptions(config);
  const argv = workloadArgv(config, command, options.heartbeatMs);
  const socketPath = config.stateDir === null ? undefined : watchdogSocketPath(config.stateDir);
  const logger = createLogger('sidecar', options.logLevel);
  const supervisor = new WorkloadSupervisor({ argv, stopTimeoutMs: options.stopTimeoutMs, logger });
  // A record that cannot be trusted stops the start before anything is touched.
  const epochRecord =
    config.stateDir === null ? undefined : EpochRecordFile.open(path.resolve(config.stateDir), options);
  let adopted: KeptRun | undefined;
  if (socketPath !== undefined) {
    try {
      adopted = await supervisor.adopt(socketPath, { group: options.group, node: options.node });
    } catch (error) {
      if (error instanceof KeptRunRefused)
        throw new ConfigError('stateDir', `stateDir (--state-dir): ${error.message}`);
      throw error;
    }
    if (adopted !== undefined && options.mode === 'simple') {
      // Simple mode has no leases to carry the run on: it ends here, and the table starts anew.
      logger.warn({ group: options.group, node: options.node }, 'simple mode cannot adopt a kept run: stopping it');
      await supervisor.stopAndWait();
      adopted = undefined;
    }
  }
  const workload = epochRecord === undefined ? supervisor : new RecordingWorkload(supervisor, epochRecord);
  let runtime: SidecarHost;
  try {
    runtime = new SidecarHost(options, workload, logger, adopted, epochRecord);
  } catch (error) {
    // A run adopted is stopped: this process cannot carry it.
    await supervisor.close();
    if (error instanceof SidecarConfigError) throw new ConfigError('lease', error.message);
    throw error;
  }
  // The watchdog's own start-up must not eat into the first lease; an adopted run must renew first.
  if (adopted === undefined) await supervisor.prepare();
  try {
    await runtime.start();
  } catch (error) {
    // The watchdog is already up and would keep this process alive, serving nobody.
    await runtime.close();
    throw error;
  }
  if (adopted !== undefined) await supervisor.prepare();
  let stopping = false;
  const stop = (signal: NodeJS.Signals, exitStatus = 0): void => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { group: options.group, node: options.node, signal },
      'shutting down: stopping the workload, then releasing',
    );
    runtime.close().then(
      () => process.exit(exitStatus),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR2', () => {
    if (stopping) return;
    if (socketPath === undefined) {
      logger.warn(
        { group: options.group, node: options.node },
        'SIGUSR2 asks for a restart that keeps the workload, which needs --state-dir: ignored',
      );
      return;
    }
    stopping = true;
    exitForRestart(runtime, supervisor, socketPath, logger).then(
      (kept) => {
        if (kept) process.exit(RESTART_EXIT_STATUS);
        stopping = false;
        // Nothing to keep: a planned stop, and still a restart.
        stop('SIGUSR2', RESTART_EXIT_STATUS);
      },
      (error: unknown) => {
        // The runtime is halted: exiting closes the watchdog's pipe, which stops the workload.
        logger.error({ err: error }, 'restart failed (the watchdog did not say it keeps the run): exiting');
        process.exit(1);
      },
    );
  });
}

/**
 * A restart that keeps the workload (design §9.8): the run goes to the watchdog, which keeps it
 * until its deadline for the next process. False when there is no run to keep (the caller then
 * does a planned stop).
 */
async function exitForRestart(
  runtime: SidecarHost,
  supervisor: WorkloadSupervisor,
  socketPath: string,
  logger: Logger,
): Promise<boolean> {
  const run = await runtime.keepRunForRestart();
  if (run === undefined) {
    logger.info({}, 'restart asked with no running workload to keep: a planned stop, then the exit for the restart');
    return false;
  }
  await supervisor.keepForRestart(socketPath, run);
  logger.info(
    { group: run.group, node: run.node, epoch: run.epoch.toString(), socketPath },
    'exiting for a restart: the watchdog keeps the workload for the next sidecar process until its deadline',
  );
  return true;
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
