/**
 * The witness machine: the production ArbitrationService over the production Arbiter, with a
 * simulated store (FIFO writes of random duration; a crash loses what is not yet durable; a wipe
 * starts an empty store whose generation comes from the wall clock, witness-wall-clock.ts), and
 * the janitor's sweep when the schedule sets `--forget-after` (witness-janitor-sweep.ts).
 */
import { generationForOpen, generationFromWallClock } from '../core/epoch';
import { restartGrace } from '../core/lease';
import { Arbiter } from '../core/witness/arbiter';
import type { ArbiterConfig } from '../core/witness/arbiter-config';
import { asExpected, describeExpected, holdsExpected } from '../core/witness/expected-record';
import type { Decision, DurableWrite, OperatorInput } from '../core/witness/types';
import type { LeaseAnswer__Output } from '../gen/witness/v1/LeaseAnswer';
import { ArbitrationService, type Reply } from '../witness/arbitration-service';
import type { DecisionStore, Settled } from '../witness/decision-store';
import { EventHub } from '../witness/event-hub';
import { LeadershipLostError } from '../witness/store/etcd-leadership';
import { storeErrorToWire } from '../witness/store-error-to-wire';
import { typedErrorStatus } from '../wire/status-mapping';
import type { FailedCallStatus } from '../wire/undecided-refusal';
import { describeOperatorInput } from './describe-operator-input';
import type { Network } from './network';
import { PARTY_NAMES, WITNESS } from './plan';
import type { ReplicaRole } from './replica-role';
import { RunsHeard } from './runs-heard';
import { sweepWhileAlive } from './witness-janitor-sweep';
import { WitnessWallClock } from './witness-wall-clock';
import { SILENT_LOGGER } from './silent-logger';
import { newStoreContents, type SharedStore, type StoreContents, WALL0_MS } from './simulated-store';
import type { World } from './world';

/** A request to the witness, as the sidecar's transport hands it over. */
export type WitnessCall = (service: ArbitrationService, reply: Reply) => void;

/** A call failed at the caller: refused with the status, or with none (a refused or reset connection). */
export type CallFailed = (status?: FailedCallStatus) => void;

export interface WitnessNodeHooks {
  /** A broken witness shell: it sends the answer first and makes the decision durable after. */
  readonly answerBeforePersist: boolean;
  /**
   * Told of every grant, with the node it went to and the highest epoch the Arbiter had heard that
   * node run under when it decided the grant (for the self-superseded check, L2).
   */
  readonly onGrant: (from: number, answer: LeaseAnswer__Output, runHeardBefore: bigint) => void;
  /** Told of every Acquire the freshness gate refused (design §21.6), with the node it refused. */
  readonly onStaleRefusal?: (from: number) => void;
}

export class WitnessNode {
  up = false;
  private inc = 0;
  /** Opens of the store so far (first start and restarts). */
  private opens = 0;
  private offset = 0;
  private service: ArbitrationService | undefined;
  private readonly wallClock: WitnessWallClock;
  private runsHeard: RunsHeard | undefined;
  /** Real time at which its start-up grace ends. */
  graceEnd = 0;
  readonly gen0: bigint;
  private readonly shared: SharedStore;
  private readonly name: string;

  constructor(
    private readonly world: World,
    private readonly network: Network,
    private readonly config: ArbiterConfig,
    private readonly hooks: WitnessNodeHooks,
    shared?: SharedStore,
    private readonly replica?: ReplicaRole,
  ) {
    this.gen0 = generationFromWallClock(WALL0_MS);
    this.wallClock = new WitnessWallClock(world);
    this.shared = shared ?? { contents: newStoreContents(this.gen0) };
    this.name = replica?.name ?? 'W';
  }

