/** The ListGroups index (src/core/witness/sorted-names.ts) against a plain sort, on random operations. */
import { expect } from 'chai';
import { SortedNames } from '../../src/core/witness/sorted-names';
import { Rng } from '../../src/sim/prng';

describe('SortedNames (the ListGroups index)', () => {
  it('pages like a sort of every name, through random adds and deletes', () => {
    const rng = new Rng(7);
    const index = new SortedNames();
    const model = new Set<string>();
    for (let step = 0; step < 5_000; step++) {
      const name = `g${rng.int(400)}`;
      if (rng.int(3) === 0) {
        index.delete(name);
        model.delete(name);
      } else {
        index.add(name);
        model.add(name);
      }
      const sorted = [...model].sort();
      expect(index.size).to.equal(sorted.length);
      const after = rng.int(2) === 0 ? '' : `g${rng.int(400)}`;
      const limit = 1 + rng.int(50);
      const start = after === '' ? 0 : sorted.findIndex((n) => n > after);
      const expected = start < 0 ? [] : sorted.slice(start, start + limit);
      const page = index.page(after, limit);
      expect(page.names).to.deep.equal(expected);
      expect(page.more).to.equal(expected.length > 0 && expected[expected.length - 1] !== sorted[sorted.length - 1]);
    }
  });
});
