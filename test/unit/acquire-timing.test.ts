/**
 * The Acquire's deadline (src/sidecar/acquire-timing.ts; issue 8, item 6): the time after which a
 * grant it brings could not be used, not the peer timeout. With a slow witness disk, a grant that
 * arrives after the timeout but while still usable must be waited for.
 */
import { expect } from 'chai';
import { SidecarCore } from '../../src/core/sidecar/sidecar-core';
import { stopBudget, usableLeaseMs } from '../../src/core/sidecar/timing';
import type { SidecarSettings, WitnessAnswer } from '../../src/core/sidecar/types';
import { acquireDeadlineMs, acquireIsSlow, SLOW_ACQUIRE_SHARE } from '../../src/sidecar/acquire-timing';

function settings(overrides: Partial<SidecarSettings> = {}): SidecarSettings {
  return {
    group: 'g',
    node: 'a',
    role: 'secondary',
    mode: 'standard',
    heartbeatMs: 100,
    timeoutMs: 500,
    leaseMs: 2000,
    peerLeaseMs: 2000,
    stopTimeoutMs: 300,
    failback: 'manual',
    failbackDelayMs: 30_000,
    maxRestarts: 3,
    restartBackoffMs: 100,
    failureCooldownMs: 60_000,
    bounds: { rho: 0.01, marginMs: 50 },
    ...overrides,
  };
}

const granted = (leaseMs: number): WitnessAnswer => ({
  verdict: 'granted',
  holder: 'a',
  epoch: 5n,
  leaseMs,
  retryAfterMs: 0,
  handOver: false,
  maintenance: false,
});

/** A standby core that has just decided to acquire (peer silent, witness heard); the send time. */
function acquiringCore(s: SidecarSettings): { core: SidecarCore; sentAt: number } {
  const core = new SidecarCore(s, 0);
  // After the restart quiet period (one peer lease), and the peer silent for longer than a timeout.
  const sentAt = Math.ceil(s.peerLeaseMs * (1 + s.bounds.rho) + s.bounds.marginMs) + 10;
  const acknowledged: WitnessAnswer = {
    verdict: 'acknowledged',
    holder: '',
    epoch: 0n,
    leaseMs: 0,
    retryAfterMs: 0,
    handOver: false,
    maintenance: false,
  };
  core.onWitnessHeartbeatAnswer(sentAt - 5, 0n, acknowledged, sentAt - 1);
  expect(core.decide(sentAt).map((a) => a.kind)).to.deep.equal(['acquire']);
  return { core, sentAt };
}

describe('Acquire deadline', () => {
  it('is the usable lease: lease*(1-rho) less the stop budget, whole milliseconds', () => {
    const s = settings();
    expect(acquireDeadlineMs(s)).to.equal(Math.floor(2000 * 0.99 - stopBudget(s)));
    expect(acquireDeadlineMs(s)).to.equal(Math.floor(usableLeaseMs(s, s.leaseMs)));
  });

  it('is longer than the peer timeout when the lease allows (lease 2s, timeout 500ms: about 1.5 s)', () => {
    expect(acquireDeadlineMs(settings())).to.be.within(1500, 1540);
  });

  it('ends where the core stops using a grant: answered before it starts the workload, after it releases', () => {
    const s = settings();
    const deadline = acquireDeadlineMs(s);
    const early = acquiringCore(s);
    early.core.onAcquireAnswer(early.sentAt, granted(s.leaseMs), early.sentAt + deadline - 1);
    expect(early.core.decide(early.sentAt + deadline - 1).map((a) => a.kind)).to.deep.equal(['start']);

    const late = acquiringCore(s);
    late.core.onAcquireAnswer(late.sentAt, granted(s.leaseMs), late.sentAt + deadline + 1);
    const actions = late.core.decide(late.sentAt + deadline + 1);
    expect(actions.map((a) => [a.kind, a.why])).to.deep.equal([
      ['release', 'grant of epoch 5 arrived too late to use'],
    ]);
  });

  it(`counts an answer as slow past ${SLOW_ACQUIRE_SHARE * 100}% of the lease`, () => {
    const s = settings();
    expect([acquireIsSlow(s, 500), acquireIsSlow(s, 501)]).to.deep.equal([false, true]);
  });
});
