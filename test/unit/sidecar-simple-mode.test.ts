/**
 * Simple mode (design §12): no witness, the secondary runs when the primary is silent, with the
 * known split brain.
 */
import { expect } from 'chai';
import { Harness, type LogEntry } from '../support/sidecar-harness';
import { settings } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  const S = settings('s');

  describe('simple mode', () => {
    const simple = { mode: 'simple' as const };

    it('the primary always starts, with no witness and no peer', () => {
      const h = new Harness({ p: simple, s: simple, startAt: { p: 0 }, checkSafety: false });
      h.runUntil(100);
      expect(h.entries('p', 'start').map((e) => e.t)).to.deep.equal([0]);
      expect(h.running('p')).to.equal(true);
    });

    it('the secondary starts when the primary is silent for the timeout and stops when it hears it again', () => {
      const h = new Harness({ p: simple, s: simple, checkSafety: false });
      h.runUntil(3000);
      expect(h.entries('p', 'start')).to.have.length(1);
      expect(h.running('s')).to.equal(false); // (the cold start is checked in the next test)
      const before = h.entries('s', 'start').length;
      h.cutLink('p', 's');
      const cutAt = h.now;
      h.runUntilTrue(() => h.entries('s', 'start').length > before, cutAt + 3000);
      const start = h.entries('s', 'start')[before] as LogEntry;
      const lastHeard = h.lastHeardFrom.p;
      expect(start.t - lastHeard).to.be.at.least(S.timeoutMs);
      expect(start.t - lastHeard).to.be.at.most(S.timeoutMs + S.heartbeatMs);
      expect((start.epoch as bigint) > (h.entries('p', 'start')[0]?.epoch as bigint)).to.equal(true);
      expect(h.running('p')).to.equal(true); // the known split brain of simple mode
      h.healLink('p', 's');
      const healAt = h.now;
      const stops = h.entries('s', 'stop').length;
      h.runUntilTrue(() => h.entries('s', 'stop').length > stops, healAt + 3000);
      expect((h.entries('s', 'stop')[stops] as LogEntry).t - healAt).to.be.at.most(S.heartbeatMs);
      h.runUntil(h.now + 3000);
      expect(h.running('s')).to.equal(false);
      expect(h.running('p')).to.equal(true);
    });

    for (const [what, startAt] of [
      ['both sidecars start together', { p: 0, s: 50 }],
      ['the primary comes up 500 ms after the secondary', { s: 0, p: 500 }],
    ] as const) {
      it(`at cold start the secondary does not run before the primary has been silent for the timeout (${what})`, () => {
        const h = new Harness({ p: simple, s: simple, startAt, checkSafety: false });
        h.runUntil(3000);
        expect(
          h.entries('s', 'start'),
          `the secondary started before it could know the primary is down\n${h.tail()}`,
        ).to.deep.equal([]);
      });
    }

    it('a secondary alone starts once the timeout has passed since its own start', () => {
      const h = new Harness({ p: simple, s: simple, startAt: { s: 0 }, checkSafety: false });
      h.runUntil(3000);
      const starts = h.entries('s', 'start');
      expect(starts.length).to.be.at.least(1);
      expect(starts[starts.length - 1]?.t).to.be.within(S.timeoutMs, S.timeoutMs + S.heartbeatMs);
      expect(h.running('s')).to.equal(true);
    });
  });
});
