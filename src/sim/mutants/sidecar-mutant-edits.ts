/**
 * What the sidecar mutants (sidecar-mutants.ts) are made of: the core's files, a row removed, and
 * the invariant assertions that stand behind guards, which a guard's `-unasserted` twin removes
 * too so that the simulator's own checks must catch the behaviour.
 */
import { type Edit, type Mutant, oneEdit } from './mutant';

export const CORE = 'src/core/sidecar/sidecar-core.ts';
export const MEMORY = 'src/core/sidecar/sidecar-memory.ts';
export const WITNESS_SIDE = 'src/core/sidecar/witness-side.ts';
export const HAND_OVER = 'src/core/sidecar/failback-and-hand-over.ts';
export const PEER_SIDE = 'src/core/sidecar/peer-side.ts';
export const STATE = 'src/core/sidecar/sidecar-state.ts';
export const RULES = 'src/core/sidecar/decision-rules.ts';
export const TIMING = 'src/core/sidecar/timing.ts';

/** A row of decision-rules.ts that never holds. */
export function rowRemoved(id: string, condition: string, description: string): Mutant {
  return oneEdit(id, RULES, `when: ${condition},`, 'when: () => false,', description);
}

// The assertions that stand behind guards (sidecar-core.ts, witness-side.ts, sidecar-memory.ts).
const ACQUIRE_ASSERT = "this.workload === 'stopped' && now >= this.promiseUntil && now >= this.quietUntil,";
/** The acquire assertion without one of its two SAFETY 3 terms. */
const acquireAssertWithout = (term: string): Edit => ({
  file: CORE,
  find: ACQUIRE_ASSERT,
  replace: ACQUIRE_ASSERT.replace(term, ''),
});
export const NO_PROMISE_ASSERT = acquireAssertWithout(' && now >= this.promiseUntil');
export const NO_QUIET_ASSERT = acquireAssertWithout(' && now >= this.quietUntil');
export const NO_RELEASE_ASSERT: Edit = {
  file: CORE,
  find: "assert(this.workload === 'stopped', 'a release is sent only once the workload has stopped');",
  replace: '',
};
export const NO_START_PROMISE_ASSERT: Edit = {
  file: CORE,
  find: "assert(now >= this.promiseUntil, 'a start happens with no promise to the peer standing');",
  replace: '',
};
export const NO_GRANT_ASSERTS: Edit = {
  file: WITNESS_SIDE,
  find: 'if (sentAt === this.latestAcquire?.sentAt) {',
  replace: 'if ((false as boolean) && sentAt === this.latestAcquire?.sentAt) {',
};
export const NO_DEADLINE_ASSERT: Edit = {
  file: MEMORY,
  find: "if (this.settings.mode === 'standard' && this.mayBeRunning()) {",
  replace: 'if (false as boolean) {',
};

/** The same mutant with the assertions behind its guard removed too. */
export function unasserted(m: Mutant, ...asserts: readonly Edit[]): Mutant {
  return {
    id: `${m.id}-unasserted`,
    file: m.file,
    edits: [...m.edits, ...asserts],
    description: `${m.description}; and the invariant assertion behind it removed`,
  };
}
