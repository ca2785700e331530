/**
 * Seams through which a test swaps in a deliberately broken variant (they live only in test/sim).
 * The simulator itself always runs the production cores and the correct shell.
 */
import type { CoreFactory } from '../sidecar/sidecar-runtime-parts';
import type { ArbiterConfig } from '../core/witness/arbiter-config';
import type { Plan } from './plan';

export interface SimHooks {
  /** The witness's configuration, from the one the schedule drew. */
  readonly arbiterConfig?: (drawn: ArbiterConfig, plan: Plan) => ArbiterConfig;
  /** A new sidecar core for the production runtime (at start and at every sidecar restart). */
  readonly createSidecar?: CoreFactory;
  /** A broken witness shell: it sends the answer first and makes the decision durable after. */
  readonly answerBeforePersist?: boolean;
}

export const PRODUCTION: SimHooks = {};