  start(wipe: boolean, why: string): void {
    if (this.up) return;
    const w = this.world;
    const wall = this.wallClock.read();
    if (wipe || !this.shared.contents.created) {
      this.shared.contents = {
        created: true,
        generation: generationFromWallClock(wall),
        records: new Map(),
        tail: w.t,
        longestLeaseMs: 0,
      };
    } else {
      // The real shell's open: a generation above everything recorded, never ahead of the wall clock.
      const open = generationForOpen(
        this.shared.contents.generation,
        [...this.shared.contents.records.values()].map((r) => r.epoch),
        wall,
      );
      if (open.aheadOfWallClockMs > 0) {
        w.at(w.t + open.aheadOfWallClockMs, () => this.start(false, why));
        return;
      }
      this.shared.contents.generation = open.generation;
    }
    this.up = true;
    this.inc += 1;
    this.wallClock.opened(wall);
    this.offset = w.proc.range(0, 1e6);
    this.opens += 1;
    const config = this.configFor(this.opens);
    const longestEarlierLeaseMs = this.shared.contents.longestLeaseMs;
    this.shared.contents.longestLeaseMs = Math.max(longestEarlierLeaseMs, config.maxLeaseMs);
    const arbiter = new Arbiter(config, {
      now: this.now(),
      generation: this.shared.contents.generation,
      records: [...this.shared.contents.records.values()],
      longestEarlierLeaseMs,
      storeIsNew: longestEarlierLeaseMs === 0,
    });
    this.runsHeard = new RunsHeard(arbiter);
    this.service = new ArbitrationService({
      arbiter,
      store: this.simulatedStore(this.inc),
      logger: SILENT_LOGGER,
      events: new EventHub(0, () => 0),
      now: () => this.now(),
      defaultLeaseMs: config.defaultLeaseMs,
      onWriteFailed: () => undefined,
    });
    // Over a new or wiped store the grace also grows to the lease the sidecars ask for.
    const asked = longestEarlierLeaseMs === 0 ? w.plan.primary.leaseMs : 0;
    const graceLeaseMs = Math.max(config.maxLeaseMs, longestEarlierLeaseMs, asked);
    this.graceEnd = w.t + restartGrace(graceLeaseMs, config.bounds) / this.rate();
    // Replicas draw no --forget-after (draw-plan.ts): their store's janitor is not modelled.
    const inc = this.inc;
    sweepWhileAlive(w, {
      arbiter,
      service: this.service,
      now: () => this.now(),
      rate: this.rate(),
      alive: () => this.inc === inc,
    });
    const again = w.plan.crashAfterOpenProbability;
    if (why !== 'first start' && !w.healed && again > 0 && w.fault.chance(again)) {
      w.at(w.t + w.fault.range(0, 5), () => {
        if (this.inc === inc && !w.healed)
          this.crash('crash right after the store opened', w.fault.range(0, 0.5) * w.plan.primary.leaseMs);
      });
    }
    if (w.healed) this.endOperatorIntent();
    const rec = this.shared.contents.records.get(w.plan.primary.group);
    if (w.trace.on1)
      w.trace.log(
        1,
        this.name,
        `witness starts (${why})${wipe ? ' with a WIPED store' : ''}: generation ${this.shared.contents.generation - this.gen0}, ` +
          `record ${rec === undefined ? 'none' : `${rec.holder || '-'}@${w.trace.epoch(rec.epoch)}`}`,
      );
  }

  /** Every other open runs with the plan's shorter longest lease, when it draws one. */
  private configFor(open: number): ArbiterConfig {
    const shorter = this.world.plan.shorterRestartLeaseMs;
    if (shorter === undefined || open % 2 === 1) return this.config;
    return { ...this.config, maxLeaseMs: shorter, defaultLeaseMs: Math.min(this.config.defaultLeaseMs, shorter) };
  }

  crash(why: string, drawnDownMs: number): void {
    if (!this.up) return;
    const w = this.world;
    const p = w.plan.quickRestartProbability;
    // A supervisor that restarts it at once: the store reopens within the same few generations.
    const downMs = !w.healed && p > 0 && w.fault.chance(p) ? w.fault.range(0, 10) : drawnDownMs;
    this.up = false;
    this.inc += 1;
    // Requests held back behind a write die with the process: their callers time out.
    this.service = undefined;
    this.shared.contents.tail = w.t;
    if (w.trace.on1) w.trace.log(1, this.name, `witness CRASHES (${why}); down for ${downMs.toFixed(1)}ms`);
    if (this.replica !== undefined) {
      this.replica.onCrash(downMs);
      return;
    }
    const inc = this.inc;
    w.at(w.t + downMs, () => {
      if (this.up || this.inc !== inc) return;
      const wipe = !w.healed && w.plan.wipeProbability > 0 && w.fault.chance(w.plan.wipeProbability);
      if (!wipe) this.wallClock.maybeStepBack(this.name);
      this.start(wipe, 'restart');
    });
  }

  /**
   * An operator's request at the witness (design §9.6), as the Admin RPCs make it: the same
   * service, in the group's turn. A refusal is an expected answer; a witness that is down hears
   * nothing.
   */
  operate(input: OperatorInput): void {
    const w = this.world;
    const service = this.service;
    const what = describeOperatorInput(input);
    if (!this.up || service === undefined) {
      if (w.trace.on1) w.trace.log(1, this.name, `operator asks ${what}: witness down`);
      return;
    }
    const inc = this.inc;
    service.operate(input, (outcome) => {
      if (this.inc !== inc || !w.trace.on1) return;
      const said = outcome.ok
        ? 'done'
        : `refused (${outcome.error instanceof Error ? outcome.error.message : 'error'})`;
      w.trace.log(1, this.name, `operator asks ${what}: ${said}`);
    });
  }

