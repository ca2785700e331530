/**
 * What a sidecar configuration implies for time (src/core/sidecar/timing.ts; design §8.2, §11
 * and the configuration check): the stop budget, the configurations refused because
 * one late answer would stop a healthy workload, and the failover bound printed at start.
 */
import { expect } from 'chai';
import {
  failoverBoundMs,
  HEARTBEATS_OF_SLACK,
  KILL_SETTLE_MS,
  settingsProblems,
  stopBudget,
  usableLeaseMs,
  witnessHeartbeatMs,
} from '../../src/core/sidecar/timing';
import type { SidecarSettings } from '../../src/core/sidecar/types';

function settings(overrides: Partial<SidecarSettings> = {}): SidecarSettings {
  return {
    group: 'g',
    node: 'a',
    role: 'primary',
    mode: 'standard',
    heartbeatMs: 100,
    timeoutMs: 1000,
    leaseMs: 1000,
    peerLeaseMs: 1000,
    stopTimeoutMs: 200,
    failback: 'auto',
    failbackDelayMs: 30_000,
    maxRestarts: 3,
    restartBackoffMs: 100,
    failureCooldownMs: 60_000,
    bounds: { rho: 0.01, marginMs: 10 },
    ...overrides,
  };
}

describe('sidecar timing', () => {
  describe('stopBudget', () => {
    it('is the stop timeout, the time to reap after SIGKILL, and the margin', () => {
      expect(KILL_SETTLE_MS).to.equal(100);
      expect(stopBudget(settings())).to.equal(200 + 100 + 10);
      expect(stopBudget(settings({ stopTimeoutMs: 5000, bounds: { rho: 0.05, marginMs: 25 } }))).to.equal(5125);
      expect(stopBudget(settings({ stopTimeoutMs: 0, bounds: { rho: 0, marginMs: 0 } }))).to.equal(KILL_SETTLE_MS);
    });
  });

  describe('settingsProblems', () => {
    it('accepts the defaults design §11 uses (L = Lp = timeout = 1 s, 100 ms heartbeat)', () => {
      expect(settingsProblems(settings())).to.deep.equal([]);
    });

    it('accepts a lease that leaves exactly three heartbeats and refuses one a millisecond shorter', () => {
      // rho = 0 keeps the arithmetic exact: budget 310, 3 heartbeats 300, so the boundary is 610.
      const exact = { bounds: { rho: 0, marginMs: 10 } };
      expect(HEARTBEATS_OF_SLACK).to.equal(3);
      expect(settingsProblems(settings({ ...exact, leaseMs: 610, peerLeaseMs: 610 }))).to.deep.equal([]);
      const problems = settingsProblems(settings({ ...exact, leaseMs: 609, peerLeaseMs: 610 }));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(/^lease 609ms leaves 299ms/);
    });

    it('counts the lease shortened by the drift bound: L*(1-rho) - stopBudget < 3*heartbeat is refused', () => {
      // 617 * 0.99 = 610.8 - 310 = 300.8 >= 300; 616 * 0.99 = 609.8 - 310 = 299.8 < 300.
      expect(settingsProblems(settings({ leaseMs: 617, peerLeaseMs: 617 }))).to.deep.equal([]);
      const problems = settingsProblems(settings({ leaseMs: 616, peerLeaseMs: 617 }));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.contain('lease 616ms leaves 299ms');
    });

    it('refuses a too short lease and names the values to change', () => {
      const problems = settingsProblems(settings({ leaseMs: 500, stopTimeoutMs: 200, heartbeatMs: 100 }));
      expect(problems).to.have.length(1);
      const [problem] = problems;
      expect(problem).to.contain('lease 500ms');
      expect(problem).to.contain('stop-timeout 200ms');
      expect(problem).to.contain('margin 10ms');
      expect(problem).to.contain('300ms'); // three heartbeats
      expect(problem).to.contain('raise lease');
      expect(problem).to.contain('lower stop-timeout or heartbeat');
    });

    it('refuses a too short peer lease, separately, naming peer-lease', () => {
      const problems = settingsProblems(settings({ peerLeaseMs: 400 }));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(/^peer-lease 400ms/);
      expect(problems[0]).to.contain('raise peer-lease');
    });

    it('reports both leases when both are too short', () => {
      const problems = settingsProblems(settings({ leaseMs: 2000, peerLeaseMs: 2000, stopTimeoutMs: 1900 }));
      expect(problems.map((p) => p.split(' ')[0])).to.deep.equal(['lease', 'peer-lease']);
    });

    it('refuses a stop timeout that does not fit in the lease at all', () => {
      const problems = settingsProblems(settings({ stopTimeoutMs: 5000 }));
      expect(problems).to.have.length(2);
      expect(problems[0]).to.contain('stop-timeout 5000ms');
    });

    it('refuses a slow heartbeat against the lease', () => {
      const problems = settingsProblems(settings({ heartbeatMs: 250, timeoutMs: 1000 }));
      expect(problems).to.have.length(2);
      expect(problems[0]).to.contain('750ms');
    });

    it('refuses a timeout under two heartbeats', () => {
      const problems = settingsProblems(settings({ timeoutMs: 150 }));
      expect(problems).to.have.length(1);
      expect(problems[0]).to.contain('timeout 150ms');
      expect(problems[0]).to.contain('raise timeout');
    });

    it('does not check leases in simple mode (no leases there), but still checks the timeout', () => {
      expect(settingsProblems(settings({ mode: 'simple', leaseMs: 100, peerLeaseMs: 100 }))).to.deep.equal([]);
      expect(settingsProblems(settings({ mode: 'simple', timeoutMs: 100 }))).to.have.length(1);
    });
  });

  describe('failoverBoundMs', () => {
    it('is max(timeout, Lp(1+rho)+eps, L(1+rho)+eps) plus two heartbeats', () => {
      // L = Lp = timeout = 1 s, rho 1%, eps 10 ms: 1020 + 200.
      expect(failoverBoundMs(settings())).to.equal(1220);
      expect(failoverBoundMs(settings())).to.be.within(1100, 1300); // design §11
    });

    it('follows whichever of the three is longest', () => {
      expect(failoverBoundMs(settings({ timeoutMs: 3000 }))).to.equal(3000 + 200);
      expect(failoverBoundMs(settings({ leaseMs: 2000 }))).to.equal(2000 * 1.01 + 10 + 200);
      expect(failoverBoundMs(settings({ peerLeaseMs: 2500 }))).to.equal(Math.ceil(2500 * 1.01 + 10 + 200));
      expect(failoverBoundMs(settings({ heartbeatMs: 200, timeoutMs: 500 }))).to.equal(1020 + 400);
    });

    it('is a whole number of milliseconds, never below the exact bound', () => {
      const s = settings({ leaseMs: 1001, peerLeaseMs: 999, bounds: { rho: 0.013, marginMs: 7 } });
      const exact = Math.max(s.timeoutMs, 1001 * 1.013 + 7, 999 * 1.013 + 7) + 2 * s.heartbeatMs;
      expect(Number.isInteger(failoverBoundMs(s))).to.equal(true);
      expect(failoverBoundMs(s)).to.be.at.least(exact);
      expect(failoverBoundMs(s) - exact).to.be.below(1);
    });
  });

  describe('witnessHeartbeatMs (design §4.6)', () => {
    it('has a node that may run renew so that three renewals fit in the usable lease, one that runs nothing three times a timeout', () => {
      const s = settings();
      // 1000 * 0.99 - (200 + 100 + 10) = 680 usable: a renewal every 226 ms; 1000 / 3 otherwise.
      expect(usableLeaseMs(s, 1000)).to.equal(680);
      expect(witnessHeartbeatMs(s, 1000)).to.equal(226);
      expect(witnessHeartbeatMs(s, undefined)).to.equal(333);
    });

    it('follows the lease the witness granted: a capped lease renews faster', () => {
      const s = settings({ leaseMs: 3000, timeoutMs: 3000 });
      expect(witnessHeartbeatMs(s, 3000)).to.equal(Math.floor((3000 * 0.99 - 310) / 3));
      expect(witnessHeartbeatMs(s, 1000)).to.equal(226);
    });

    it('is never below --heartbeat, and never above a third of the timeout', () => {
      expect(witnessHeartbeatMs(settings({ heartbeatMs: 300 }), 1000)).to.equal(300);
      expect(witnessHeartbeatMs(settings({ heartbeatMs: 300 }), undefined)).to.equal(333);
      expect(witnessHeartbeatMs(settings({ heartbeatMs: 400 }), undefined)).to.equal(400);
      expect(witnessHeartbeatMs(settings({ leaseMs: 5000 }), 5000)).to.equal(333);
    });
  });
});
