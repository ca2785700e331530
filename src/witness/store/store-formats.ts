/**
 * The witness store's files as text, one format each, read back strictly: a file that does not
 * parse, names the wrong group, or fails its checksum is a StoreCorruptError naming it.
 *
 *   store.json   {format, generation, longestLeaseMs, createdAt, groups, checksum} (format 1, without
 *                longestLeaseMs and groups, is still read)
 *   g-<id>.json  {group, holder, epoch, [maintenance, switchoverEpoch, [failback,] [removed,]] checksum}
 *                (operators' intent, design §9.6, §9.7, only when set; a record without it keeps
 *                the first form, one without a fail-back policy or removed nodes the older ones)
 */
import { createHash } from 'node:crypto';
import { generationOf, MAX_EPOCH } from '../../core/epoch';
import { ID_PATTERN } from '../../core/ids';
import type { DurableGroup, FailbackPolicy } from '../../core/witness/types';
import { StoreCorruptError } from './witness-store';

const FORMAT = 2;
/** The highest generation a store may have: its epochs must stay below 2^63. */
export const LAST_GENERATION = generationOf(MAX_EPOCH);
// Same alphabet as the request validator; repeated so the store does not depend on the wire layer.
const DECIMAL = /^(0|[1-9][0-9]*)$/;

export function formatGroup(record: DurableGroup): string {
  if (!ID_PATTERN.test(record.group)) throw new Error(`invalid group id ${JSON.stringify(record.group)}`);
  if (record.epoch < 0n || record.epoch > MAX_EPOCH) throw new Error(`epoch ${record.epoch} is out of range`);
  const epoch = record.epoch.toString();
  const { group, holder } = record;
  const removed = [...(record.removed ?? [])].sort();
  if (
    record.maintenance === undefined &&
    record.switchoverEpoch === undefined &&
    record.failback === undefined &&
    removed.length === 0
  ) {
    return JSON.stringify({ group, holder, epoch, checksum: groupChecksum(group, holder, epoch) });
  }
  const maintenance = [...(record.maintenance ?? [])].sort();
  if (![...maintenance, ...removed].every((n) => ID_PATTERN.test(n)))
    throw new Error(`invalid node id in the intent of ${group}`);
  const switchoverEpoch = (record.switchoverEpoch ?? 0n).toString();
  const { failback } = record;
  const checksum = intentChecksum(group, holder, epoch, maintenance, switchoverEpoch, failback, removed);
  return JSON.stringify({
    group,
    holder,
    epoch,
    maintenance,
    switchoverEpoch,
    ...(failback ? { failback } : {}),
    ...(removed.length > 0 ? { removed } : {}),
    checksum,
  });
}

export function formatMeta(meta: Omit<StoredMeta, 'groups'> & { readonly groups: readonly string[] }): string {
  const groups = [...meta.groups].sort();
  const generation = meta.generation.toString();
  const { longestLeaseMs, createdAt } = meta;
  const checksum = metaChecksum(generation, longestLeaseMs, createdAt, groups);
  return JSON.stringify({ format: FORMAT, generation, longestLeaseMs, createdAt, groups, checksum });
}

// The tag keeps a group record's checksum from ever validating as store metadata, and back.
function groupChecksum(group: string, holder: string, epoch: string): string {
  return sha256(JSON.stringify(['group/1', group, holder, epoch]));
}

function intentChecksum(
  group: string,
  holder: string,
  epoch: string,
  maintenance: readonly string[],
  switchoverEpoch: string,
  failback: FailbackPolicy | undefined,
  removed: readonly string[],
): string {
  if (removed.length > 0)
    return sha256(
      JSON.stringify(['group/4', group, holder, epoch, maintenance, switchoverEpoch, failback ?? null, removed]),
    );
  if (failback === undefined)
    return sha256(JSON.stringify(['group/2', group, holder, epoch, maintenance, switchoverEpoch]));
  return sha256(JSON.stringify(['group/3', group, holder, epoch, maintenance, switchoverEpoch, failback]));
}

function metaChecksum(
  generation: string,
  longestLeaseMs: number,
  createdAt: string,
  groups: readonly string[],
): string {
  return sha256(JSON.stringify(['store/2', generation, longestLeaseMs, createdAt, groups]));
}

