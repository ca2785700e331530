import { expect } from 'chai';
import { epochFloor, generationFromWallClock, MAX_EPOCH, nextEpoch } from '../../src/core/epoch';

describe('epochs', () => {
  it('a store created later starts above every epoch an earlier store could hand out', () => {
    const earlier = epochFloor(generationFromWallClock(1_700_000_000_000));
    const later = epochFloor(generationFromWallClock(1_700_000_000_010));
    expect(nextEpoch(later, 0n) > earlier + 1_000_000n).to.equal(true);
  });
  it('stays below 2^63 for wall clocks up to the year 2300', () => {
    const year2300 = Date.UTC(2300, 0, 1);
    expect(epochFloor(generationFromWallClock(year2300)) < MAX_EPOCH).to.equal(true);
  });
  it('grants one above the higher of floor and known', () => {
    expect(nextEpoch(10n, 20n)).to.equal(21n);
    expect(nextEpoch(10n, 2n)).to.equal(11n);
  });
});
