/**
 * The witness core as the operator tests drive it (design §9.6, §9.7): an arbiter whose writes
 * are instant, a primary P and a secondary S of group G heard past the start-up grace with P
 * holding, and the requests those tests make.
 */
import { expect } from 'chai';
import { generationFromWallClock } from '../../src/core/epoch';
import type { Arbiter } from '../../src/core/witness/arbiter';
import type { ArbiterConfig } from '../../src/core/witness/arbiter-config';
import { ArbitrationError } from '../../src/core/witness/errors';
import type { Decision, DurableGroup } from '../../src/core/witness/types';
import { InstantWriteArbiter } from './instant-write-arbiter';

export const CONFIG: ArbiterConfig = { bounds: { rho: 0.01, marginMs: 10 }, defaultLeaseMs: 1000, maxLeaseMs: 5000 };
/** The start-up grace: maxLease * (1 + rho) + margin. */
export const GRACE = 5060;
export const T0 = 1_000_000;
export const GEN0 = generationFromWallClock(1_700_000_000_000);
export const G = 'g';
export const P = 'p';
export const S = 's';

export const hb = (a: Arbiter, node: string, now: number, held = 0n): Decision =>
  a.heartbeat(
    { group: G, node, role: node === P ? 'primary' : 'secondary', heldEpoch: held, knownEpoch: held, leaseMs: 0 },
    now,
  );
export const acq = (a: Arbiter, node: string, now: number, known = 0n): Decision =>
  a.acquire({ group: G, node, knownEpoch: known, leaseMs: 0 }, now);

/** Past the grace, both nodes heard at `t`, the primary holding epoch `e` granted at `t`. */
export function withHolder(records: readonly DurableGroup[] = []): { a: Arbiter; t: number; e: bigint } {
  const a = new InstantWriteArbiter(CONFIG, { now: T0, generation: GEN0, records });
  const t = T0 + GRACE;
  hb(a, P, t);
  hb(a, S, t);
  const granted = acq(a, P, t);
  expect(granted.answer.verdict).to.equal('granted');
  return { a, t, e: granted.answer.epoch };
}

/** The ArbitrationError `fn` throws, as kind, field and message. */
export function refusal(fn: () => unknown): { kind: string; field: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(ArbitrationError);
    const e = error as ArbitrationError;
    return { kind: e.kind, field: e.field, message: e.message };
  }
  throw new Error('expected an ArbitrationError');
}
