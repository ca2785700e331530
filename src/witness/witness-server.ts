/**
 * The witness's gRPC server: witness.v1.Witness, witness.v1.Admin, grpc.health.v1.Health and
 * server reflection, so grpcurl works with no .proto at hand.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Arbiter } from '../core/witness/arbiter';
import type { ReloadingCertificates } from '../grpc/reloading-certificates';
import { bindServer, shutdownGracefully } from '../grpc/server-lifecycle';
import { serverCredentials } from '../grpc/transport-credentials';
import type { Logger } from '../log/logger';
import { loadWitnessProto, reflectionDefinition } from '../proto/load-proto';
import { type CallGuard, ServiceEdge } from '../wire/service-edge';
import { strictDeserializers } from '../wire/strict-deserializers';
import type { AlertSettings } from '../config/alert-options';
import { adminHandlers } from './admin-service';
import { AlertDispatcher } from './alerts/alert-dispatcher';
import { ArbitrationService } from './arbitration-service';
import { durableStore } from './decision-store';
import { EventHub } from './event-hub';
import { GroupJanitor } from './group-janitor';
import { LeaseWatchTimer } from './lease-watch-timer';
import { SyncNowDesk } from './sync-now-desk';
import type { StoreHoldLostError } from './store/witness-store';
import { StoreHealth } from './store-health';
import type { WitnessStore } from './store/witness-store';
import { StreamRegistry } from './stream-registry';
import { storeErrorToWire } from './store-error-to-wire';
import { limitServerOptions, type WitnessLimits } from './witness-limits';
import type { ProbeSources } from '../http/probe-endpoints';
import { WitnessMetrics } from './witness-metrics';
import { witnessHandlers } from './witness-service';

export const SERVED_SERVICES = ['witness.v1.Witness', 'witness.v1.Admin'] as const;
/** What reflection lists: what this port answers, not every service of the .proto files (Peer, Sidecar). */
export const REFLECTED_SERVICES = [...SERVED_SERVICES, 'grpc.health.v1.Health'];

/** How long a shutdown waits for calls in flight before cutting them. */
export const SHUTDOWN_GRACE_MS = 5_000;

const SERVER_OPTIONS: grpc.ServerOptions = {
  // Sidecars ping every few hundred ms so that a blackholed link is noticed within a lease.
  'grpc.http2.min_ping_interval_without_data_ms': 100,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
};

export interface WitnessServerParts {
  readonly arbiter: Arbiter;
  readonly store: WitnessStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly defaultLeaseMs: number;
  /** Silence after which an unheld group is forgotten; 0 never forgets. */
  readonly forgetAfterMs: number;
  /** Silence of a holder after which the countdown to a takeover is announced (design §18.2); 0: never. */
  readonly holderSilentAfterMs: number;
  /** A standby not synced for this long is announced (design §21.3); undefined: never. */
  readonly syncAlertAfterMs?: number;
  /** Where chosen events are sent (design §18.3). */
  readonly alerts: AlertSettings;
  /** TLS certificates (reloaded when their files change); undefined: plaintext. */
  readonly certificates: ReloadingCertificates | undefined;
  /** The store lost its lock: the witness must stop (run-witness exits). */
  readonly onLockLost: (error: StoreHoldLostError) => void;
  /** Who may call (design §17); every call of Witness and Admin passes it first. */
  readonly guard: CallGuard;
  readonly limits: WitnessLimits;
}

