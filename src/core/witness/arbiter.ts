/**
 * The witness's arbitration state machine: pure and synchronous. The shell hands it each request
 * with the time of receipt on the witness's monotonic clock; it returns a Decision. It never reads
 * a clock, touches a socket or a disk: the gRPC server and the simulator drive the same object.
 */
import { epochFloor, GENERATION_UNIT_MS, MAX_EPOCH, maxEpoch, nextEpoch } from '../epoch';
import { type DriftBounds, grantorHoldEnd, remainingMs, restartGrace } from '../lease';
import { ArbitrationError } from './errors';
import { ACQUIRE_RULES, firstMatchingRule, HEARTBEAT_RULES, RELEASE_RULES, type Rule, type RuleContext } from './rules';
import type {
  AcquireInput,
  Decision,
  DurableGroup,
  EventKind,
  GroupView,
  HeartbeatInput,
  LeaseAnswer,
  NodeRole,
  ReleaseInput,
} from './types';

export interface ArbiterConfig {
  readonly bounds: DriftBounds;
  /** The lease handed out when a request asks for none. */
  readonly defaultLeaseMs: number;
  /** The longest lease handed out; longer requests are capped. Sets the start-up grace. */
  readonly maxLeaseMs: number;
}

/** What the shell loaded from the store at start. */
export interface ArbiterStartup {
  readonly now: number;
  /** The store's generation: every epoch this witness hands out is above `epochFloor(generation)`. */
  readonly generation: bigint;
  readonly records: readonly DurableGroup[];
}

/** Two copies of a workload per group: the primary and the secondary. */
export const MAX_NODES_PER_GROUP = 2;

interface NodeState {
  role: NodeRole;
  lastSeen: number;
}

interface GroupState {
  holder: string;
  epoch: bigint;
  /** Witness-side end of the holder's lease (receipt + lease*(1+rho) + eps). */
  holdUntil: number;
  /** Highest epoch any caller reported; a grant goes above it even if the grantee knows less. */
  highestHeard: bigint;
  /** Volatile: rebuilt from heartbeats after a restart. */
  nodes: Map<string, NodeState>;
}

export class Arbiter {
  private readonly groups = new Map<string, GroupState>();
  private readonly floor: bigint;
  private readonly graceUntil: number;

  constructor(
    private readonly config: ArbiterConfig,
    startup: ArbiterStartup,
  ) {
    assertConfig(config);
    this.floor = epochFloor(startup.generation);
    this.graceUntil = startup.now + restartGrace(config.maxLeaseMs, config.bounds);
    for (const record of startup.records) {
      // A holder recorded before the restart may still be running: treat its lease as live
      // until the grace period ends, when any lease handed out before has run out.
      this.groups.set(record.group, {
        holder: record.holder,
        epoch: record.epoch,
        holdUntil: record.holder === '' ? 0 : this.graceUntil,
        highestHeard: record.epoch,
        nodes: new Map(),
      });
    }
  }

  heartbeat(input: HeartbeatInput, now: number): Decision {
    const { group, joined } = this.register(input.group, input.node, input.role, now);
    this.hear(group, input.knownEpoch, input.heldEpoch);
    const rule = firstMatchingRule(
      HEARTBEAT_RULES,
      this.context(group, input.node, input.heldEpoch, input.knownEpoch, now),
    );
    const leaseMs = this.leaseFor(input.leaseMs);
    switch (rule.outcome.kind) {
      case 'renew':
        this.extendHold(group, now, leaseMs);
        return this.decide(input.group, group, rule, now, { leaseMs, event: joined ? 'registered' : undefined });
      case 'adopt':
        group.holder = input.node;
        group.epoch = input.heldEpoch;
        this.extendHold(group, now, leaseMs);
        return this.decide(input.group, group, rule, now, { leaseMs, event: 'adopted', persist: true });
      default:
        return this.decide(input.group, group, rule, now, {
          event: rule.outcome.kind === 'refuse' ? 'refused' : joined ? 'registered' : undefined,
        });
    }
  }

