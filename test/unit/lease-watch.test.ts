/** The lease watch (design §18.2): each announcement once per holder and epoch, at its moment. */
import { expect } from 'chai';
import { LeaseWatch, type LeaseWatchEvent } from '../../src/core/witness/lease-watch';
import type { Arbiter } from '../../src/core/witness/arbiter';
import type { HoldingSnapshot } from '../../src/core/witness/types';
import { G, hb, P, S, withHolder } from '../support/operator-arbiter';

const SILENT_AFTER_MS = 300;

function holding(overrides: Partial<HoldingSnapshot> = {}): HoldingSnapshot {
  return { group: 'g1', holder: 'a', epoch: 7n, holdUntil: 1000, heardAt: 0, role: 'primary', ...overrides };
}

/** The holdings as the arbiter hands them over; every one is offered as due, the watch checks. */
function sweep(watch: LeaseWatch, now: number, holdings: HoldingSnapshot[]): LeaseWatchEvent[] {
  return watch.sweep(now, {
    forEachDue: (_now, _silentAfterMs, visit) => holdings.forEach(visit),
    holdingOf: (group) => holdings.find((h) => h.group === group),
  });
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

describe('lease watch over the arbiter (Arbiter.forEachDue, holdingOf)', () => {
  // CONFIG: lease 1000 ms, rho 0.01, margin 10: the witness holds 1020 ms after a renewal.
  const due = (a: Arbiter, now: number, silentAfterMs: number): string[] => {
    const groups: string[] = [];
    a.forEachDue(now, silentAfterMs, (h) => groups.push(`${h.group}:${h.holder}`));
    return groups;
  };

  it('hands over only the holdings whose lease ran out or whose holder is silent', () => {
    const { a, t } = withHolder();
    expect(due(a, t + 299, 300)).to.deep.equal([]);
    expect(due(a, t + 300, 300)).to.deep.equal([`${G}:${P}`]);
    expect(due(a, t + 1019, 0)).to.deep.equal([]);
    expect(due(a, t + 1020, 0)).to.deep.equal([`${G}:${P}`]);
    hb(a, S, t + 1500); // the standby's heartbeats are not the holder's
    expect(due(a, t + 1500, 300)).to.deep.equal([`${G}:${P}`]);
    expect(a.holdingOf(G)).to.include({ holder: P, heardAt: t, holdUntil: t + 1020 });
    expect(a.holdingOf('nobody')).to.equal(undefined);
  });

  it('announces the holder silent, expired and back again, once each', () => {
    const { a, t, e } = withHolder();
    const watch = new LeaseWatch(300);
    const kinds = (now: number): string[] => watch.sweep(now, a).map((event) => event.kind);
    expect(kinds(t + 100)).to.deep.equal([]);
    expect(kinds(t + 400)).to.deep.equal(['holder-silent']);
    expect(kinds(t + 500)).to.deep.equal([]);
    expect(kinds(t + 1100)).to.deep.equal(['lease-expired']);
    expect(kinds(t + 1200)).to.deep.equal([]);
    hb(a, P, t + 1300, e);
    expect(kinds(t + 1300)).to.deep.equal(['holder-returned']);
    expect(kinds(t + 1400)).to.deep.equal([]);
  });
});
