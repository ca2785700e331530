/**
 * Invariants of the cores, checked where they must hold. A broken invariant is a bug in the core
 * (or in a shell feeding it impossible inputs), never a condition to recover from: the exception
 * ends the process (the sidecar's watchdog then stops the workload at once) or, in the simulator,
 * the schedule, which reports it as a violation.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'string' ? message : message());
}
