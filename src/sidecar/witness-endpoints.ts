/**
 * The ordered witness list, as users of agent-failover products know it: stay on the first
 * endpoint that answers; when the one in use stops answering, walk the list; while on a later
 * one, probe the first periodically and move back when it answers. Same-zone endpoints come first.
 */
import type { WitnessEndpoint } from './sidecar-options';

export class WitnessEndpoints {
  private readonly ordered: readonly WitnessEndpoint[];
  private index = 0;
  private lastProbe: number;

  constructor(
    endpoints: readonly WitnessEndpoint[],
    zone: string,
    private readonly probeEveryMs: number,
    now: number,
  ) {
    if (endpoints.length === 0) throw new Error('at least one witness endpoint is needed in standard mode');
    const sameZone = endpoints.filter((e) => zone !== '' && e.zone === zone);
    const others = endpoints.filter((e) => !(zone !== '' && e.zone === zone));
    this.ordered = [...sameZone, ...others];
    this.lastProbe = now;
  }

  get current(): WitnessEndpoint {
    return this.ordered[this.index] as WitnessEndpoint;
  }

  get all(): readonly WitnessEndpoint[] {
    return this.ordered;
  }

  /** The endpoint in use failed to answer in time: try the next one. */
  failed(): void {
    this.index = (this.index + 1) % this.ordered.length;
  }

  /** On a later endpoint and a probe is due: the preferred endpoint to try, else undefined. */
  probeDue(now: number): WitnessEndpoint | undefined {
    if (this.index === 0 || now - this.lastProbe < this.probeEveryMs) return undefined;
    this.lastProbe = now;
    return this.ordered[0];
  }

  /** The preferred endpoint answered a probe: move back to it. */
  preferredAnswered(): void {
    this.index = 0;
  }
}
