/**
 * The library entry point: a Node program embeds the sidecar instead of wrapping a command.
 *
 *   const sidecar = await startSidecar({
 *     group: 'g1', node: 'a', role: 'primary', listen: '127.0.0.1:7101', peer: '10.0.0.2:7101',
 *     peerNode: 'b', witness: 'w1:50051', lease: '2s',
 *     activate: (epoch) => server.startServing(epoch),
 *     deactivate: () => server.stopServing(),
 *   });
 *
 * Options are the `witness sidecar` options, by their config-file keys, validated the same way.
 * There is no watchdog process in this form: if the program freezes, its callbacks freeze too, so
 * only the fencing epoch protects what the program writes to.
 */
import { ConfigError } from '../config/load-config';
import { loadSidecarConfig, type SidecarConfig } from '../config/sidecar-config';
import { toSidecarOptions } from '../config/to-sidecar-options';
import type { Setting } from '../config/load-config';
import type { SidecarState } from '../gen/witness/v1/SidecarState';
import { createLogger, type Logger } from '../log/logger';
import { SidecarHost } from './sidecar-host';
import { CallbackWorkload, type EmbeddedWorkload } from './workload-driver';

export type StartSidecarOptions = {
  readonly [K in keyof SidecarConfig]?: string | number | null;
} & EmbeddedWorkload & { readonly logger?: Logger };

export interface SidecarHandle {
  /** The sidecar's bound gRPC port. */
  readonly port: number;
  state(): SidecarState;
  /** Deactivates (if active), releases the group at the witness, stops the server. */
  close(): Promise<void>;
}

export async function startSidecar(options: StartSidecarOptions): Promise<SidecarHandle> {
  const { activate, deactivate, logger: given, ...rest } = options;
  const base: Setting[] = Object.entries(rest)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ({ key, value, origin: `startSidecar({ ${key} })` }));
  const config = loadSidecarConfig([], {}, base);
  if (config.stateDir !== null) {
    // Nothing outlives this process but the program's own callbacks: no record, no watchdog to keep.
    throw new ConfigError(
      'stateDir',
      'stateDir: the library form keeps no state directory; run `witness sidecar` for one',
    );
  }
  const sidecarOptions = toSidecarOptions(config);
  const logger = given ?? createLogger('sidecar', sidecarOptions.logLevel);
  const runtime = new SidecarHost(sidecarOptions, new CallbackWorkload({ activate, deactivate }), logger);
  let port: number;
  try {
    port = await runtime.start();
  } catch (error) {
    await runtime.close();
    throw error;
  }
  return { port, state: () => runtime.status(), close: () => runtime.close() };
}
