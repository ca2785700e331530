/**
 * SidecarCore.nextWakeAt(now): the earliest clock reading after `now` at which decide() could act
 * otherwise with no new input. Checked over random simulated histories (after every decide() the
 * simulator's shell makes, copies of the core decide at readings between `now` and the wake, and
 * must do nothing), over random simple-mode histories, and on the cases that carry safety: a
 * running node wakes exactly at its stop deadline.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { grantorHoldEnd } from '../../src/core/lease';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import type {
  Action,
  EpochRecordAtStart,
  PeerState,
  SidecarSettings,
  WitnessAnswer,
} from '../../src/core/sidecar/types';
import { firstReadingReaching } from '../../src/core/sidecar/wake-times';
import { scheduleSeed } from '../../src/sim/prng';
import { runSchedule } from '../../src/sim/run';
import { TEST_SIDECAR_SETTINGS } from '../support/sidecar-settings';
import { peerState } from '../support/sidecar-test-settings';

const SCHEDULES = 300;
const MASTER_SEED = 0x3a4e;

/** A copy to try a decision on: decide() changes the core, and the real one must not change. */
function copyOf(core: SidecarCore): SidecarCore {
  return Object.assign(Object.create(SidecarCore.prototype) as SidecarCore, core);
}

/** One representable step (or two) below `t`. */
const justBefore = (t: number): number => t - Math.max(Math.abs(t) * 2 ** -52, Number.MIN_VALUE);

/** Readings strictly between `now` and `wake` to try. */
function readingsBefore(now: number, wake: number): number[] {
  if (wake === Number.POSITIVE_INFINITY) return [now + 1, now + 1e3, now + 1e5, now + 1e8];
  return [now + (wake - now) * 0.25, now + (wake - now) * 0.5, now + (wake - now) * 0.999, justBefore(wake)].filter(
    (t) => t > now && t < wake,
  );
}

interface Finding {
  readonly now: number;
  readonly wake: number;
  readonly at: number;
  readonly actions: Action[];
}

/** Checks nextWakeAt after every decide the shell makes. */
class WakeCheckingCore extends SidecarCore {
  constructor(
    settings: SidecarSettings,
    now: number,
    private readonly findings: Finding[],
    private readonly counts: { decisions: number; finiteWakes: number },
    recorded?: EpochRecordAtStart,
  ) {
    super(settings, now, recorded);
  }

  override decide(now: number): Action[] {
    const actions = super.decide(now);
    const wake = this.nextWakeAt(now);
    this.counts.decisions += 1;
    if (Number.isFinite(wake)) this.counts.finiteWakes += 1;
    if (!(wake > now)) this.findings.push({ now, wake, at: Number.NaN, actions: [] });
    const view = this.view(now);
    const deadline = this.stopDeadline();
    if ((view.workload === 'running' || view.workload === 'starting') && deadline > now && wake !== deadline) {
      this.findings.push({ now, wake, at: deadline, actions: [] });
    }
    for (const at of readingsBefore(now, wake)) {
      const acted = copyOf(this).decide(at);
      if (acted.length > 0) this.findings.push({ now, wake, at, actions: acted });
    }
    return actions;
  }
}

const settings = (overrides: Partial<SidecarSettings> = {}): SidecarSettings => ({
  ...TEST_SIDECAR_SETTINGS,
  node: 'p',
  role: 'primary',
  ...overrides,
});

function answer(verdict: WitnessAnswer['verdict'], holder: string, epoch: bigint, leaseMs = 0): WitnessAnswer {
  return { verdict, holder, epoch, leaseMs, retryAfterMs: 0, handOver: false, maintenance: false };
}

function peer(workload: PeerState['workload'], epoch: bigint, role: PeerState['role'] = 'secondary'): PeerState {
  return peerState(role === 'primary' ? 'p' : 's', workload, epoch);
}