  acquire(input: AcquireInput, now: number): Decision {
    const group = this.member(input.group, input.node, now);
    this.hear(group, input.knownEpoch, 0n);
    const rule = firstMatchingRule(ACQUIRE_RULES, this.context(group, input.node, 0n, input.knownEpoch, now));
    if (rule.outcome.kind !== 'grant') return this.decide(input.group, group, rule, now, { event: 'refused' });
    const leaseMs = this.leaseFor(input.leaseMs);
    const epoch = nextEpoch(this.floor, maxEpoch(group.epoch, group.highestHeard), input.knownEpoch);
    if (epoch > MAX_EPOCH) {
      throw new ArbitrationError(
        'failed-precondition',
        'known_epoch',
        `known_epoch: the group's epochs have reached ${MAX_EPOCH}; no higher epoch can be handed out`,
      );
    }
    group.epoch = epoch;
    group.highestHeard = epoch;
    group.holder = input.node;
    this.extendHold(group, now, leaseMs);
    return this.decide(input.group, group, rule, now, { leaseMs, event: 'granted', persist: true });
  }

  release(input: ReleaseInput, now: number): Decision {
    const group = this.member(input.group, input.node, now);
    this.hear(group, input.knownEpoch, 0n);
    const rule = firstMatchingRule(RELEASE_RULES, this.context(group, input.node, input.epoch, input.knownEpoch, now));
    if (rule.outcome.kind !== 'release') return this.decide(input.group, group, rule, now, { event: 'refused' });
    group.holder = '';
    group.holdUntil = 0;
    return this.decide(input.group, group, rule, now, { event: 'released', persist: true });
  }

  view(groupName: string, now: number): GroupView {
    const group = this.groups.get(groupName);
    if (group === undefined) throw unknownGroup(groupName);
    return this.toView(groupName, group, now);
  }

  /** Groups in name order, starting after `after`; `total` counts them all. */
  list(now: number, after: string, limit: number): { groups: GroupView[]; total: number; more: boolean } {
    const names = [...this.groups.keys()].sort();
    const start = after === '' ? 0 : names.findIndex((n) => n > after);
    const page = start < 0 ? [] : names.slice(start, start + limit);
    const groups = page.map((name) => this.toView(name, this.groups.get(name) as GroupState, now));
    const last = page[page.length - 1];
    return { groups, total: names.length, more: last !== undefined && last !== names[names.length - 1] };
  }

  inStartupGrace(now: number): boolean {
    return now < this.graceUntil;
  }

