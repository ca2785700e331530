/** Options every program has, written once: the log level, a config file, an optional file, the probe port. */
import type { OptionSchema } from './load-config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `--log-level`, the same for every program; `envPrefix` is e.g. WITNESS or WITNESS_SIDECAR. */
export function logLevelOption(envPrefix: string): OptionSchema {
  return {
    doc: 'Least severe level logged (pino JSON lines on stdout).',
    format: [...LOG_LEVELS],
    default: 'info',
    arg: 'log-level',
    env: `${envPrefix}_LOG_LEVEL`,
    metavar: LOG_LEVELS.join('|'),
  };
}

/** An optional file (`--ARG FILE`, null when not given), its variable `ENVPREFIX_ARG`. */
export function optionalFileOption(doc: string, arg: string, envPrefix: string): OptionSchema {
  return {
    doc,
    format: 'path',
    nullable: true,
    default: null,
    arg,
    env: `${envPrefix}_${arg.toUpperCase().replaceAll('-', '_')}`,
    metavar: 'FILE',
  };
}

/**
 * `--metrics-listen`, the HTTP port of /metrics, /healthz and /readyz (design §19.1). Off by
 * default: two sidecars on one machine would otherwise both take the same port.
 */
export function metricsListenOption(envPrefix: string, who: string): OptionSchema {
  return {
    doc:
      `HTTP address of ${who}'s Prometheus /metrics, /healthz and /readyz; '' (default) serves none. ` +
      'Port 0 takes any free port (logged). Give each process on a machine its own port.',
    format: 'host-port-or-off',
    default: '',
    arg: 'metrics-listen',
    env: `${envPrefix}_METRICS_LISTEN`,
  };
}

/** `--config FILE`, the same for every program. */
export function configFileOption(envPrefix: string): OptionSchema {
  return {
    doc: 'Config file, JSON (.json) or YAML (.yaml, .yml), holding any of the file keys shown.',
    format: 'path',
    nullable: true,
    default: null,
    arg: 'config',
    env: `${envPrefix}_CONFIG`,
    metavar: 'FILE',
  };
}
