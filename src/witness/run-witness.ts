/** `witness serve`: open the store, start the arbiter and the gRPC server, stop cleanly on signals. */
import { performance } from 'node:perf_hooks';
import { type AlertSettings, alertSettings } from '../config/alert-options';
import { ConfigError, type WitnessConfig } from '../config/witness-config';
import { transportSettings } from '../config/transport-options';
import { openCertificates, transportName } from '../grpc/open-certificates';
import { Arbiter } from '../core/witness/arbiter';
import { restartGrace } from '../core/lease';
import { createLogger, type Logger } from '../log/logger';
import { accessFromConfig } from './access/access-from-config';
import { storeFromConfig } from './store/store-from-config';
import { etcdSettings } from '../config/etcd-options';
import { DataDirError, type StoreContents } from './store/witness-store';
import { WitnessServer } from './witness-server';
import type { ProbeSources } from '../http/probe-endpoints';
import { Registry } from 'prom-client';
import { FollowerServer } from './follower-server';
import { serveProbes } from '../http/serve-probes';

/**
 * Durable writes run on libuv's thread pool, 4 threads by default: eight grants on a slow disk
 * then queue behind each other for seconds. Set before the pool's first use; a value the operator
 * chose wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';

export async function runWitness(config: WitnessConfig): Promise<void> {
  const logger = createLogger('witness', config.logLevel);
  // Before the store is opened: a bad certificate must not leave a lock behind for nothing.
  const certificates = openCertificates(transportSettings(config), config.listen, logger);
  const now = (): number => performance.now();
  // Before the store: a groups file or token that cannot be used is a configuration error (exit 2).
  const access = accessFromConfig(config, logger, now);
  const alerts = alertSettings(config);
  const etcd = etcdSettings(config);
  const bounds = { rho: config.clockDrift, marginMs: config.margin };
  const advertise = etcd?.advertise ?? config.listen;
  // A replica waiting to be elected answers on its port that it does not lead, and who does.
  const follower = etcd === undefined ? undefined : new FollowerServer(certificates);
  const onLeader = (leader: string): void => follower?.setLeader(leader);
  const store = storeFromConfig({ dataDir: config.dataDir, etcd, advertise, bounds, onLeader }, logger, now);
  let sources: ProbeSources = follower?.probeSources() ?? opening;
  const probeSources: ProbeSources = {
    get registry() {
      return sources.registry;
    },
    notReadyBecause: () => sources.notReadyBecause(),
  };
  // Before the store: a port that cannot be had is a configuration error, and leaves no lock behind.
  const probes = await serveProbes(config.metricsListen, probeSources, logger);
  let followerDown: Promise<void> | undefined;
  const closeFollower = (): Promise<void> => (followerDown ??= follower?.shutdown() ?? Promise.resolve());
  // Until the arbitrating server listens, a failure closes what is open and the process exits: a
  // replica left listening but never campaigning again would hold its port and serve nothing.
  const closeAll = (): Promise<unknown> => Promise.allSettled([closeFollower(), probes?.close(), store.close()]);
  const abandon = async (error: unknown): Promise<never> => {
    await closeAll();
    throw error;
  };
  // A replica waiting to be elected has nothing to finish: a signal withdraws its candidacy.
  let onSignal = (signal: string): void => {
    logger.info({ reason: signal }, 'shutting down before the store was opened');
    void closeAll().finally(() => process.exit(0));
  };
  process.on('SIGTERM', (signal) => onSignal(signal));
  process.on('SIGINT', (signal) => onSignal(signal));
  if (etcd !== undefined) {
    const port = await follower
      ?.listen(config.listen)
      .catch((error: unknown) =>
        abandon(
          new ConfigError(
            'listen',
            `listen (--listen): cannot listen on ${config.listen}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        ),
      );
    logger.info(
      { endpoints: etcd.endpoints, prefix: etcd.prefix, advertise, listen: config.listen, port },
      'campaigning for leadership over etcd; until elected, every call is refused naming the leader',
    );
  }
  const contents = await store.open({ longestLeaseMs: config.lease }).catch((error: unknown) =>
    // An unusable directory is the value of --data-dir that is wrong: a configuration error.
    abandon(
      error instanceof DataDirError ? new ConfigError('dataDir', `dataDir (--data-dir): ${error.message}`) : error,
    ),
  );
  // Elected: the arbitrating server takes the port over.
  await closeFollower();
  reportOpen(logger, config, contents);
  const graceExtraMs = contents.previousHolderOverlapMs * (1 + config.clockDrift);
  const arbiter = new Arbiter(
    {
      bounds,
      defaultLeaseMs: config.defaultLease,
      maxLeaseMs: config.lease,
      maxGroups: config.maxGroups,
      ...(config.maxSyncAge === null ? {} : { maxSyncAgeMs: config.maxSyncAge }),
    },
    {
      now: now(),
      generation: contents.generation,
      longestEarlierLeaseMs: contents.longestEarlierLeaseMs,
      // A new (or lost) store records no lease: the grace then covers the leases callers ask for.
      storeIsNew: contents.longestEarlierLeaseMs === 0,
      graceExtraMs,
      records: contents.records,
    },
  );

  let stopping = false;
  const stop = (reason: string, exitCode: number): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down: finishing calls in flight, then closing the store');
    Promise.all([server.shutdown(), probes?.close()])
      .then(() => store.close())
      .then(
        () => {
          logger.info('witness stopped');
          process.exit(exitCode);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  const server = new WitnessServer({
    arbiter,
    store,
    logger,
    now,
    defaultLeaseMs: config.defaultLease,
    forgetAfterMs: config.forgetAfter,
    holderSilentAfterMs: config.holderSilentAfter,
    ...(config.syncAlertAfter === null ? {} : { syncAlertAfterMs: config.syncAlertAfter }),
    alerts,
    certificates,
    onLockLost: () => stop(`lost ${store.holdName}`, 1),
    guard: access.guard,
    limits: {
      maxKeepAliveStreams: config.maxKeepaliveStreams,
      maxWatchers: config.maxWatchers,
      watchBacklog: config.watchBacklog,
      eventHistory: config.eventHistory,
      maxStreamsPerConnection: config.maxStreamsPerConnection,
      maxMessageBytes: config.maxMessageSize,
    },
  });
  const port = await server.listen(config.listen).catch(async (error: unknown) => {
    await server.shutdown();
    return abandon(error);
  });
  sources = server.probeSources();
  const graceLeaseMs = Math.max(config.lease, contents.longestEarlierLeaseMs);
  logger.info(
    {
      listen: config.listen,
      port,
      transport: transportName(certificates),
      store: etcd === undefined ? `file ${config.dataDir}` : `etcd ${etcd.prefix}`,
      generation: contents.generation.toString(),
      groups: contents.records.length,
      leaseMs: config.lease,
      defaultLeaseMs: config.defaultLease,
      startupGraceMs: Math.ceil(restartGrace(graceLeaseMs, bounds) + graceExtraMs),
      admission: access.mode,
      holderSilentAfterMs: config.holderSilentAfter,
      maxSyncAgeMs: config.maxSyncAge,
      syncAlertAfterMs: config.syncAlertAfter,
      alerts: describeAlerts(alerts),
    },
    'witness listening',
  );
  onSignal = (signal) => stop(signal, 0);
}

/** What /metrics and /readyz say while the store is opened (a file store: a moment). */
const opening: ProbeSources = { registry: new Registry(), notReadyBecause: () => 'the witness is opening its store' };

