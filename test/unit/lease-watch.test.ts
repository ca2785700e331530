/** The lease watch (design §18.2): each announcement once per holder and epoch, at its moment. */
import { expect } from 'chai';
import { LeaseWatch, type LeaseWatchEvent } from '../../src/core/witness/lease-watch';
import type { HoldingSnapshot } from '../../src/core/witness/types';

const SILENT_AFTER_MS = 300;

function holding(overrides: Partial<HoldingSnapshot> = {}): HoldingSnapshot {
  return { group: 'g1', holder: 'a', epoch: 7n, holdUntil: 1000, heardAt: 0, role: 'primary', ...overrides };
}

function sweep(watch: LeaseWatch, now: number, holdings: HoldingSnapshot[]): LeaseWatchEvent[] {
  return watch.sweep(now, (visit) => holdings.forEach(visit));
}

describe('lease watch', () => {
  it('announces a silent holder once, with the time its lease still runs, then its lease running out once', () => {
    const watch = new LeaseWatch(SILENT_AFTER_MS);
    expect(sweep(watch, 299, [holding()])).to.deep.equal([]);
    const [silent, ...more] = sweep(watch, 300, [holding()]);
    expect(more).to.deep.equal([]);
    expect(silent).to.include({
      kind: 'holder-silent',
      rule: 'holder-silent',
      group: 'g1',
      holder: 'a',
      countdownMs: 700,
    });
    expect(silent!.epoch).to.equal(7n);
    expect(silent!.message).to.match(/primary a has not been heard for 300 ms: takeover in 700 ms/);
    expect(sweep(watch, 600, [holding()])).to.deep.equal([]);
    const [expired] = sweep(watch, 1000, [holding()]);
    expect(expired).to.include({ kind: 'lease-expired', rule: 'holder-lease-ran-out', countdownMs: 0 });
    expect(sweep(watch, 1500, [holding()])).to.deep.equal([]);
  });

  it('a holder heard again under the same epoch ends the countdown (holder-returned), and may be announced again later', () => {
    const watch = new LeaseWatch(SILENT_AFTER_MS);
    expect(sweep(watch, 400, [holding()]).map((e) => e.kind)).to.deep.equal(['holder-silent']);
    const renewed = holding({ heardAt: 450, holdUntil: 1450 });
    expect(sweep(watch, 500, [renewed]).map((e) => e.kind)).to.deep.equal(['holder-returned']);
    expect(sweep(watch, 600, [renewed])).to.deep.equal([]);
    expect(sweep(watch, 750, [renewed]).map((e) => e.kind)).to.deep.equal(['holder-silent']);
  });

  it('a holder whose lease ran out and that renews after all is heard again', () => {
    const watch = new LeaseWatch(SILENT_AFTER_MS);
    expect(sweep(watch, 1200, [holding()]).map((e) => e.kind)).to.deep.equal(['lease-expired']);
    expect(sweep(watch, 1300, [holding({ heardAt: 1250, holdUntil: 2250 })]).map((e) => e.kind)).to.deep.equal([
      'holder-returned',
    ]);
  });

  it('a new holder or epoch starts afresh, and a group nobody holds is forgotten', () => {
    const watch = new LeaseWatch(SILENT_AFTER_MS);
    expect(sweep(watch, 400, [holding()]).map((e) => e.kind)).to.deep.equal(['holder-silent']);
    const granted = holding({ holder: 'b', epoch: 8n, heardAt: 1000, holdUntil: 2000, role: 'secondary' });
    expect(sweep(watch, 1100, [granted])).to.deep.equal([]);
    expect(sweep(watch, 1300, [granted]).map((e) => `${e.kind} ${e.holder}`)).to.deep.equal(['holder-silent b']);
    expect(sweep(watch, 1400, [])).to.deep.equal([]);
    // Held again under the same epoch after being forgotten: no memory of the earlier report.
    expect(sweep(watch, 1500, [granted]).map((e) => e.kind)).to.deep.equal(['holder-silent']);
  });

  it('0 announces no silence, only leases running out; groups are watched independently', () => {
    const watch = new LeaseWatch(0);
    const other = holding({ group: 'g2', holdUntil: 5000, heardAt: 4500 });
    expect(sweep(watch, 900, [holding(), other])).to.deep.equal([]);
    expect(sweep(watch, 1000, [holding(), other]).map((e) => `${e.kind} ${e.group}`)).to.deep.equal([
      'lease-expired g1',
    ]);
  });

  it('a holder not heard since the witness started is named as the holder', () => {
    const watch = new LeaseWatch(SILENT_AFTER_MS);
    const [silent] = sweep(watch, 300, [holding({ role: undefined })]);
    expect(silent!.message).to.match(/^holder a has not been heard/);
  });
});
