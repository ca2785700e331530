/**
 * The witness's arbitration state machine: pure and synchronous. The shell hands it each request
 * with the time of receipt on the witness's monotonic clock; it returns a Decision. It never reads
 * a clock, touches a socket or a disk: the gRPC server and the simulator drive the same object.
 */
import { MAX_EPOCH, maxEpoch } from '../epoch';
import { grantorHoldEnd } from '../lease';
import { assert } from '../assert';
import { type ArbiterConfig, type ArbiterStartup, assertArbiterConfig } from './arbiter-config';
import { EpochLedger } from './epoch-ledger';
import { ArbitrationError } from './errors';
import { assertNotPending, type GroupState, groupView, type Holding, membersOf } from './group-state';
import { holdingSnapshot, isForgettable, visitDueHoldings, visitStandbySyncs } from './group-sweeps';
import { GroupTable, unknownGroup } from './group-table';
import { namedNode, OPERATOR_RULES, operatorContext } from './operator-context';
import {
  afterGrant,
  inMaintenance,
  type Intent,
  intentFields,
  intentOf,
  isRemoved,
  sameIntent,
  withRequest,
} from './operator-intent';
import type { OperatorRule } from './operator-rules';
import { type DecisionEffect, decisionOf } from './decision-of';
import { messageOf } from './rule-messages';
import { StartupGrace } from './startup-grace';
import { callerStale } from './sync-age';
import { SYNC_NOW_RULES, syncNowContext } from './sync-now-rules';
import type { StandbySync } from './sync-watch';
import { ACQUIRE_RULES, firstMatchingRule, HEARTBEAT_RULES, RELEASE_RULES, type Rule, type RuleContext } from './rules';
import type {
  AcquireInput,
  Decision,
  EventKind,
  ExpectedRecord,
  GroupView,
  HeartbeatInput,
  HoldingSnapshot,
  OperatorInput,
  ReleaseInput,
} from './types';

export class Arbiter {
  private readonly groups: GroupTable;
  private readonly startedAt: number;
  private readonly grace: StartupGrace;
  private readonly epochs: EpochLedger;

  constructor(
    private readonly config: ArbiterConfig,
    startup: ArbiterStartup,
  ) {
    this.groups = new GroupTable(config);
    assertArbiterConfig(config);
    this.epochs = new EpochLedger(startup.generation);
    this.startedAt = startup.now;
    this.grace = new StartupGrace(config, startup);
    for (const record of startup.records) {
      // A holder recorded before the restart may still be running: treat its lease as live
      // until the grace period ends, when any lease handed out before has run out.
      const holdUntil = record.holder === '' ? 0 : this.grace.until;
      this.groups.load(record.group, {
        holding: { holder: record.holder, epoch: record.epoch, holdUntil },
        intent: intentOf(record),
        recorded: true,
        pending: undefined,
        highestHeard: record.epoch,
        lastActivity: startup.now,
        nodes: new Map(),
        freshnessWaivedFor: 0n,
      });
    }
  }

  heartbeat(input: HeartbeatInput, now: number): Decision {
    this.epochs.checkReported('held_epoch', input.heldEpoch);
    this.epochs.checkAdoptable(input.heldEpoch);
    this.epochs.checkReported('known_epoch', input.knownEpoch);
    this.grace.coverRequestedLease(input.leaseMs);
    const { group, joined, state } = this.groups.register(input.group, input.node, input.role, now);
    this.hear(group, input.knownEpoch, input.heldEpoch);
    state.ranUnder = maxEpoch(state.ranUnder, input.heldEpoch);
    state.sync = input.sync;
    state.syncHeardAt = now;
    const rule = firstMatchingRule(
      HEARTBEAT_RULES,
      this.context(group, input.node, input.heldEpoch, input.knownEpoch, now),
    );
    const leaseMs = this.leaseFor(input.leaseMs);
    switch (rule.outcome.kind) {
      case 'renew':
        // Renewals need no write: they change only how long the witness holds, which a restart
        // covers with its grace.
        group.holding = this.extendHold(group.holding, now, leaseMs);
        return this.decide(input.group, group, input.node, group.holding, rule, now, {
          leaseMs,
          event: joined ? 'registered' : undefined,
        });
      case 'adopt': {
        const next = this.extendHold({ holder: input.node, epoch: input.heldEpoch, holdUntil: 0 }, now, leaseMs);
        return this.decideDurably(input.group, group, input.node, next, rule, now, { leaseMs, event: 'adopted' });
      }
      default:
        return this.decide(input.group, group, input.node, group.holding, rule, now, {
          event: rule.outcome.kind === 'refuse' ? 'refused' : joined ? 'registered' : undefined,
        });
    }
  }

