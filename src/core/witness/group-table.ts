/**
 * The groups one witness holds, by name (in name order too, for ListGroups' pages), and who may
 * join them: a node joins its group with its first heartbeat, and only nodes the witness knows may
 * send Acquire and Release (design §6.6).
 */
import { type ArbiterConfig, MAX_NODES_PER_GROUP } from './arbiter-config';
import { ArbitrationError } from './errors';
import { assertNotPending, type GroupState, membersOf, newGroup, type NodeState } from './group-state';
import { SortedNames } from './sorted-names';
import type { NodeRole } from './types';

export class GroupTable {
  private readonly groups = new Map<string, GroupState>();
  /** The keys of `groups`, in order, for ListGroups' pages. */
  private readonly names = new SortedNames();

  constructor(private readonly config: ArbiterConfig) {}

  /** How many groups there are, as ListGroups counts them. */
  get size(): number {
    return this.names.size;
  }

  get(groupName: string): GroupState | undefined {
    return this.groups.get(groupName);
  }

  has(groupName: string): boolean {
    return this.groups.has(groupName);
  }

  /** A group the store recorded, loaded at start. */
  load(groupName: string, group: GroupState): void {
    this.names.add(groupName);
    this.groups.set(groupName, group);
  }

  delete(groupName: string): void {
    this.groups.delete(groupName);
    this.names.delete(groupName);
  }

  /** Up to `limit` group names after `after` ('' for the first page), in name order, and whether more follow. */
  page(after: string, limit: number): { names: string[]; more: boolean } {
    return this.names.page(after, limit);
  }

  /** Every group, in the order it was added. */
  forEach(visit: (state: GroupState, group: string) => void): void {
    this.groups.forEach(visit);
  }

  [Symbol.iterator](): IterableIterator<[string, GroupState]> {
    return this.groups[Symbol.iterator]();
  }

  /** Membership: a node joins its group with its first heartbeat; a group has two nodes at most. */
  register(
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
  member(groupName: string, node: string, now: number): GroupState {
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
}

export function unknownGroup(group: string): ArbitrationError {
  return new ArbitrationError(
    'not-found',
    'group',
    `unknown group ${group}: a group exists once a node has sent a heartbeat (Renew or KeepAlive)`,
  );
}
