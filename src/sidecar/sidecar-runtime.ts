/**
 * The sidecar's I/O shell: drives the pure SidecarCore with heartbeats to the peer and the
 * witness, carries out its actions on the workload, and feeds the watchdog the moment the stop
 * must begin. Every time here comes from the monotonic clock.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { SidecarCore } from '../core/sidecar/sidecar-core';
import { failoverBoundMs, settingsProblems, stopBudget } from '../core/sidecar/timing';
import type { Action, SidecarSettings, WitnessAnswer } from '../core/sidecar/types';
import type { SidecarState } from '../gen/witness/v1/SidecarState';
import type { Logger } from '../log/logger';
import { acquireDeadlineMs, logAcquireTiming } from './acquire-timing';
import { monotonicNowMs } from './monotonic-clock';
import { PeerLink } from './peer-link';
import { toWirePhase } from './peer-wire';
import { SidecarServer } from './sidecar-server';
import { trackClientSockets } from './stuck-sockets';
import { type SidecarOptions, toSettings } from './sidecar-options';
import type { WorkloadDriver } from './workload-driver';
import { WitnessEndpoints } from './witness-endpoints';
import { WitnessLink } from './witness-link';

export class SidecarConfigError extends Error {}

export class SidecarRuntime {
  private readonly settings: SidecarSettings;
  private readonly core: SidecarCore;
  private readonly server: SidecarServer;
  private readonly peer: PeerLink;
  private readonly witness: WitnessLink | undefined;
  private readonly endpoints: WitnessEndpoints | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private port = 0;
  /** Refusals already logged: a misconfigured node heartbeats every few hundred ms. */
  private readonly refusalsLogged = new Set<string>();

  constructor(
    private readonly options: SidecarOptions,
    private readonly workload: WorkloadDriver,
    private readonly logger: Logger,
  ) {
    this.settings = toSettings(options);
    const problems = settingsProblems(this.settings);
    if (problems.length > 0) throw new SidecarConfigError(problems.join('; '));
    const now = monotonicNowMs();
    trackClientSockets(monotonicNowMs);
    this.core = new SidecarCore(this.settings, now);
    this.server = new SidecarServer({
      group: options.group,
      node: options.node,
      peerNode: options.peerNode,
      onRefusedSender: (why) => this.warnOnce(why, 'refused a Peer heartbeat'),
      onPeerHeartbeat: (state) => {
        const reply = this.core.onPeerHeartbeat(state, monotonicNowMs());
        this.act();
        return reply;
      },
      state: () => this.status(),
    });
    this.peer = new PeerLink(
      options.peer,
      options.group,
      options.peerNode,
      options.timeoutMs,
      options.heartbeatMs,
      (why) => this.warnOnce(why, 'ignored a Peer heartbeat reply'),
    );
    if (options.mode === 'standard') {
      this.endpoints = new WitnessEndpoints(options.witness, options.zone, options.failbackProbeMs, now);
      const role = options.role === 'primary' ? 'ROLE_PRIMARY' : 'ROLE_SECONDARY';
      this.witness = new WitnessLink(
        this.endpoints,
        { group: options.group, node: options.node, role },
        options.timeoutMs,
        options.heartbeatMs,
      );
    }
    workload.on('running', () => {
      this.core.onWorkload('running', monotonicNowMs());
      this.log('workload running');
      this.act();
    });
    workload.on('stopped', (byItself: boolean) => {
      this.core.onWorkload('stopped', monotonicNowMs(), byItself);
      this.log(byItself ? 'workload exited by itself' : 'workload stopped');
      this.act();
    });
  }

  async start(): Promise<number> {
    this.port = await this.server.listen(this.options.listen);
    if (this.options.mode === 'simple') {
      this.logger.warn(
        { group: this.options.group, node: this.options.node },
        'SIMPLE MODE: no witness is consulted; if the link between the two nodes is cut, BOTH copies of the workload run',
      );
    }
    this.logger.info(
      {
        group: this.options.group,
        node: this.options.node,
        role: this.options.role,
        mode: this.options.mode,
        listen: this.options.listen,
        port: this.port,
        peer: this.options.peer,
        witness: this.options.witness.map((e) => e.address),
        heartbeatMs: this.options.heartbeatMs,
        timeoutMs: this.options.timeoutMs,
        leaseMs: this.options.leaseMs,
        peerLeaseMs: this.options.peerLeaseMs,
        stopTimeoutMs: this.options.stopTimeoutMs,
        stopBudgetMs: stopBudget(this.settings),
        failoverBoundMs: failoverBoundMs(this.settings),
      },
      `sidecar listening; failover bound ${failoverBoundMs(this.settings)} ms, plus network round trips and the workload's own start`,
    );
    this.heartbeat();
    return this.port;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.retryTimer);
    // Readiness probes must stop routing here before the workload is asked to stop.
    this.server.health.setStatus('', 'NOT_SERVING');
    await this.workload.close();
    // Stopped first, then say so to the peer, then release at the witness (design §8.5).
    const view = this.core.view(monotonicNowMs());
    if (view.holding && this.witness !== undefined) {
      await new Promise<void>((resolve) => this.witness?.release(view.epoch, view.knownEpoch, () => resolve()));
    }
    this.peer.close();
    this.witness?.close();
    await this.server.shutdown();
  }

  private heartbeat(): void {
    if (this.closed) return;
    const now = monotonicNowMs();
    this.heartbeatWitness(now);
    this.heartbeatPeer(now);
    this.act();
    this.heartbeatTimer = setTimeout(() => this.heartbeat(), this.options.heartbeatMs);
  }

  private heartbeatWitness(sentAt: number): void {
    if (this.witness === undefined || this.endpoints === undefined) return;
    const { heldEpoch, knownEpoch, leaseMs } = this.core.witnessHeartbeat();
    this.witness.renew(heldEpoch, knownEpoch, leaseMs, (answer) => {
      if (answer !== undefined) this.core.onWitnessHeartbeatAnswer(sentAt, heldEpoch, answer, monotonicNowMs());
      this.act();
    });
    const preferred = this.endpoints.probeDue(sentAt);
    if (preferred !== undefined) {
      // A probe carries no epoch: it can neither renew nor disturb anything.
      this.witness.renew(
        0n,
        knownEpoch,
        leaseMs,
        (answer) => {
          if (answer !== undefined) this.endpoints?.preferredAnswered();
        },
        preferred.address,
      );
    }
  }

  private heartbeatPeer(sentAt: number): void {
    const state = this.core.peerState(sentAt);
    this.peer.heartbeat(state, (reply) => {
      if (reply === undefined) return;
      this.core.onPeerReply(sentAt, state.epoch, reply, monotonicNowMs());
      this.act();
    });
  }

  /** Ask the core what to do now, do it, and tell the watchdog when the stop must begin. */
  private act(): void {
    if (this.closed) return;
    const now = monotonicNowMs();
    for (const action of this.core.decide(now)) this.carryOut(action, now);
    const view = this.core.view(now);
    if (view.workload === 'running' || view.workload === 'starting') {
      const deadline = this.core.stopDeadline();
      this.workload.feed(deadline);
      this.wakeAt(deadline, now);
    }
    if (this.options.healthActiveOnly) {
      this.server.health.setStatus('', view.workload === 'running' ? 'SERVING' : 'NOT_SERVING');
    }
  }

  /** The stop must begin exactly at the deadline, not at the next heartbeat. */
  private wakeAt(deadline: number, now: number): void {
    clearTimeout(this.deadlineTimer);
    // Simple mode has no deadline (and setTimeout would read Infinity as 1 ms).
    if (!Number.isFinite(deadline)) return;
    this.deadlineTimer = setTimeout(() => this.act(), Math.max(0, deadline - now));
  }

  private carryOut(action: Action, now: number): void {
    const view = this.core.view(now);
    this.log(action.kind, action.why, action.kind === 'start' || action.kind === 'release' ? action.epoch : view.epoch);
    switch (action.kind) {
      case 'start':
        this.workload.start(
          action.epoch,
          {
            WITNESS_EPOCH: action.epoch.toString(),
            WITNESS_GROUP: this.options.group,
            WITNESS_NODE: this.options.node,
          },
          this.core.stopDeadline(),
        );
        return;
      case 'stop':
        this.workload.stop();
        return;
      case 'acquire':
        this.witness?.acquire(
          view.knownEpoch,
          this.options.leaseMs,
          acquireDeadlineMs(this.settings),
          (answer, error) => this.onAcquire(now, answer, error?.code === grpcStatus.DEADLINE_EXCEEDED),
        );
        return;
      case 'release':
        this.witness?.release(action.epoch, view.knownEpoch, (answer) => {
          this.core.onReleaseAnswer(action.epoch, answer, monotonicNowMs());
          this.act();
        });
        return;
    }
  }

  private onAcquire(sentAt: number, answer: WitnessAnswer | undefined, timedOut: boolean): void {
    const now = monotonicNowMs();
    this.core.onAcquireAnswer(sentAt, answer, now);
    this.act();
    const granted = answer?.verdict === 'granted' && answer.holder === this.options.node;
    // The core starts a usable grant at once; one it did not start, it released as too late.
    const released = granted && this.core.view(now).workload === 'stopped';
    logAcquireTiming(this.logger, this.settings, { elapsedMs: now - sentAt, answer, timedOut, released });
    // Ask again the moment the witness said it can succeed (the core bounds the wait by a
    // timeout), not at the next heartbeat: that heartbeat would come on top of the failover time.
    if (answer?.verdict === 'refused' && answer.retryAfterMs > 0) {
      clearTimeout(this.retryTimer);
      const wait = Math.min(answer.retryAfterMs, this.options.timeoutMs);
      this.retryTimer = setTimeout(() => this.act(), Math.max(wait, this.options.heartbeatMs) + 1);
    }
  }

  private warnOnce(why: string, what: string): void {
    if (this.refusalsLogged.has(why)) return;
    // Names come from the network: bound the memory, at the price of repeating a line now and then.
    if (this.refusalsLogged.size >= 100) this.refusalsLogged.clear();
    this.refusalsLogged.add(why);
    this.logger.warn({ group: this.options.group, node: this.options.node, why }, what);
  }

  /**
   * `epoch` is the tenure's (omitted before the first: 0 means none). An acquire has no epoch of
   * its own yet: it carries the highest one the node knows, logged as that.
   */
  private log(what: string, why?: string, epoch?: bigint): void {
    const view = this.core.view(monotonicNowMs());
    const tenure = epoch ?? view.epoch;
    const epochs =
      what === 'acquire'
        ? { knownEpoch: view.knownEpoch.toString() }
        : tenure === 0n
          ? {}
          : { epoch: tenure.toString() };
    this.logger.info({ group: this.options.group, node: this.options.node, ...epochs, why }, what);
  }

  status(): SidecarState {
    const now = monotonicNowMs();
    const view = this.core.view(now);
    return {
      group: this.options.group,
      node: this.options.node,
      role: this.options.role === 'primary' ? 'ROLE_PRIMARY' : 'ROLE_SECONDARY',
      mode: this.options.mode,
      workload: toWirePhase(view.workload),
      active: view.workload === 'running' || view.workload === 'starting',
      epoch: view.epoch.toString(),
      knownEpoch: view.knownEpoch.toString(),
      holding: view.holding,
      peerReachable: view.peerUp,
      witnessReachable: view.witnessUp,
      msUntilStop: view.msUntilStop,
      witnessLeaseRemainingMs: view.witnessLeaseMs,
      peerLeaseRemainingMs: view.peerLeaseMs,
      witnessEndpoint: this.witness?.endpoint ?? '',
      lastDecision: view.lastDecision,
      failoverBoundMs: failoverBoundMs(this.settings),
    };
  }
}
