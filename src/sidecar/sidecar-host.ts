/**
 * The sidecar process's plumbing around the one runtime: its gRPC server, real links to the peer
 * and the witness over the ordered endpoint list, node timers and the monotonic clock.
 */
import { RefusalLog } from '../wire/refusal-log';
import { peerAccessGuard } from './peer-access';
import { failoverBoundMs, stopBudget, witnessHeartbeatMs } from '../core/sidecar/timing';
import type { SidecarState } from '../gen/witness/v1/SidecarState';
import { openCertificates, transportName } from '../grpc/open-certificates';
import type { ReloadingCertificates } from '../grpc/reloading-certificates';
import type { Logger } from '../log/logger';
import { toWireRole } from '../wire/enum-mappings';
import { EventCommand } from './event-command';
import { linkSecurity } from './link-security';
import { monotonicNowMs } from './monotonic-clock';
import { PeerLink } from './peer-link';
import type { Clock, EpochRecord, Timers, WitnessTransport } from './sidecar-ports';
import { SidecarRuntime } from './sidecar-runtime';
import { requireWorkableSettings } from './workable-settings';
import type { SidecarEvent } from './sidecar-events';
import { SidecarServer } from './sidecar-server';
import { type SidecarOptions, toSettings } from './sidecar-options';
import { trackClientSockets } from './stuck-sockets';
import type { WorkloadDriver } from './workload-driver';
import type { KeptRun, SidecarSettings, SidecarView } from '../core/sidecar/types';
import { WitnessEndpoints } from './witness-endpoints';
import { acquireFailureOf, WitnessLink } from './witness-link';
import type { ProbeEndpoints } from '../http/probe-endpoints';
import { serveProbes } from '../http/serve-probes';
import type { SidecarMetrics } from './sidecar-metrics';
import { StandbySync } from './sync/standby-sync';
import type { SyncRun } from '../core/witness/types';
import { ShellSyncCommand } from './sync/shell-sync-command';

const MONOTONIC_CLOCK: Clock = { now: monotonicNowMs };

