/**
 * The group names in order, kept sorted as groups come and go, so that a ListGroups page costs its
 * own size (a binary search and a slice), not a sort of every group (design §17.6).
 */
export class SortedNames {
  private readonly names: string[] = [];

  get size(): number {
    return this.names.length;
  }

  add(name: string): void {
    const at = this.lowerBound(name);
    if (this.names[at] !== name) this.names.splice(at, 0, name);
  }

  delete(name: string): void {
    const at = this.lowerBound(name);
    if (this.names[at] === name) this.names.splice(at, 1);
  }

  /** Up to `limit` names after `after` ('' for the first page), and whether more follow. */
  page(after: string, limit: number): { names: string[]; more: boolean } {
    const start = after === '' ? 0 : this.upperBound(after);
    const names = this.names.slice(start, start + limit);
    return { names, more: start + names.length < this.names.length };
  }

  /** The first index whose name is not below `name`. */
  private lowerBound(name: string): number {
    let lo = 0;
    let hi = this.names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.names[mid] as string) < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first index whose name is above `name`. */
  private upperBound(name: string): number {
    let lo = 0;
    let hi = this.names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.names[mid] as string) <= name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