  /** Real time by which every write queued so far is durable (or lost). */
  writesSettleAt(): number {
    return Math.max(this.world.t, this.shared.contents.tail);
  }

  /** What the store holds (the checks read the records a decision just wrote). */
  get storeContents(): StoreContents {
    return this.shared.contents;
  }

  /**
   * After the heal no node stays in maintenance or removed, and the nodes' own fail-back policy holds again:
   * asked at the heal and at every start after it.
   */
  endOperatorIntent(): void {
    const { group } = this.world.plan.primary;
    this.operate({ kind: 'failback', group, policy: 'node' });
    for (const node of [this.world.plan.primary.node, this.world.plan.secondary.node]) {
      this.operate({ kind: 'maintenance', group, node, on: false, force: false });
      this.operate({ kind: 'remove', group, node, readmit: true, force: false });
    }
  }

  /** A request from party `from` reaches the witness machine; its answer or error travels back. */
  receive(
    from: number,
    what: string,
    call: WitnessCall,
    answer: (a: LeaseAnswer__Output) => void,
    fail: CallFailed,
  ): void {
    const w = this.world;
    const service = this.service;
    if (!this.up || service === undefined) {
      if (w.trace.on2) w.trace.log(2, this.name, `${what} from ${PARTY_NAMES[from]}: witness down, connection refused`);
      this.network.transmit(WITNESS, from, 'refusal', () => fail(), undefined);
      return;
    }
    const inc = this.inc;
    call(service, (outcome) => {
      // Answers of a witness that crashed meanwhile never leave the machine.
      if (this.inc !== inc) return;
      if (!outcome.ok) {
        const status = this.onError(from, what, outcome.error);
        this.network.transmit(WITNESS, from, 'error', () => fail(status), undefined);
        return;
      }
      // The service fills every field, as the deserializer at the sidecar's end would.
      const a = outcome.answer as LeaseAnswer__Output;
      if (a.verdict === 'VERDICT_GRANTED')
        this.hooks.onGrant(from, a, this.runsHeard?.heardBeforeGrant(BigInt(a.epoch)) ?? 0n);
      if (a.reason === 'REFUSAL_REASON_STALE_STANDBY') this.hooks.onStaleRefusal?.(from);
      if (w.trace.on1 && (w.trace.on2 || (a.verdict !== 'VERDICT_RENEWED' && a.verdict !== 'VERDICT_ACKNOWLEDGED'))) {
        w.trace.log(
          1,
          this.name,
          `${what} from ${PARTY_NAMES[from]}: ${a.verdict}${a.reason !== 'REFUSAL_REASON_UNSPECIFIED' ? ` (${a.reason})` : ''} ` +
            `holder ${a.holder || '-'}@${w.trace.epoch(BigInt(a.epoch))}` +
            (a.retryAfterMs > 0 ? ` retry ${a.retryAfterMs}ms` : ''),
        );
      }
      // A connection reset after the witness decided fails the call at once (UNAVAILABLE), though
      // the decision stands: the caller must treat a failed Acquire as possibly granted (SAFETY 4).
      this.network.transmit(
        WITNESS,
        from,
        `answer ${a.verdict}`,
        () => answer(a),
        () => fail(),
      );
    });
  }

  /** The group's record removed, durable in the store's write order; a crash first keeps it. */
  private forgetDurably(inc: number, group: string, done: Settled): void {
    const w = this.world;
    const durableAt = Math.max(w.t, this.shared.contents.tail) + w.forget.range(0, w.plan.writeDelayMaxMs);
    this.shared.contents.tail = durableAt;
    w.at(durableAt, () => {
      if (this.inc !== inc) {
        if (w.trace.on1) w.trace.log(1, this.name, `forget ${group} LOST (witness crashed first)`);
        return;
      }
      this.shared.contents.records.delete(group);
      if (w.trace.on1) w.trace.log(1, this.name, `durable: group ${group} forgotten`);
      done(undefined);
    });
  }

  /** The witness's monotonic clock. */
  private now(): number {
    return this.replica?.now() ?? this.rate() * this.world.t + this.offset;
  }

  private whenRunning(task: () => void): void {
    if (this.replica === undefined) task();
    else this.replica.whenRunning(task);
  }

  private rate(): number {
    return this.replica?.rate ?? (this.world.plan.clockRates[WITNESS] as number);
  }