describe('SidecarCore.nextWakeAt', function () {
  this.timeout(60_000);

  it(`in ${SCHEDULES} simulated schedules, no decide() between a decision and its wake acts, and a running node wakes at its deadline`, () => {
    const findings: Finding[] = [];
    const counts = { decisions: 0, finiteWakes: 0 };
    for (let i = 0; i < SCHEDULES; i += 1) {
      const { result } = runSchedule(scheduleSeed(MASTER_SEED, i), {
        hooks: { createSidecar: (s, now, recorded) => new WakeCheckingCore(s, now, findings, counts, recorded) },
      });
      expect(result.violations, `schedule ${i}`).to.deep.equal([]);
    }
    expect(findings.slice(0, 5)).to.deep.equal([]);
    expect(counts.finiteWakes, 'decisions with something due').to.be.greaterThan(counts.decisions / 2);
  });

  it('a running node wakes exactly at its stop deadline, and stops then', () => {
    const core = new SidecarCore(settings(), 0);
    core.onWitnessHeartbeatAnswer(1100, 0n, answer('acknowledged', '', 0n), 1100);
    core.onPeerHeartbeat(peer('stopped', 0n), 1100);
    expect(core.decide(1100).map((a) => a.kind)).to.deep.equal(['acquire']);
    core.onAcquireAnswer(1100, answer('granted', 'p', 5n, 1000), 1101);
    expect(core.decide(1101).map((a) => a.kind)).to.deep.equal(['start']);
    core.onWorkload('running', 1110);
    const deadline = core.stopDeadline();
    expect(core.nextWakeAt(1110)).to.equal(deadline);
    expect(core.decide(justBefore(deadline))).to.deep.equal([]);
    expect(core.decide(deadline).map((a) => a.rule)).to.deep.equal(['stop-lost-peer-and-witness']);
    // Stopping: nothing is due until the supervisor reports the stop.
    expect(core.nextWakeAt(deadline)).to.equal(Number.POSITIVE_INFINITY);
  });

  it('a standby that lost both sides long ago, with nothing in flight, has nothing due', () => {
    const s = settings({ node: 's', role: 'secondary' });
    const core = new SidecarCore(s, 0);
    core.onWitnessHeartbeatAnswer(100, 0n, answer('acknowledged', '', 0n), 100);
    core.onPeerHeartbeat(peer('stopped', 0n, 'primary'), 100);
    expect(core.decide(100)).to.deep.equal([]);
    const quietEnds = grantorHoldEnd(0, s.peerLeaseMs, s.bounds);
    expect(core.nextWakeAt(100)).to.equal(quietEnds);
    expect(core.decide(quietEnds)).to.deep.equal([]);
    expect(core.nextWakeAt(quietEnds)).to.equal(firstReadingReaching(100, s.timeoutMs));
    expect(core.decide(5000)).to.deep.equal([]);
    expect(core.view(5000).lastRule).to.equal('stay-stopped-nobody-confirms');
    expect(core.nextWakeAt(5000)).to.equal(Number.POSITIVE_INFINITY);
  });

  it('a standby facing a silent peer wakes when the silence reaches the timeout, then when its promise ends, and asks then', () => {
    const s = settings({ node: 's', role: 'secondary' });
    const core = new SidecarCore(s, 0);
    expect(core.onPeerHeartbeat(peer('running', 4n, 'primary'), 1900).leaseMs).to.equal(s.peerLeaseMs);
    core.onWitnessHeartbeatAnswer(2850, 0n, answer('acknowledged', 'p', 4n), 2850);
    expect(core.decide(2850)).to.deep.equal([]);
    const silence = core.nextWakeAt(2850);
    expect(silence).to.equal(firstReadingReaching(1900, s.timeoutMs));
    expect(core.decide(justBefore(silence))).to.deep.equal([]);
    expect(core.decide(silence)).to.deep.equal([]);
    const promiseEnds = core.nextWakeAt(silence);
    expect(promiseEnds).to.equal(grantorHoldEnd(1900, s.peerLeaseMs, s.bounds));
    expect(core.decide(justBefore(promiseEnds))).to.deep.equal([]);
    expect(core.decide(promiseEnds).map((a) => a.rule)).to.deep.equal(['acquire-peer-gone']);
  });

  it('simple mode: over random histories, no decide() before the wake acts', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('peer' as const), dt: fc.integer({ min: 0, max: 1500 }) }),
      fc.record({ kind: fc.constant('exit' as const), dt: fc.integer({ min: 0, max: 1500 }) }),
      fc.record({ kind: fc.constant('running' as const), dt: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant('idle' as const), dt: fc.double({ min: 0, max: 3000, noNaN: true }) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('primary' as const, 'secondary' as const),
        fc.array(event, { maxLength: 40 }),
        (role, events) => {
          const core = new SidecarCore(settings({ mode: 'simple', role, node: role === 'primary' ? 'p' : 's' }), 0);
          let now = 0;
          for (const e of events) {
            now += e.dt;
            if (e.kind === 'peer')
              core.onPeerHeartbeat(peer('stopped', 0n, role === 'primary' ? 'secondary' : 'primary'), now);
            if (e.kind === 'exit') core.onWorkload('stopped', now, true);
            if (e.kind === 'running') core.onWorkload('running', now);
            core.decide(now);
            const wake = core.nextWakeAt(now);
            expect(wake).to.be.greaterThan(now);
            for (const at of readingsBefore(now, wake)) expect(copyOf(core).decide(at), `at ${at}`).to.deep.equal([]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('firstReadingReaching is the first reading whose distance from `since` reaches the duration', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e9, max: 1e12, noNaN: true }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        (since, duration) => {
          const t = firstReadingReaching(since, duration);
          expect(t - since >= duration).to.equal(true);
          expect(justBefore(t) - since < duration || justBefore(t) === t).to.equal(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