/** Where alerts go, as the start-up line says it: hosts, never paths, tokens or passwords. */
function describeAlerts(alerts: AlertSettings): string[] {
  const webhooks = alerts.webhooks.map((url) => `webhook ${url.origin}`);
  const mail =
    alerts.smtp === undefined ? [] : [`smtp ${alerts.smtp.host}:${alerts.smtp.port} to ${alerts.smtp.to.join(',')}`];
  return [...webhooks, ...mail];
}

/** What an operator must hear about the store at start. */
function reportOpen(logger: Logger, config: WitnessConfig, contents: StoreContents): void {
  const generation = contents.generation.toString();
  if (contents.origin === 'new-etcd-prefix') {
    logger.info({ prefix: config.etcdPrefix, generation }, 'created a new store under an etcd prefix that held none');
  } else if (contents.origin === 'new-directory') {
    logger.info({ dataDir: config.dataDir, generation }, 'created a new store in a new data directory');
  } else if (contents.origin === 'empty-directory') {
    logger.warn(
      { dataDir: config.dataDir, generation },
      'created a new store in an existing data directory that held none: if a store was here before, ' +
        'it is gone; epochs still do not repeat as long as this clock is not behind the last start of the witness that used it',
    );
  }
  if (contents.missingGroups.length > 0) {
    logger.warn(
      { dataDir: config.dataDir, missing: contents.missingGroups.slice(0, 100), count: contents.missingGroups.length },
      'groups this store knew have no record any more (moved away or lost); their holders are forgotten, ' +
        'and their next epochs are above every epoch handed out before',
    );
  }
  if (contents.longestEarlierLeaseMs > config.lease) {
    logger.warn(
      { leaseMs: config.lease, longestEarlierLeaseMs: contents.longestEarlierLeaseMs },
      'an earlier run handed out longer leases than --lease: the start-up grace covers the longest',
    );
  }
  if (contents.wallClockBehindMs > 0) {
    logger.warn(
      { behindMs: contents.wallClockBehindMs, generation },
      "this machine's wall clock is behind the store's generation: nothing is refused for it, but a store " +
        'created on this machine now (after a wipe) could repeat epochs; correct the clock',
    );
  }
}
