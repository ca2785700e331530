/**
 * The figures a scrape reports about all groups at once (design §19.2), counted from the arbiter's
 * read-only pages. At 20,000 groups one pass takes milliseconds; it is split into pages with a
 * turn of the event loop between them, so a scrape never holds back a heartbeat by more than one
 * page. Concurrent collectors of one scrape share one pass.
 */
import type { Arbiter } from '../core/witness/arbiter';

export interface CensusFigures {
  readonly groups: number;
  readonly nodes: number;
  /** Groups whose holder's lease is still live at the witness. */
  readonly held: number;
  readonly nodesInMaintenance: number;
  readonly nodesRemoved: number;
  readonly switchoversPending: number;
  /** The least lease left among held groups, in ms; NaN when none is held. */
  readonly minHolderLeaseMs: number;
}

/** Groups counted per turn of the event loop. */
export const CENSUS_PAGE = 1_000;
/** A pass this recent answers a further collector (the gauges of one scrape ask one by one). */
const REUSE_MS = 1_000;

export class GroupCensus {
  private pass: { readonly startedAt: number; readonly figures: Promise<CensusFigures> } | undefined;

  constructor(
    private readonly arbiter: Arbiter,
    private readonly now: () => number,
  ) {}

  figures(): Promise<CensusFigures> {
    const now = this.now();
    if (this.pass === undefined || now - this.pass.startedAt > REUSE_MS) {
      this.pass = { startedAt: now, figures: this.count() };
    }
    return this.pass.figures;
  }

  private async count(): Promise<CensusFigures> {
    let groups = 0;
    let nodes = 0;
    let held = 0;
    let nodesInMaintenance = 0;
    let nodesRemoved = 0;
    let switchoversPending = 0;
    let minHolderLeaseMs = Number.POSITIVE_INFINITY;
    let after = '';
    for (;;) {
      const page = this.arbiter.list(this.now(), after, CENSUS_PAGE);
      for (const group of page.groups) {
        groups += 1;
        nodes += group.nodes.length;
        nodesInMaintenance += group.nodes.filter((n) => n.maintenance).length;
        nodesRemoved += group.removed.length;
        if (group.switchoverEpoch !== 0n) switchoversPending += 1;
        if (group.holder !== '' && group.holderLeaseRemainingMs > 0) {
          held += 1;
          minHolderLeaseMs = Math.min(minHolderLeaseMs, group.holderLeaseRemainingMs);
        }
      }
      const last = page.groups[page.groups.length - 1];
      if (!page.more || last === undefined) break;
      after = last.group;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return {
      groups,
      nodes,
      held,
      nodesInMaintenance,
      nodesRemoved,
      switchoversPending,
      minHolderLeaseMs: held === 0 ? Number.NaN : minHolderLeaseMs,
    };
  }
}