  /**
   * The status the gRPC edge answers `error` with. An error it answers with its status is one the
   * witness is built to give; any other is a bug (and is answered with none, as a reset would be).
   */
  private onError(from: number, what: string, error: unknown): FailedCallStatus | undefined {
    const w = this.world;
    const status = typedErrorStatus(storeErrorToWire(error) ?? error);
    if (status?.code === undefined) {
      const e = error as Error;
      w.violate('error', 'witness', `${what} from ${PARTY_NAMES[from]}: ${e.name}: ${e.message}\n${e.stack ?? ''}`);
      return undefined;
    }
    if (w.trace.on1) w.trace.log(1, this.name, `${what} from ${PARTY_NAMES[from]}: error ${(error as Error).message}`);
    return { code: status.code, metadata: status.metadata };
  }

  /**
   * The record is durable before the answer leaves (unless a broken shell is simulated), and the
   * decision takes effect only then; a write that fails (write-failure) rolls it back.
   */
  private simulatedStore(inc: number): DecisionStore {
    return {
      mayDecide: () => this.replica?.mayDecide(this.now()) ?? true,
      write: (decision, done) => this.write(inc, decision, done),
      forget: (group, done) => this.forgetDurably(inc, group, done),
    };
  }

  private write(inc: number, decision: Decision, done: Settled): void {
    const w = this.world;
    const plan = w.plan;
    const { record, expected } = decision.persist as DurableWrite;
    const start = Math.max(w.t, this.shared.contents.tail);
    const durableAt = start + w.proc.range(0, plan.writeDelayMaxMs);
    this.shared.contents.tail = durableAt;
    let crash: 'none' | 'before' | 'after' = 'none';
    if (!w.healed && plan.crashOnWriteProbability > 0 && w.fault.chance(plan.crashOnWriteProbability)) {
      crash = w.fault.chance(0.5) ? 'before' : 'after';
    }
    const fails = !w.healed && plan.writeFailProbability > 0 && w.fault.chance(plan.writeFailProbability);
    const downMs = w.fault.range(1, 0.5 * plan.primary.leaseMs);
    const answerFirst = this.hooks.answerBeforePersist;
    if (answerFirst) done(undefined);
    if (crash === 'before') {
      w.at(w.proc.range(w.t, durableAt), () => {
        if (this.inc === inc) this.crash('crash while a store write is in flight', downMs);
      });
    }
    const name = `${record.holder || '-'}@${w.trace.epoch(record.epoch)}`;
    // A stopped replica sends its write once it runs again (witness-site.ts).
    w.at(durableAt, () =>
      this.whenRunning(() => {
        if (this.inc !== inc) {
          if (w.trace.on1) w.trace.log(1, this.name, `write ${name} LOST (witness crashed first)`);
          return;
        }
        const landed = this.replica?.write() ?? 'landed';
        if (landed !== 'landed') {
          if (w.trace.on1)
            w.trace.log(
              1,
              this.name,
              `write ${name} ${landed === 'fenced' ? 'FENCED (deposed)' : 'FAILS (etcd unreachable)'}`,
            );
          if (!answerFirst)
            done(
              landed === 'fenced'
                ? new LeadershipLostError('a write failed the fence')
                : new Error('etcd unreachable (simulated)'),
            );
          if (landed === 'fenced')
            this.crash('exits: its leadership is lost', w.fault.range(1, 0.5 * plan.primary.leaseMs));
          return;
        }
        const stored = this.shared.contents.records.get(record.group);
        // One witness over its own store: a write that does not find what it expects means the
        // Arbiter's memory and the store disagree. Refused as a real store would, and reported.
        if (!holdsExpected(expected, stored)) {
          w.violate(
            'error',
            'store-precondition',
            `write expects ${describeExpected(expected)}, store holds ${describeExpected(asExpected(stored))}`,
          );
          if (!answerFirst) done(new Error('store precondition failed'));
          return;
        }
        if (fails) {
          if (w.trace.on1) w.trace.log(1, this.name, `write ${name} FAILS (disk full)`);
          if (!answerFirst) done(new Error('ENOSPC: no space left on device (simulated)'));
          return;
        }
        if (decision.generation !== undefined && decision.generation > this.shared.contents.generation)
          this.shared.contents.generation = decision.generation;
        this.shared.contents.records.set(record.group, record);
        if (w.trace.on1) w.trace.log(1, this.name, `durable: ${name}`);
        if (crash === 'after') {
          this.crash('crash after the write, before the answer', downMs);
          return;
        }
        if (!answerFirst) done(undefined);
      }),
    );
  }
}
