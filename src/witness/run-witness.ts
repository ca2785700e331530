/** `witness serve`: open the store, start the arbiter and the gRPC server, stop cleanly on signals. */
import { performance } from 'node:perf_hooks';
import type { WitnessConfig } from '../config/witness-config';
import { Arbiter } from '../core/witness/arbiter';
import { restartGrace } from '../core/lease';
import { createLogger } from '../log/logger';
import { FileStore } from './store/file-store';
import { WitnessServer } from './witness-server';

export async function runWitness(config: WitnessConfig): Promise<void> {
  const logger = createLogger('witness', config.logLevel);
  const now = (): number => performance.now();
  const store = new FileStore(config.dataDir);
  const contents = await store.open();
  const bounds = { rho: config.clockDrift, marginMs: config.margin };
  const arbiter = new Arbiter(
    { bounds, defaultLeaseMs: config.defaultLease, maxLeaseMs: config.lease },
    { now: now(), generation: contents.generation, records: contents.records },
  );
  const server = new WitnessServer({ arbiter, store, logger, now });
  const port = await server.listen(config.listen);
  logger.info(
    {
      listen: config.listen,
      port,
      dataDir: config.dataDir,
      generation: contents.generation.toString(),
      groups: contents.records.length,
      leaseMs: config.lease,
      defaultLeaseMs: config.defaultLease,
      startupGraceMs: Math.ceil(restartGrace(config.lease, bounds)),
    },
    'witness listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing calls in flight, then closing the store');
    server
      .shutdown()
      .then(() => store.close())
      .then(
        () => {
          logger.info('witness stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
