/**
 * The witness's arbitration state machine: pure and synchronous. The shell hands it each request
 * with the time of receipt on the witness's monotonic clock; it returns a Decision. It never reads
 * a clock, touches a socket or a disk: the gRPC server and the simulator drive the same object.
 */
import { MAX_EPOCH, maxEpoch } from '../epoch';
import { grantorHoldEnd, restartGrace } from '../lease';
import { type ArbiterConfig, type ArbiterStartup, assertArbiterConfig, MAX_NODES_PER_GROUP } from './arbiter-config';
import { EpochLedger } from './epoch-ledger';
import { ArbitrationError } from './errors';
import {
  assertNotPending,
  type GroupState,
  groupView,
  type Holding,
  membersOf,
  newGroup,
  type NodeState,
} from './group-state';
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
import { SortedNames } from './sorted-names';
import { syncAt, tooStale } from './sync-age';
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
  NodeRole,
  OperatorInput,
  ReleaseInput,
} from './types';

export class Arbiter {
  private readonly groups = new Map<string, GroupState>();
  /** The keys of `groups`, in order, for ListGroups' pages. */
  private readonly names = new SortedNames();
  /** The longest lease the start-up grace covers: this store's, or a caller's over a new store (design §6.5). */
  private graceLeaseMs: number;
  private readonly startedAt: number;
  private readonly graceExtraMs: number;
  private readonly graceCoversAskedLeases: boolean;
  private readonly epochs: EpochLedger;