/** Format 1 (before the high-water mark): a generation and its creation time only. */
function metaChecksumV1(generation: string, createdAt: string): string {
  return sha256(JSON.stringify(['store/1', 1, generation, createdAt]));
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface StoredMeta {
  readonly generation: bigint;
  readonly longestLeaseMs: number;
  readonly createdAt: string;
  /** undefined for a format-1 store, which did not list its groups. */
  readonly groups: readonly string[] | undefined;
}

export function parseMeta(path: string, text: string): StoredMeta {
  const fields = parseObject(path, text);
  const { format, generation, createdAt, checksum } = fields;
  if (format !== 1 && format !== FORMAT) throw new StoreCorruptError(path, `unknown format ${JSON.stringify(format)}`);
  if (typeof generation !== 'string' || !DECIMAL.test(generation))
    throw new StoreCorruptError(path, 'generation is not a decimal integer');
  if (typeof createdAt !== 'string') throw new StoreCorruptError(path, 'createdAt is missing');
  if (BigInt(generation) > LAST_GENERATION)
    throw new StoreCorruptError(path, `generation ${generation} is out of range`);
  if (format === 1) {
    if (checksum !== metaChecksumV1(generation, createdAt)) throw new StoreCorruptError(path, 'checksum mismatch');
    return { generation: BigInt(generation), longestLeaseMs: 0, createdAt, groups: undefined };
  }
  const { longestLeaseMs, groups } = fields;
  if (typeof longestLeaseMs !== 'number' || !Number.isSafeInteger(longestLeaseMs) || longestLeaseMs < 0)
    throw new StoreCorruptError(path, 'longestLeaseMs is not a non-negative integer');
  if (!Array.isArray(groups) || !groups.every((g): g is string => typeof g === 'string' && ID_PATTERN.test(g)))
    throw new StoreCorruptError(path, 'groups is not a list of group ids');
  if (checksum !== metaChecksum(generation, longestLeaseMs, createdAt, groups))
    throw new StoreCorruptError(path, 'checksum mismatch');
  return { generation: BigInt(generation), longestLeaseMs, createdAt, groups };
}

export function parseGroup(path: string, nameFromFile: string, text: string): DurableGroup {
  const fields = parseObject(path, text);
  const { group, holder, epoch, checksum } = fields;
  if (typeof group !== 'string' || !ID_PATTERN.test(group))
    throw new StoreCorruptError(path, 'group is missing or invalid');
  if (group !== nameFromFile)
    throw new StoreCorruptError(path, `holds group ${JSON.stringify(group)}, not ${JSON.stringify(nameFromFile)}`);
  if (typeof holder !== 'string') throw new StoreCorruptError(path, 'holder is missing');
  if (typeof epoch !== 'string' || !DECIMAL.test(epoch) || BigInt(epoch) > MAX_EPOCH) {
    throw new StoreCorruptError(path, `epoch ${JSON.stringify(epoch)} is not an integer in [0, 2^63)`);
  }
  if (
    !('maintenance' in fields) &&
    !('switchoverEpoch' in fields) &&
    !('failback' in fields) &&
    !('removed' in fields)
  ) {
    if (checksum !== groupChecksum(group, holder, epoch)) throw new StoreCorruptError(path, 'checksum mismatch');
    return { group, holder, epoch: BigInt(epoch) };
  }
  const { maintenance, switchoverEpoch, failback } = fields;
  const removed = fields.removed ?? [];
  if (!isNodeList(removed) || ('removed' in fields && removed.length === 0))
    throw new StoreCorruptError(path, 'removed is not a non-empty list of node ids');
  if (failback !== undefined && failback !== 'auto' && failback !== 'manual')
    throw new StoreCorruptError(path, 'failback is neither auto nor manual');
  if (!isNodeList(maintenance)) throw new StoreCorruptError(path, 'maintenance is not a list of node ids');
  if (typeof switchoverEpoch !== 'string' || !DECIMAL.test(switchoverEpoch) || BigInt(switchoverEpoch) > MAX_EPOCH)
    throw new StoreCorruptError(path, 'switchoverEpoch is not an integer in [0, 2^63)');
  if (checksum !== intentChecksum(group, holder, epoch, maintenance, switchoverEpoch, failback, removed))
    throw new StoreCorruptError(path, 'checksum mismatch');
  const policy = failback as FailbackPolicy | undefined;
  const intent = {
    maintenance,
    switchoverEpoch: BigInt(switchoverEpoch),
    ...(policy ? { failback: policy } : {}),
    ...(removed.length > 0 ? { removed } : {}),
  };
  return { group, holder, epoch: BigInt(epoch), ...intent };
}

function isNodeList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((n): n is string => typeof n === 'string' && ID_PATTERN.test(n));
}

function parseObject(path: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreCorruptError(path, 'not valid JSON (torn write?)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new StoreCorruptError(path, 'not a JSON object');
  return value as Record<string, unknown>;
}
