/**
 * The settings and small helpers the sidecar tests share: one group, a witness whose generation
 * comes from a fixed wall clock, the two nodes' settings, and the lease arithmetic as the holder
 * and the grantor count it (design §4.1), spelled out so the tests check the core's sums.
 */
import { epochFloor, generationFromWallClock } from '../../src/core/epoch';
import type { Action, PeerState, SidecarSettings, WitnessAnswer } from '../../src/core/sidecar/types';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import type { LeaseAnswer } from '../../src/core/witness/types';
import { TEST_SIDECAR_SETTINGS } from './sidecar-settings';

export const GROUP = 'g';
export const WALL0 = 1_700_000_000_000;
export const GEN = generationFromWallClock(WALL0);
export const FIRST_EPOCH = epochFloor(GEN) + 1n;

export type NodeId = 'p' | 's';
export type Party = NodeId | 'w';
export const other = (n: NodeId): NodeId => (n === 'p' ? 's' : 'p');

const BASE = { ...TEST_SIDECAR_SETTINGS, group: GROUP } as const;

export function settings(node: NodeId, overrides: Partial<SidecarSettings> = {}): SidecarSettings {
  return { ...BASE, node, role: node === 'p' ? 'primary' : 'secondary', ...overrides };
}

/** A peer lease or witness lease as the holder counts it (lease.ts holderLeaseEnd, same float order). */
export const holderEnd = (sentAt: number, leaseMs: number, s: SidecarSettings): number =>
  sentAt + leaseMs * (1 - s.bounds.rho);
/** A promise or witness hold as the grantor counts it (lease.ts grantorHoldEnd). */
export const grantorEnd = (at: number, leaseMs: number, s: SidecarSettings): number =>
  at + leaseMs * (1 + s.bounds.rho) + s.bounds.marginMs;

export function arbiterConfig(s: SidecarSettings, maxLeaseMs = 2000): ArbiterConfig {
  return { bounds: s.bounds, defaultLeaseMs: s.leaseMs, maxLeaseMs: Math.max(maxLeaseMs, s.leaseMs, s.peerLeaseMs) };
}

/** The witness's answer as the sidecar core takes it. */
export function toCore(a: LeaseAnswer): WitnessAnswer {
  return {
    verdict: a.verdict,
    holder: a.holder,
    epoch: a.epoch,
    leaseMs: a.leaseMs,
    retryAfterMs: a.retryAfterMs,
    handOver: a.handOver,
    maintenance: a.maintenance,
  };
}

export function peerState(
  node: NodeId,
  workload: PeerState['workload'],
  epoch: bigint,
  extra: Partial<PeerState> = {},
): PeerState {
  return {
    node,
    role: node === 'p' ? 'primary' : 'secondary',
    workload,
    epoch,
    knownEpoch: epoch,
    acquiring: false,
    eligible: true,
    handbackRequested: false,
    handingOver: false,
    maintenance: false,
    durableEpochs: false,
    coldStartEpoch: 0n,
    // Unordered (an older sidecar's states) unless a test numbers them.
    incarnation: 0n,
    statement: 0n,
    ...extra,
  };
}

export const kinds = (actions: Action[]): string[] => actions.map((a) => a.kind);