  constructor(
    private readonly config: ArbiterConfig,
    startup: ArbiterStartup,
  ) {
    assertArbiterConfig(config);
    this.epochs = new EpochLedger(startup.generation);
    this.startedAt = startup.now;
    this.graceExtraMs = startup.graceExtraMs ?? 0;
    this.graceCoversAskedLeases = startup.storeIsNew === true;
    this.graceLeaseMs = Math.max(config.maxLeaseMs, startup.longestEarlierLeaseMs ?? 0);
    for (const record of startup.records) {
      // A holder recorded before the restart may still be running: treat its lease as live
      // until the grace period ends, when any lease handed out before has run out.
      const holdUntil = record.holder === '' ? 0 : this.graceUntil;
      this.names.add(record.group);
      this.groups.set(record.group, {
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
    this.coverRequestedLease(input.leaseMs);
    const { group, joined, state } = this.register(input.group, input.node, input.role, now);
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
    this.coverRequestedLease(input.leaseMs);
    const group = this.member(input.group, input.node, now);
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
    const epoch = this.epochs.nextGrant(maxEpoch(group.holding.epoch, group.highestHeard), input.knownEpoch);
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
    const group = this.member(input.group, input.node, now);
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
      if (this.isForgettable(group, now, silentMs)) names.push(name);
    }
    return names;
  }

  /** Whether a group found forgettable still is (a node may have come back meanwhile). */
  mayForget(groupName: string, now: number, silentMs: number): boolean {
    const group = this.groups.get(groupName);
    return group !== undefined && this.isForgettable(group, now, silentMs);
  }

  /** Drops a group found forgettable, if it still is. */
  forget(groupName: string, now: number, silentMs: number): boolean {
    if (!this.mayForget(groupName, now, silentMs)) return false;
    this.groups.delete(groupName);
    this.names.delete(groupName);
    return true;
  }

  has(groupName: string): boolean {
    return this.groups.has(groupName);
  }

  /**
   * Each group someone holds whose lease has run out at `now`, or whose holder has not been heard
   * for `silentAfterMs` (0: never), with the end of its lease and when its holder was last heard
   * (the witness's start when it has not been heard since): what the lease watch sweeps, ten times
   * a second (design §18.2). What the disk has: a decision on its way there is not shown.
   */
  forEachDue(now: number, silentAfterMs: number, visit: (holding: HoldingSnapshot) => void): void {
    // forEach, not for-of over entries: no [key, value] pair per group.
    this.groups.forEach((state, group) => {
      const { holder, holdUntil } = state.holding;
      if (holder === '') return;
      const live = now < holdUntil;
      if (live && silentAfterMs <= 0) return;
      const heardAt = state.nodes.get(holder)?.lastSeen ?? this.startedAt;
      if (live && now - heardAt < silentAfterMs) return;
      visit(this.snapshotOf(group, state));
    });
  }

  /** The group's holding as the lease watch sees it; undefined when nobody holds it (or it is gone). */
  holdingOf(groupName: string): HoldingSnapshot | undefined {
    const state = this.groups.get(groupName);
    return state === undefined || state.holding.holder === '' ? undefined : this.snapshotOf(groupName, state);
  }

  private snapshotOf(group: string, state: GroupState): HoldingSnapshot {
    const { holder, epoch, holdUntil } = state.holding;
    const node = state.nodes.get(holder);
    return { group, holder, epoch, holdUntil, heardAt: node?.lastSeen ?? this.startedAt, role: node?.role };
  }

  /**
   * Each node that reports its sync and neither holds its group nor is removed from it, with its
   * sync as of `now`: what the sync watch sweeps (design §21.3).
   */
  forEachStandbySync(now: number, visit: (standby: StandbySync) => void): void {
    for (const [group, state] of this.groups) {
      const { holder, epoch } = state.holding;
      for (const [node, heard] of state.nodes) {
        const sync = syncAt(heard, now);
        if (sync === undefined || node === holder || isRemoved(state.intent, node)) continue;
        visit({ group, node, holder, epoch, sync });
      }
    }
  }

  view(groupName: string, now: number): GroupView {
    const group = this.groups.get(groupName);
    if (group === undefined) throw unknownGroup(groupName);
    return groupView(groupName, group, now, this.inStartupGrace(now));
  }

  /** Groups in name order, starting after `after`; `total` counts them all. */
  list(now: number, after: string, limit: number): { groups: GroupView[]; total: number; more: boolean } {
    const page = this.names.page(after, limit);
    const inGrace = this.inStartupGrace(now);
    const groups = page.names.map((name) => groupView(name, this.groups.get(name) as GroupState, now, inGrace));
    return { groups, total: this.names.size, more: page.more };
  }

  /**
   * Over a store with no record of earlier leases, a caller that asks for a lease longer than the
   * grace covers may hold one that long from a witness before this one, configured with a longer
   * --max-lease over a store since lost. The grace, counted from this witness's start, grows to
   * cover it; it never shrinks.
   */
  private coverRequestedLease(requestedMs: number): void {
    if (!this.graceCoversAskedLeases || requestedMs <= this.graceLeaseMs) return;
    this.graceLeaseMs = requestedMs;
  }

  /** When the start-up grace ends: counted from this witness's start, for the longest lease it covers. */
  private get graceUntil(): number {
    return this.startedAt + restartGrace(this.graceLeaseMs, this.config.bounds) + this.graceExtraMs;
  }

  inStartupGrace(now: number): boolean {
    return now < this.graceUntil;
  }

  /** The stored generation, as this arbiter last had it confirmed. */
  storeGeneration(): bigint {
    return this.epochs.storeGeneration();
  }

  /** Membership: a node joins its group with its first heartbeat; a group has two nodes at most. */
  private register(
    groupName: string,
    node: string,
    role: NodeRole,
    now: number,
  ): { group: GroupState; joined: boolean; state: NodeState } {
    const known = this.groups.get(groupName);
    const existing = known?.nodes.get(node);
    // The hot path: a member heartbeating under its known role changes nothing but lastSeen.
    if (known !== undefined && existing !== undefined && existing.role === role) {
      assertNotPending(groupName, known);
      existing.lastSeen = now;
      known.lastActivity = now;
      return { group: known, joined: false, state: existing };
    }
    if (known === undefined && this.groups.size >= (this.config.maxGroups ?? Infinity)) {
      throw new ArbitrationError(
        'resource-exhausted',
        'group',
        `group ${groupName} cannot be created: this witness serves at most ${this.config.maxGroups} groups (--max-groups)`,
      );
    }
    const group = known ?? newGroup(now);
    assertNotPending(groupName, group);
    // A removed node keeps its place, heard since this witness started or not (design §9.7).
    const members = membersOf(group);
    if (existing === undefined && !members.includes(node) && members.length >= MAX_NODES_PER_GROUP) {
      const names = members.join(' and ');
      throw new ArbitrationError(
        'failed-precondition',
        'node',
        `group ${groupName} already has nodes ${names}; a third node cannot join`,
      );
    }
    for (const [other, state] of group.nodes) {
      if (other !== node && state.role === role) {
        throw new ArbitrationError(
          'failed-precondition',
          'role',
          `group ${groupName} already has a ${role} (${other}); node ${node} cannot also be one`,
        );
      }
    }
    // Only now, with every check passed, is anything changed.
    if (known === undefined) this.names.add(groupName);
    this.groups.set(groupName, group);
    const state = {
      role,
      lastSeen: now,
      ranUnder: existing?.ranUnder ?? 0n,
      sync: existing?.sync,
      syncHeardAt: existing?.syncHeardAt ?? now,
    };
    group.nodes.set(node, state);
    group.lastActivity = now;
    return { group, joined: existing === undefined, state };
  }

  /** Acquire and Release come from nodes the witness knows: registered, or the recorded holder. */
  private member(groupName: string, node: string, now: number): GroupState {
    const group = this.groups.get(groupName);
    if (group === undefined) throw unknownGroup(groupName);
    assertNotPending(groupName, group);
    const state = group.nodes.get(node);
    if (state === undefined && group.holding.holder !== node) {
      throw new ArbitrationError(
        'not-found',
        'node',
        `node ${node} is not registered in group ${groupName}: send a heartbeat (Renew or KeepAlive) first`,
      );
    }
    if (state !== undefined) state.lastSeen = now;
    group.lastActivity = now;
    return group;
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
      callerStale: this.callerStale(group, node, callerRanUnder, now),
      freshnessWaived: group.freshnessWaivedFor !== 0n && group.freshnessWaivedFor === group.intent.switchoverEpoch,
    };
  }

  /**
   * The freshness gate's test (design §21.4). Only a takeover is gated: a group no node has run yet
   * (no epoch handed out or heard) has no fresher copy to protect, and the node that ran the group
   * last holds the freshest copy there is, whatever its sidecar reports (it may have restarted).
   */
  private callerStale(group: GroupState, node: string, ranUnder: bigint, now: number): boolean {
    const maxAgeMs = this.config.maxSyncAgeMs;
    if (maxAgeMs === undefined) return false;
    const { holder, epoch } = group.holding;
    if (maxEpoch(epoch, group.highestHeard) === 0n) return false;
    if (holder === node || (ranUnder > 0n && ranUnder >= epoch)) return false;
    return tooStale(group.nodes.get(node), now, maxAgeMs);
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

  private isForgettable(group: GroupState, now: number, silentMs: number): boolean {
    if (group.pending !== undefined || now - group.lastActivity < silentMs) return false;
    const { holder, holdUntil } = group.holding;
    // A node in maintenance stays there however long the group is silent.
    return group.intent.maintenance.length === 0 && (holder === '' || now >= holdUntil);
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
    return decisionOf({ group: groupName, node, holding, rule, now, effect, intent, graceUntil: this.graceUntil });
  }
}

function unknownGroup(group: string): ArbitrationError {
  return new ArbitrationError(
    'not-found',
    'group',
    `unknown group ${group}: a group exists once a node has sent a heartbeat (Renew or KeepAlive)`,
  );
}
