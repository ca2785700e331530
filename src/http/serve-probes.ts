/** `--metrics-listen` of either program: off, or the probe endpoints on that address, logged. */
import { ConfigError } from '../config/load-config';
import { parseHostPort } from '../config/config-formats';
import type { Logger } from '../log/logger';
import { ProbeEndpoints, type ProbeSources } from './probe-endpoints';

/**
 * Undefined when `listen` is '' (off). A port that cannot be had is the value of --metrics-listen
 * that is wrong, so a ConfigError (exit 2) naming it, as for a bad value.
 */
export async function serveProbes(
  listen: string,
  sources: ProbeSources,
  logger: Logger,
): Promise<ProbeEndpoints | undefined> {
  if (listen === '') return undefined;
  const address = parseHostPort(listen, 0);
  if (address === undefined)
    throw new ConfigError('metricsListen', `metricsListen (--metrics-listen): ${listen} is not HOST:PORT`);
  let endpoints: ProbeEndpoints;
  try {
    endpoints = await ProbeEndpoints.listen(address.host, address.port, sources);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError('metricsListen', `metricsListen (--metrics-listen): cannot listen on ${listen}: ${code}`);
  }
  logger.info({ metricsListen: listen, port: endpoints.port }, 'metrics listening');
  return endpoints;
}