  acquire(input: AcquireInput, now: number): Decision {
    this.epochs.checkReported('known_epoch', input.knownEpoch);
    this.grace.coverRequestedLease(input.leaseMs);
    const group = this.groups.member(input.group, input.node, now);
    this.hear(group, input.knownEpoch, 0n);
    const state = group.nodes.get(input.node);
    if (state !== undefined && input.sync !== undefined) {
      // The report the gate judges (design §21.4): the asker's own, not its last heartbeat's.
      state.sync = input.sync;
      state.syncHeardAt = now;
    }
    const ranUnder = state?.ranUnder ?? 0n;
    const rule = firstMatchingRule(ACQUIRE_RULES, this.context(group, input.node, 0n, input.knownEpoch, now, ranUnder));
    if (rule.outcome.kind !== 'grant') {
      // The refusal tells at least the epoch the caller ran under, which the record may lack (its
      // write failed): a caller that restarted and forgot it asks again knowing it, and is granted.
      const told = { ...group.holding, epoch: maxEpoch(group.holding.epoch, ranUnder) };
      return this.decide(input.group, group, input.node, told, rule, now, { event: 'refused' });
    }
    const leaseMs = this.leaseFor(input.leaseMs);
    // `highestHeard` includes the asker's known epoch, heard above: the grant goes above it too.
    assert(group.highestHeard >= input.knownEpoch, "a grant is computed after the asker's known epoch is heard");
    const epoch = this.epochs.nextGrant(maxEpoch(group.holding.epoch, group.highestHeard));
    if (epoch > MAX_EPOCH) {
      throw new ArbitrationError(
        'failed-precondition',
        'known_epoch',
        `known_epoch: the group's epochs have reached ${MAX_EPOCH}; no higher epoch can be handed out`,
      );
    }
    const next = this.extendHold({ holder: input.node, epoch, holdUntil: group.holding.holdUntil }, now, leaseMs);
    this.epochs.granted(epoch);
    return this.decideDurably(input.group, group, input.node, next, rule, now, {
      leaseMs,
      event: 'granted',
      intent: afterGrant(group.intent),
    });
  }

  release(input: ReleaseInput, now: number): Decision {
    this.epochs.checkReported('epoch', input.epoch);
    this.epochs.checkReported('known_epoch', input.knownEpoch);
    const group = this.groups.member(input.group, input.node, now);
    this.hear(group, input.knownEpoch, 0n);
    const rule = firstMatchingRule(RELEASE_RULES, this.context(group, input.node, input.epoch, input.knownEpoch, now));
    if (rule.outcome.kind !== 'release')
      return this.decide(input.group, group, input.node, group.holding, rule, now, { event: 'refused' });
    const next = { holder: '', epoch: group.holding.epoch, holdUntil: 0 };
    return this.decideDurably(input.group, group, input.node, next, rule, now, { event: 'released' });
  }

  /**
   * An operator's request (design §9.6): it only ever sets intent, which the answers to the nodes
   * carry. A refusal is an error naming the rule; a request that changes nothing writes nothing.
   */
  operate(input: OperatorInput, now: number): Decision {
    const group = this.groups.get(input.group);
    if (group === undefined) throw unknownGroup(input.group);
    assertNotPending(input.group, group);
    const rules = OPERATOR_RULES[input.kind];
    const context = operatorContext(group, input, now, this.config.defaultLeaseMs, this.config.maxSyncAgeMs);
    const rule = firstMatchingRule(rules, context);
    if (rule.outcome.kind === 'refuse') {
      throw new ArbitrationError(rule.outcome.code, rule.outcome.field, `group ${input.group}: ${messageOf(rule)}`);
    }
    // A forced switchover lets the peer past the freshness gate until the next grant (design §21.4),
    // once the switchover is durable: one whose write failed waives nothing.
    const waives = input.kind === 'switchover' && input.force === true && context.peerStale;
    // A switchover is asked of the holder; a policy or a break is the group's, told to the holder first.
    const node = namedNode(input, group.holding.holder);
    // Breaking the sync relationship removes the standby only (design §21.5).
    const members = membersOf(group).filter((n) => !(input.kind === 'break' && input.syncOnly === true && n === node));
    const intent = withRequest(group.intent, input, group.holding.epoch, members);
    if (sameIntent(intent, group.intent)) {
      if (waives) group.freshnessWaivedFor = group.holding.epoch;
      return this.decide(input.group, group, node, group.holding, rule, now, {});
    }
    if (waives) group.freshnessWaiverPending = group.holding.epoch;
    return this.decideDurably(input.group, group, node, group.holding, rule, now, { event: 'intent', intent });
  }

