/**
 * Long-lived streams (KeepAlive, Watch): so a shutdown can end them instead of waiting forever, and
 * so that each kind stays within its limit (design §17.6): a stream beyond it is refused
 * RESOURCE_EXHAUSTED before it holds anything.
 */
import { WireError } from '../wire/wire-error';

export type StreamKind = 'KeepAlive' | 'Watch';

export interface StreamLimit {
  readonly max: number;
  /** The option that sets it, for the refusal. */
  readonly option: string;
}

export class StreamRegistry {
  private readonly open: Record<StreamKind, Set<() => void>> = { KeepAlive: new Set(), Watch: new Set() };

  constructor(private readonly limits: Readonly<Record<StreamKind, StreamLimit>>) {}

  /** Registers a stream; throws RESOURCE_EXHAUSTED at the limit. Returns the unregister function. */
  add(kind: StreamKind, end: () => void): () => void {
    const open = this.open[kind];
    const { max, option } = this.limits[kind];
    if (open.size >= max) {
      throw new WireError('resource-exhausted', '', `this witness serves at most ${max} ${kind} streams (${option})`);
    }
    open.add(end);
    return () => open.delete(end);
  }

  count(kind: StreamKind): number {
    return this.open[kind].size;
  }

  endAll(): void {
    for (const open of Object.values(this.open)) {
      for (const end of [...open]) end();
      open.clear();
    }
  }
}
