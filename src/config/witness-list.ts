/** `--witness`: the ordered list of witness endpoints, each with an optional zone. */
import type { WitnessEndpoint } from '../sidecar/sidecar-options';
import { parseHostPort } from './config-formats';
import { ConfigError } from './load-config';

/** `host1:port;host2:port@zone`: the ordered endpoint list of agent-failover products. */
export function parseWitnessList(list: string): WitnessEndpoint[] {
  const endpoints = list
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const at = entry.lastIndexOf('@');
      const address = at >= 0 ? entry.slice(0, at) : entry;
      const zone = at >= 0 ? entry.slice(at + 1) : '';
      if (!parseHostPort(address)) {
        throw new ConfigError('witness', `witness (--witness): ${JSON.stringify(entry)} is not host:port[@zone]`);
      }
      return { address, zone };
    });
  if (endpoints.length === 0) throw new ConfigError('witness', 'witness (--witness): at least one endpoint is needed');
  return endpoints;
}
