/**
 * The check of the sidecar's settings at start: settings under which the core's arithmetic does
 * not hold (a lease shorter than the stop) are refused before anything runs.
 */
import { settingsProblems } from '../core/sidecar/timing';
import type { SidecarSettings } from '../core/sidecar/types';

export class SidecarConfigError extends Error {}

/** Refuses settings under which the core's arithmetic does not hold (a lease shorter than the stop). */
export function requireWorkableSettings(settings: SidecarSettings): void {
  const problems = settingsProblems(settings);
  if (problems.length > 0) throw new SidecarConfigError(problems.join('; '));
}