const NODE_TIMERS: Timers = {
  after(delayMs, fire) {
    // Node rounds a timer down to its loop's millisecond: round up, so it never fires early.
    const timer = setTimeout(fire, Math.ceil(delayMs));
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Names that come from the network are rate-limited by this many distinct lines. */
const MAX_WARNINGS_REMEMBERED = 100;

export class SidecarHost {
  private readonly runtime: SidecarRuntime;
  /** What the runtime runs with, made once: its incarnation numbers this process's peer states. */
  private readonly settings: SidecarSettings;
  private readonly server: SidecarServer;
  private readonly peer: PeerLink;
  /** One set for the server and both links: the same files, re-read once. */
  private readonly certificates: ReloadingCertificates | undefined;
  private port = 0;
  private readonly warned = new Set<string>();
  /** Undefined unless --metrics-listen is set. */
  private readonly metrics: SidecarMetrics | undefined;
  private probes: ProbeEndpoints | undefined;
  private state: 'created' | 'started' | 'closing' = 'created';

  constructor(
    private readonly options: SidecarOptions,
    workload: WorkloadDriver,
    private readonly logger: Logger,
    /** The run a previous sidecar process kept, already adopted by `workload` (design §9.8). */
    adopted?: KeptRun,
    /** --state-dir's epoch record (design §10.2). */
    epochRecord?: EpochRecord,
  ) {
    const settings = toSettings(options);
    requireWorkableSettings(settings);
    this.settings = settings;
    trackClientSockets(monotonicNowMs);
    this.metrics = options.metricsListen === '' ? undefined : loadSidecarMetrics(options, () => this.runtime.view());
    this.certificates = openCertificates(options.transport, options.listen, logger);
    this.server = new SidecarServer({
      certificates: this.certificates,
      group: options.group,
      node: options.node,
      peerNode: options.peerNode,
      logger,
      onRefusedSender: (why) => this.warnOnce(why, 'refused a Peer heartbeat'),
      onPeerHeartbeat: (state) => this.runtime.onPeerHeartbeat(state),
      state: () => this.status(),
      guard: peerAccessGuard(
        {
          groupKey: options.groupKey,
          peerIdentity: options.transport.tls?.requireClientCert === true ? options.peerIdentity : undefined,
          trustDomain: options.trustDomain,
        },
        new RefusalLog(logger, monotonicNowMs),
      ),
    });
    this.peer = new PeerLink(
      options.peer,
      options.group,
      options.peerNode,
      options.timeoutMs,
      options.heartbeatMs,
      linkSecurity(this.certificates, options.peerServerName, options.groupKey),
      (why) => this.warnOnce(why, 'ignored a Peer heartbeat reply'),
    );
    const health = this.server.health;
    this.runtime = new SidecarRuntime(settings, {
      clock: MONOTONIC_CLOCK,
      timers: NODE_TIMERS,
      peer: this.peer,
      witness: options.mode === 'standard' ? this.witnessTransport() : undefined,
      workload,
      logger,
      onEvent: eventCommandOf(options, logger),
      activeHealth: options.healthActiveOnly
        ? { setServing: (serving) => health.setStatus('', serving ? 'SERVING' : 'NOT_SERVING') }
        : undefined,
      onAction: (action) => this.metrics?.acted(action),
      adopted,
      epochRecord,
      sync: standbySyncOf(options, logger),
    });
  }

  async start(): Promise<number> {
    this.port = await this.server.listen(this.options.listen);
    if (this.metrics !== undefined) {
      this.probes = await serveProbes(
        this.options.metricsListen,
        { registry: this.metrics.registry, notReadyBecause: () => this.notReadyBecause() },
        this.logger,
      );
    }
    this.state = 'started';
    const o = this.options;
    if (o.mode === 'simple') {
      this.logger.warn(
        { group: o.group, node: o.node },
        'SIMPLE MODE: no witness is consulted; if the link between the two nodes is cut, BOTH copies of the workload run',
      );
    }
    const settings = this.settings;
    // At the lease asked for; a witness that caps it makes the running rate faster (design §4.6).
    const witnessBeats = {
      witnessHeartbeatRunningMs: witnessHeartbeatMs(settings, settings.leaseMs),
      witnessHeartbeatStandbyMs: witnessHeartbeatMs(settings, undefined),
    };
    this.logger.info(
      {
        group: o.group,
        node: o.node,
        role: o.role,
        mode: o.mode,
        listen: o.listen,
        port: this.port,
        transport: transportName(this.certificates),
        peer: o.peer,
        witness: o.witness.map((e) => e.address),
        heartbeatMs: o.heartbeatMs,
        timeoutMs: o.timeoutMs,
        leaseMs: o.leaseMs,
        peerLeaseMs: o.peerLeaseMs,
        stopTimeoutMs: o.stopTimeoutMs,
        stopBudgetMs: stopBudget(settings),
        failoverBoundMs: failoverBoundMs(settings),
        ...(o.mode === 'standard' ? witnessBeats : {}),
      },
      `sidecar listening; failover bound ${failoverBoundMs(settings)} ms, plus network round trips and the workload's own start` +
        (o.mode === 'standard'
          ? `; the witness heartbeaten every ${witnessBeats.witnessHeartbeatRunningMs} ms while running, every ${witnessBeats.witnessHeartbeatStandbyMs} ms otherwise`
          : ''),
    );
    this.runtime.begin();
    return this.port;
  }

  async close(): Promise<void> {
    // Readiness probes must stop routing here before the workload is asked to stop.
    this.server.health.setStatus('', 'NOT_SERVING');
    this.state = 'closing';
    await this.runtime.close();
    await Promise.all([this.server.shutdown(), this.probes?.close()]);
  }

  /**
   * The first half of a restart that keeps the workload (design §9.8): the run to hand the
   * watchdog, with the runtime halted; undefined (the runtime still running) when none can be kept.
   * No release: the next process renews the run.
   */
  async keepRunForRestart(): Promise<KeptRun | undefined> {
    const run = await new Promise<KeptRun | undefined>((done) => this.runtime.keepRun(done));
    if (run === undefined) return undefined;
    // The server goes with the process, which exits as soon as the watchdog keeps the run: every
    // ms spent here is the next process's less.
    this.server.health.setStatus('', 'NOT_SERVING');
    this.state = 'closing';
    return run;
  }

  /** /readyz says what the gRPC health service says (`--health-active-only`), with the reason. */
  private notReadyBecause(): string | undefined {
    if (this.state !== 'started') return `the sidecar is ${this.state === 'created' ? 'starting' : 'shutting down'}`;
    const workload = this.runtime.view().workload;
    if (this.options.healthActiveOnly && workload !== 'running') {
      return `the workload is ${workload}, not running (--health-active-only)`;
    }
    return undefined;
  }

  status(): SidecarState {
    return this.runtime.status();
  }

  /** The witness link over the ordered endpoint list, with probes of a better endpoint. */
  private witnessTransport(): WitnessTransport {
    const o = this.options;
    const endpoints = new WitnessEndpoints(o.witness, o.zone, o.failbackProbeMs, monotonicNowMs());
    const metrics = this.metrics;
    const link = new WitnessLink(
      endpoints,
      { group: o.group, node: o.node, role: toWireRole(o.role) },
      o.timeoutMs,
      o.heartbeatMs,
      linkSecurity(this.certificates, o.witnessServerName, o.groupKey),
      (why) => this.warnOnce(why, 'ignored a witness answer'),
    );
    return {
      get endpoint() {
        return link.endpoint;
      },
      renew(heldEpoch, knownEpoch, leaseMs, done, sync) {
        const timed = metrics?.timeWitnessCall('Renew');
        link.renew(
          heldEpoch,
          knownEpoch,
          leaseMs,
          (answer) => {
            timed?.(answer !== undefined);
            done(answer);
          },
          link.endpoint,
          sync,
        );
        const preferred = endpoints.probeDue(monotonicNowMs());
        if (preferred === undefined) return;
        // A probe carries no epoch: it can neither renew nor disturb anything.
        link.renew(
          0n,
          knownEpoch,
          leaseMs,
          (answer) => {
            if (answer !== undefined) endpoints.preferredAnswered();
          },
          preferred.address,
        );
      },
      acquire(knownEpoch, leaseMs, deadlineMs, done, sync) {
        const timed = metrics?.timeWitnessCall('Acquire');
        link.acquire(
          knownEpoch,
          leaseMs,
          deadlineMs,
          (answer, error) => {
            timed?.(answer !== undefined);
            done(answer, acquireFailureOf(error));
          },
          sync,
        );
      },
      release(epoch, knownEpoch, done) {
        const timed = metrics?.timeWitnessCall('Release');
        link.release(epoch, knownEpoch, (answer) => {
          timed?.(answer !== undefined);
          done(answer);
        });
      },
      close() {
        link.close();
      },
    };
  }

  private warnOnce(why: string, what: string): void {
    if (this.warned.has(why)) return;
    // Names come from the network: bound the memory, at the price of repeating a line now and then.
    if (this.warned.size >= MAX_WARNINGS_REMEMBERED) this.warned.clear();
    this.warned.add(why);
    this.logger.warn({ group: this.options.group, node: this.options.node, why }, what);
  }
}

/**
 * prom-client is required only here: its default metrics sample the event loop's delay every
 * 10 ms, which alone costs an idle process 0.4% of a core, and with it the sidecar's private
 * memory grows by about 2.5 MB (test/bench/README.md).
 */
function loadSidecarMetrics(options: SidecarOptions, view: () => SidecarView): SidecarMetrics {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only with --metrics-listen
  const { SidecarMetrics } = require('./sidecar-metrics') as typeof import('./sidecar-metrics');
  return new SidecarMetrics(options.group, options.node, view);
}

/** `--sync-cmd`'s schedule on the node's timers (design §21.1). */
function standbySyncOf(options: SidecarOptions, logger: Logger): StandbySync | undefined {
  const sync = options.sync;
  if (sync === undefined) return undefined;
  const { group, node, role } = options;
  const command = new ShellSyncCommand({ ...sync, group, node, role });
  // The output stays out of the log (it may name what it copied, or a secret); GetState shows its tail.
  const log = (run: SyncRun): void => {
    const fields = { group, node, exitCode: run.exitCode, durationMs: run.durationMs, syncNow: run.requestId !== 0n };
    if (run.ok) logger.info(fields, 'sync succeeded');
    else logger.warn({ ...fields, why: run.error === '' ? `exit ${run.exitCode}` : run.error }, 'sync failed');
  };
  const standbySync = new StandbySync({ intervalMs: sync.intervalMs }, command, MONOTONIC_CLOCK, NODE_TIMERS);
  standbySync.onRun(log);
  return standbySync;
}

/** `--on-event`'s runner, as the runtime's event listener. */
function eventCommandOf(options: SidecarOptions, logger: Logger): ((event: SidecarEvent) => void) | undefined {
  if (options.onEvent === undefined) return undefined;
  const command = new EventCommand(
    { ...options.onEvent, group: options.group, node: options.node, role: options.role },
    logger,
  );
  return (event) => command.push(event);
}