  /** The standby a "sync now" is for (design §21.2); refused with an error naming the rule. */
  syncNowTarget(groupName: string, now: number): string {
    const group = this.groups.get(groupName);
    if (group === undefined) throw unknownGroup(groupName);
    const context = syncNowContext(group, now, this.config.defaultLeaseMs);
    const rule = firstMatchingRule(SYNC_NOW_RULES, context);
    if (rule.outcome.kind === 'refuse') {
      throw new ArbitrationError(rule.outcome.code, rule.outcome.field, `group ${groupName}: ${messageOf(rule)}`);
    }
    return context.standby;
  }

  /** True while a decision of this group waits for its write: the shell must hold back its requests. */
  isPending(groupName: string): boolean {
    return this.groups.get(groupName)?.pending !== undefined;
  }

  /** The group's pending decision is durable: it takes effect. */
  commit(groupName: string): void {
    const group = this.pendingGroup(groupName);
    const pending = group.pending as NonNullable<GroupState['pending']>;
    group.holding = pending.next;
    group.intent = pending.intent;
    group.recorded = true;
    group.pending = undefined;
    if (group.freshnessWaiverPending !== undefined) group.freshnessWaivedFor = group.freshnessWaiverPending;
    group.freshnessWaiverPending = undefined;
    // A grant ends the switchover, and with it any waiver of the freshness gate.
    if (group.intent.switchoverEpoch !== group.freshnessWaivedFor) group.freshnessWaivedFor = 0n;
    this.epochs.committed(pending.generation, pending.next.epoch);
  }

  /** The group's pending decision could not be made durable: the group stays as the disk has it. */
  abort(groupName: string): void {
    const group = this.pendingGroup(groupName);
    group.pending = undefined;
    group.freshnessWaiverPending = undefined;
  }

  /**
   * Groups nobody holds and nobody has been heard from for `silentMs`: the shell removes their
   * records, then calls `forget`. An epoch is never repeated for a name used again: grants go
   * above every epoch decided since the store opened, and the next open moves above them all.
   */
  forgettable(now: number, silentMs: number, limit: number): string[] {
    const names: string[] = [];
    for (const [name, group] of this.groups) {
      if (names.length >= limit) break;
      if (isForgettable(group, now, silentMs)) names.push(name);
    }
    return names;
  }

  /** Whether a group found forgettable still is (a node may have come back meanwhile). */
  mayForget(groupName: string, now: number, silentMs: number): boolean {
    const group = this.groups.get(groupName);
    return group !== undefined && isForgettable(group, now, silentMs);
  }

  /** Drops a group found forgettable, if it still is. */
  forget(groupName: string, now: number, silentMs: number): boolean {
    if (!this.mayForget(groupName, now, silentMs)) return false;
    this.groups.delete(groupName);
    return true;
  }

  has(groupName: string): boolean {
    return this.groups.has(groupName);
  }

  /** What the lease watch sweeps (group-sweeps.ts visitDueHoldings). */
  forEachDue(now: number, silentAfterMs: number, visit: (holding: HoldingSnapshot) => void): void {
    visitDueHoldings(this.groups, this.startedAt, now, silentAfterMs, visit);
  }

  /** The group's holding as the lease watch sees it; undefined when nobody holds it (or it is gone). */
  holdingOf(groupName: string): HoldingSnapshot | undefined {
    const state = this.groups.get(groupName);
    return state === undefined || state.holding.holder === ''
      ? undefined
      : holdingSnapshot(groupName, state, this.startedAt);
  }

  /** What the sync watch sweeps (group-sweeps.ts visitStandbySyncs). */
  forEachStandbySync(now: number, visit: (standby: StandbySync) => void): void {
    visitStandbySyncs(this.groups, now, visit);
  }

