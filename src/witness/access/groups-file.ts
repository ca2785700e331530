/**
 * The groups file (`--groups-file`, design §17.4): which groups the witness serves, each group's
 * two members with their roles and identities, and optionally the group's key. Membership is
 * declared, not first come: a node the file does not name is refused, also right after a restart.
 *
 *   groups:
 *     - group: orders
 *       keyFile: /etc/failover-witness/keys/orders   # optional: the group key (design §17.3)
 *       members:
 *         - { node: a, role: primary }                 # identity defaults to the node's SPIFFE id
 *         - { node: b, role: secondary, identity: spiffe://example.org/group/orders/node/b }
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { ID_PATTERN, ID_RULE } from '../../core/ids';
import type { NodeRole } from '../../core/witness/types';
import { MAX_NODES_PER_GROUP } from '../../core/witness/arbiter-config';
import { nodeCommonName, nodeSpiffeId } from '../../wire/spiffe-id';
import { readSecretFile, SecretFileError } from '../../config/secret-file';

export interface DeclaredMember {
  readonly role: NodeRole;
  /** What its certificate must name: a SPIFFE id (or the CN, with --identity-from cn). */
  readonly identity: string;
}

export interface DeclaredGroup {
  /** The group key, or undefined when the group's members authenticate only by certificate. */
  readonly key: string | undefined;
  readonly members: ReadonlyMap<string, DeclaredMember>;
}

export type DeclaredGroups = ReadonlyMap<string, DeclaredGroup>;

/** A problem of the file; `where` names the entry (`groups[1].members[0].role`). */
export class GroupsFileError extends Error {
  override readonly name = 'GroupsFileError';
}

export interface GroupsFileContext {
  readonly trustDomain: string;
  readonly identityFrom: 'uri-san' | 'cn';
}

/** Bounds the file a witness will load: more groups than this is a configuration mistake. */
export const MAX_DECLARED_GROUPS = 100_000;

export function loadGroupsFile(path: string, context: GroupsFileContext): DeclaredGroups {
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(path, 'utf8'));
  } catch (error) {
    throw new GroupsFileError(`${path}: ${(error as Error).message}`);
  }
  const at = (where: string, message: string): GroupsFileError => new GroupsFileError(`${path}: ${where}: ${message}`);
  if (!isRecord(parsed) || !Array.isArray(parsed.groups)) throw at('groups', 'must be a list of groups');
  onlyKeys(parsed, ['groups'], '', at);
  if (parsed.groups.length > MAX_DECLARED_GROUPS) throw at('groups', `must hold at most ${MAX_DECLARED_GROUPS}`);
  const groups = new Map<string, DeclaredGroup>();
  parsed.groups.forEach((entry: unknown, i: number) => {
    const where = `groups[${i}]`;
    if (!isRecord(entry)) throw at(where, 'must be a mapping with group and members');
    onlyKeys(entry, ['group', 'keyFile', 'members'], where, at);
    const group = id(entry.group, `${where}.group`, at);
    if (groups.has(group)) throw at(`${where}.group`, `group ${group} is declared twice`);
    let key: string | undefined;
    if (entry.keyFile !== undefined) {
      if (typeof entry.keyFile !== 'string' || entry.keyFile === '') throw at(`${where}.keyFile`, 'must be a path');
      try {
        key = readSecretFile(entry.keyFile);
      } catch (error) {
        if (error instanceof SecretFileError) throw at(`${where}.keyFile`, error.message);
        throw error;
      }
    }
    groups.set(group, { key, members: members(entry.members, group, `${where}.members`, context, at) });
  });
  return groups;
}

function members(
  value: unknown,
  group: string,
  where: string,
  context: GroupsFileContext,
  at: (where: string, message: string) => GroupsFileError,
): Map<string, DeclaredMember> {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_NODES_PER_GROUP) {
    throw at(where, `must list 1 to ${MAX_NODES_PER_GROUP} members`);
  }
  const result = new Map<string, DeclaredMember>();
  value.forEach((entry: unknown, i: number) => {
    const here = `${where}[${i}]`;
    if (!isRecord(entry)) throw at(here, 'must be a mapping with node and role');
    onlyKeys(entry, ['node', 'role', 'identity'], here, at);
    const node = id(entry.node, `${here}.node`, at);
    if (result.has(node)) throw at(`${here}.node`, `node ${node} is listed twice`);
    if (entry.role !== 'primary' && entry.role !== 'secondary')
      throw at(`${here}.role`, 'must be primary or secondary');
    if (entry.identity !== undefined && (typeof entry.identity !== 'string' || entry.identity === '')) {
      throw at(`${here}.identity`, 'must be a SPIFFE id or a certificate CN');
    }
    const identity =
      (entry.identity as string | undefined) ??
      (context.identityFrom === 'cn' ? nodeCommonName(group, node) : nodeSpiffeId(context.trustDomain, group, node));
    result.set(node, { role: entry.role, identity });
  });
  const roles = [...result.values()].map((m) => m.role);
  if (roles.length === 2 && roles[0] === roles[1]) throw at(where, `a group has one primary and one secondary`);
  return result;
}

function id(value: unknown, where: string, at: (where: string, message: string) => GroupsFileError): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw at(where, `must be ${ID_RULE}`);
  return value;
}

function onlyKeys(
  record: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
  at: (where: string, message: string) => GroupsFileError,
): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key))
      throw at(where === '' ? key : `${where}.${key}`, `unknown key (allowed: ${allowed.join(', ')})`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
