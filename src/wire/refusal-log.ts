/**
 * One log line per refused call (who, which method, why), at most one per caller, method and
 * reason every `intervalMs`: an attacker retrying in a loop must not fill the disk or drown the
 * arbitration events. The next line says how many were left out.
 */
import type { Logger } from '../log/logger';
import { describeCaller } from './caller-credentials';
import type { GuardedRequest } from './service-edge';
import type { WireError } from './wire-error';

export const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Bounds the memory of the limiter itself under a flood of distinct callers. */
const MAX_TRACKED = 10_000;

export class RefusalLog {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
  ) {}

  /** A guard refused `call` with `error` (of kind 'unauthenticated' or 'permission-denied'). */
  refused(call: GuardedRequest, error: WireError): void {
    const refusal = {
      caller: describeCaller(call.credentials),
      peer: call.credentials.peer,
      method: `${call.service}/${call.method}`,
      code: error.kind === 'unauthenticated' ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED',
      why: error.message,
    };
    const key = `${refusal.caller}\u0000${refusal.method}\u0000${refusal.why}`;
    const now = this.now();
    const seen = this.lastLogged.get(key);
    if (seen !== undefined && now - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return;
    }
    if (seen === undefined && this.lastLogged.size >= MAX_TRACKED) this.lastLogged.clear();
    const suppressed = seen?.suppressed ?? 0;
    this.lastLogged.set(key, { at: now, suppressed: 0 });
    this.logger.warn({ ...refusal, suppressedSinceLast: suppressed }, 'call refused');
  }
}