  /** Membership: a node joins its group with its first heartbeat; a group has two nodes at most. */
  private register(
    groupName: string,
    node: string,
    role: NodeRole,
    now: number,
  ): { group: GroupState; joined: boolean } {
    const known = this.groups.get(groupName);
    const existing = known?.nodes.get(node);
    // The hot path: a member heartbeating under its known role changes nothing but lastSeen.
    if (known !== undefined && existing !== undefined && existing.role === role) {
      existing.lastSeen = now;
      return { group: known, joined: false };
    }
    const group = known ?? newGroup();
    if (existing === undefined && group.nodes.size >= MAX_NODES_PER_GROUP) {
      const members = [...group.nodes.keys()].join(' and ');
      throw new ArbitrationError(
        'failed-precondition',
        'node',
        `group ${groupName} already has nodes ${members}; a third node cannot join`,
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
    this.groups.set(groupName, group);
    group.nodes.set(node, { role, lastSeen: now });
    return { group, joined: existing === undefined };
  }

  /** Acquire and Release come from nodes the witness knows: registered, or the recorded holder. */
  private member(groupName: string, node: string, now: number): GroupState {
    const group = this.groups.get(groupName);
    if (group === undefined) throw unknownGroup(groupName);
    const state = group.nodes.get(node);
    if (state === undefined && group.holder !== node) {
      throw new ArbitrationError(
        'not-found',
        'node',
        `node ${node} is not registered in group ${groupName}: send a heartbeat (Renew or KeepAlive) first`,
      );
    }
    if (state !== undefined) state.lastSeen = now;
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
  ): RuleContext {
    return {
      node,
      callerEpoch,
      callerKnownEpoch,
      holder: group.holder,
      epoch: group.epoch,
      holderLeaseLive: group.holder !== '' && now < group.holdUntil,
      inStartupGrace: this.inStartupGrace(now),
    };
  }

  /**
   * A hold is never shortened: an answer already given may have promised the holder more than a
   * later, shorter request asks for, and the witness must lose every lease last.
   */
  private extendHold(group: GroupState, now: number, leaseMs: number): void {
    group.holdUntil = Math.max(group.holdUntil, grantorHoldEnd(now, leaseMs, this.config.bounds));
  }

  private leaseFor(requestedMs: number): number {
    return requestedMs === 0 ? this.config.defaultLeaseMs : Math.min(requestedMs, this.config.maxLeaseMs);
  }

  private decide(
    groupName: string,
    group: GroupState,
    rule: Rule,
    now: number,
    effect: { leaseMs?: number; event: EventKind | undefined; persist?: boolean },
  ): Decision {
    const answer: LeaseAnswer = {
      group: groupName,
      verdict: VERDICT_OF[rule.outcome.kind],
      reason: rule.outcome.kind === 'refuse' ? rule.outcome.reason : undefined,
      message: messageOf(rule),
      holder: group.holder,
      epoch: group.epoch,
      leaseMs: effect.leaseMs ?? 0,
      holderLeaseRemainingMs: this.holderRemaining(group, now),
      retryAfterMs: rule.outcome.kind === 'refuse' ? this.retryAfter(rule, group, now) : 0,
    };
    const persist = effect.persist ? { group: groupName, holder: group.holder, epoch: group.epoch } : undefined;
    return { answer, rule: rule.name, persist, event: effect.event };
  }

  private holderRemaining(group: GroupState, now: number): number {
    return group.holder === '' ? 0 : remainingMs(group.holdUntil, now);
  }

  private retryAfter(rule: Rule, group: GroupState, now: number): number {
    if (rule.outcome.kind !== 'refuse') return 0;
    if (rule.outcome.reason === 'startup-grace') return remainingMs(this.graceUntil, now);
    if (rule.outcome.reason === 'held-by-other') return this.holderRemaining(group, now);
    return 0;
  }

  private toView(name: string, group: GroupState, now: number): GroupView {
    return {
      group: name,
      holder: group.holder,
      epoch: group.epoch,
      holderLeaseRemainingMs: this.holderRemaining(group, now),
      inStartupGrace: this.inStartupGrace(now),
      nodes: [...group.nodes].map(([node, state]) => ({
        node,
        role: state.role,
        lastSeenMsAgo: Math.max(0, Math.round(now - state.lastSeen)),
        holds: group.holder === node,
      })),
    };
  }
}

const VERDICT_OF = {
  renew: 'renewed',
  adopt: 'renewed',
  acknowledge: 'acknowledged',
  grant: 'granted',
  release: 'released',
  refuse: 'refused',
} as const;

const MESSAGES = new Map<Rule, string>();

/** Built once per rule: it is sent with every answer. */
function messageOf(rule: Rule): string {
  let message = MESSAGES.get(rule);
  if (message === undefined) {
    message = `${rule.name}: ${rule.why}`;
    MESSAGES.set(rule, message);
  }
  return message;
}

function newGroup(): GroupState {
  return { holder: '', epoch: 0n, holdUntil: 0, highestHeard: 0n, nodes: new Map() };
}

function unknownGroup(group: string): ArbitrationError {
  return new ArbitrationError(
    'not-found',
    'group',
    `unknown group ${group}: a group exists once a node has sent a heartbeat (Renew or KeepAlive)`,
  );
}

function assertConfig(config: ArbiterConfig): void {
  const { rho, marginMs } = config.bounds;
  if (!(rho >= 0 && rho < 0.5)) throw new RangeError(`rho must be in [0, 0.5): ${rho}`);
  if (!(marginMs >= 0)) throw new RangeError(`margin must be >= 0: ${marginMs}`);
  if (!(config.defaultLeaseMs > 0 && config.defaultLeaseMs <= config.maxLeaseMs)) {
    throw new RangeError('default lease must be positive and at most the maximum lease');
  }
  // Epoch generations are 10 ms apart: a store replaced within one generation must not hand out
  // anything before the next one begins (src/core/epoch.ts).
  if (restartGrace(config.maxLeaseMs, config.bounds) < GENERATION_UNIT_MS) {
    throw new RangeError(`the start-up grace must be at least ${GENERATION_UNIT_MS} ms`);
  }
}