  view(groupName: string, now: number): GroupView {
    const group = this.groups.get(groupName);
    if (group === undefined) throw unknownGroup(groupName);
    return groupView(groupName, group, now, this.inStartupGrace(now));
  }

  /** Groups in name order, starting after `after`; `total` counts them all. */
  list(now: number, after: string, limit: number): { groups: GroupView[]; total: number; more: boolean } {
    const page = this.groups.page(after, limit);
    const inGrace = this.inStartupGrace(now);
    const groups = page.names.map((name) => groupView(name, this.groups.get(name) as GroupState, now, inGrace));
    return { groups, total: this.groups.size, more: page.more };
  }

  inStartupGrace(now: number): boolean {
    return now < this.grace.until;
  }

  /** The stored generation, as this arbiter last had it confirmed. */
  storeGeneration(): bigint {
    return this.epochs.storeGeneration();
  }

  private hear(group: GroupState, knownEpoch: bigint, heldEpoch: bigint): void {
    group.highestHeard = maxEpoch(group.highestHeard, maxEpoch(knownEpoch, heldEpoch));
  }

  private context(
    group: GroupState,
    node: string,
    callerEpoch: bigint,
    callerKnownEpoch: bigint,
    now: number,
    callerRanUnder = 0n,
  ): RuleContext {
    const { holder, epoch, holdUntil } = group.holding;
    return {
      node,
      callerEpoch,
      callerKnownEpoch,
      callerRanUnder,
      holder,
      epoch,
      holderLeaseLive: holder !== '' && now < holdUntil,
      inStartupGrace: this.inStartupGrace(now),
      callerInMaintenance: inMaintenance(group.intent, node),
      callerRemoved: isRemoved(group.intent, node),
      callerStale: callerStale(group, node, callerRanUnder, now, this.config.maxSyncAgeMs),
      freshnessWaived: group.freshnessWaivedFor !== 0n && group.freshnessWaivedFor === group.intent.switchoverEpoch,
    };
  }

  /**
   * A hold is never shortened: an answer already given may have promised the holder more than a
   * later, shorter request asks for, and the witness must lose every lease last.
   */
  private extendHold(holding: Holding, now: number, leaseMs: number): Holding {
    const holdUntil = Math.max(holding.holdUntil, grantorHoldEnd(now, leaseMs, this.config.bounds));
    return { holder: holding.holder, epoch: holding.epoch, holdUntil };
  }

  private leaseFor(requestedMs: number): number {
    return requestedMs === 0 ? this.config.defaultLeaseMs : Math.min(requestedMs, this.config.maxLeaseMs);
  }

  private pendingGroup(groupName: string): GroupState {
    const group = this.groups.get(groupName);
    if (group?.pending === undefined) throw new Error(`group ${groupName} has no decision waiting for its write`);
    return group;
  }

  /** A decision that changes the durable record: it waits, as `pending`, until the write settles. */
  private decideDurably(
    groupName: string,
    group: GroupState,
    node: string,
    next: Holding,
    rule: Rule | OperatorRule,
    now: number,
    effect: { leaseMs?: number; event: EventKind; intent?: Intent },
  ): Decision {
    // An epoch at or past the next generation's floor raises the stored generation first, so that
    // the next open still moves above it (src/core/epoch.ts).
    const generation = this.epochs.generationToRaise(next.epoch);
    const intent = effect.intent ?? group.intent;
    group.pending = { next, intent, generation };
    const decision = this.decide(groupName, group, node, next, rule, now, effect, intent);
    // The write goes ahead only over the record this decision was made from: a second witness
    // over the same store, whose memory of the group is stale, has its write refused.
    const { holder, epoch } = group.holding;
    const expected: ExpectedRecord = group.recorded ? { holder, epoch } : 'absent';
    const record = { group: groupName, holder: next.holder, epoch: next.epoch, ...intentFields(intent) };
    return { ...decision, persist: { record, expected }, generation };
  }

  private decide(
    groupName: string,
    group: GroupState,
    node: string,
    holding: Holding,
    rule: Rule | OperatorRule,
    now: number,
    effect: DecisionEffect,
    intent: Intent = group.intent,
  ): Decision {
    return decisionOf({ group: groupName, node, holding, rule, now, effect, intent, graceUntil: this.grace.until });
  }
}