export class WitnessServer {
  private readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ '': 'SERVING', ...servingAll() });
  private readonly streams: StreamRegistry;
  private readonly storeHealth: StoreHealth;
  private readonly janitor: GroupJanitor;
  private readonly leaseWatch: LeaseWatchTimer;
  private readonly alerts: AlertDispatcher;
  private readonly metrics: WitnessMetrics;
  private state: 'created' | 'listening' | 'shutting down' = 'created';

  constructor(private readonly parts: WitnessServerParts) {
    this.metrics = new WitnessMetrics(parts.arbiter, parts.now);
    this.server = new grpc.Server({ ...SERVER_OPTIONS, ...limitServerOptions(parts.limits) });
    this.streams = new StreamRegistry({
      KeepAlive: { max: parts.limits.maxKeepAliveStreams, option: '--max-keepalive-streams' },
      Watch: { max: parts.limits.maxWatchers, option: '--max-watchers' },
    });
    const { grpcObject } = loadWitnessProto();
    const maxRequest = { bytes: parts.limits.maxMessageBytes, option: '--max-message-size' };
    const events = new EventHub(parts.limits.eventHistory, Date.now);
    this.storeHealth = new StoreHealth(parts.store, parts.logger, parts.now, {
      onServing: (serving) => this.setServing(serving),
      onLockLost: (error) => {
        parts.logger.fatal({ err: error }, `${parts.store.holdName} is lost: this witness stops arbitrating`);
        parts.onLockLost(error);
      },
    });
    const syncNow = new SyncNowDesk(Date.now());
    const service = new ArbitrationService({
      arbiter: parts.arbiter,
      store: durableStore(parts.store, (startedAt, ok) => this.metrics.storeWritten(startedAt, ok)),
      logger: parts.logger,
      events,
      now: parts.now,
      defaultLeaseMs: parts.defaultLeaseMs,
      onWriteFailed: (error) => this.storeHealth.writeFailed(error),
      onAnswered: (decision) => this.metrics.decided(decision),
      syncNow,
    });
    this.janitor = new GroupJanitor(parts.arbiter, service, parts.logger, parts.now, parts.forgetAfterMs);
    this.leaseWatch = new LeaseWatchTimer(
      parts.arbiter,
      events,
      parts.logger,
      parts.now,
      parts.holderSilentAfterMs,
      parts.syncAlertAfterMs,
    );
    this.alerts = new AlertDispatcher(parts.alerts, parts.logger);
    this.alerts.listen(events);
    this.server.addService(
      strictDeserializers(grpcObject.witness.v1.Witness.service, 'witness.v1.Witness', maxRequest),
      witnessHandlers(service, this.streams, this.edge('witness.v1.Witness')),
    );
    this.server.addService(
      strictDeserializers(grpcObject.witness.v1.Admin.service, 'witness.v1.Admin', maxRequest),
      adminHandlers(
        parts.arbiter,
        service,
        events,
        this.streams,
        parts.now,
        this.edge('witness.v1.Admin'),
        parts.limits.watchBacklog,
        Date.now,
        syncNow,
      ),
    );
    this.health.addToServer(this.server);
    new ReflectionService(reflectionDefinition(), { services: REFLECTED_SERVICES }).addToServer(this.server);
  }

  /** Binds HOST:PORT and returns the bound port. */
  async listen(address: string): Promise<number> {
    const port = await bindServer(this.server, address, serverCredentials(this.parts.certificates));
    this.storeHealth.start();
    this.janitor.start();
    this.leaseWatch.start();
    this.state = 'listening';
    return port;
  }

  /**
   * What /metrics and /readyz report (design §19.1). Ready follows the store, not the start-up
   * grace: a witness in its grace answers renewals, which is what keeps running workloads running.
   */
  probeSources(): ProbeSources {
    return {
      registry: this.metrics.registry,
      notReadyBecause: () =>
        this.state === 'listening'
          ? this.storeHealth.problem()
          : `the witness is ${this.state === 'created' ? 'not listening yet' : 'shutting down'}`,
    };
  }

  /** Stops taking calls, lets unary calls in flight finish, ends the streams. */
  async shutdown(): Promise<void> {
    this.state = 'shutting down';
    this.storeHealth.stop();
    this.janitor.stop();
    this.leaseWatch.stop();
    this.setServing(false);
    this.streams.endAll();
    await shutdownGracefully(this.server, SHUTDOWN_GRACE_MS, () =>
      this.parts.logger.warn('calls still in flight after the shutdown grace; cutting them'),
    );
    // After the last calls: their events may still be alerts.
    this.alerts.close();
  }

  private edge(service: (typeof SERVED_SERVICES)[number]): ServiceEdge {
    return new ServiceEdge({
      service,
      logger: this.parts.logger,
      knownError: storeErrorToWire,
      guard: this.parts.guard,
      timeCall: (method) => this.metrics.timeCall(method),
    });
  }

  private setServing(serving: boolean): void {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', ...SERVED_SERVICES]) this.health.setStatus(name, status);
  }
}

function servingAll(): Record<string, 'SERVING'> {
  return Object.fromEntries(SERVED_SERVICES.map((name) => [name, 'SERVING' as const]));
}
