/**
 * Property tests of the pair: random deliveries, losses, delays, crashes, witness restarts and time
 * steps; the harness checks S1 and S2 at every start (design §3.1, §3.2), and that every fault
 * healed leaves exactly one workload running.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { settingsProblems } from '../../src/core/sidecar/timing';
import type { SidecarSettings } from '../../src/core/sidecar/types';
import { Harness } from '../support/sidecar-harness';
import { settings, type NodeId, type Party } from '../support/sidecar-test-settings';

describe('sidecar core', () => {
  describe('property: random deliveries, losses, delays and time steps', () => {
    type LinkMode = 'ok' | 'down' | 'slow' | 'lossy';
    type Op =
      | { readonly kind: 'none' }
      | { readonly kind: 'link'; readonly link: number; readonly mode: LinkMode }
      | { readonly kind: 'isolate'; readonly party: Party }
      | { readonly kind: 'heal' }
      | { readonly kind: 'exit'; readonly node: NodeId }
      | { readonly kind: 'crash'; readonly node: NodeId }
      | { readonly kind: 'witness-restart'; readonly wipe: boolean };
    interface Step {
      readonly dt: number;
      readonly op: Op;
    }
    const LINKS: readonly (readonly [Party, Party])[] = [
      ['p', 's'],
      ['s', 'p'],
      ['p', 'w'],
      ['w', 'p'],
      ['s', 'w'],
      ['w', 's'],
    ];
    const CONFIGS: readonly (readonly [string, Partial<SidecarSettings>])[] = [
      ['defaults', {}],
      ['timeout < peer lease', { timeoutMs: 300 }],
      [
        'long lease, short peer lease, manual fail-back',
        { leaseMs: 1500, peerLeaseMs: 800, timeoutMs: 500, failback: 'manual' },
      ],
      ['no drift bound, no margin', { bounds: { rho: 0, marginMs: 0 }, stopTimeoutMs: 300 }],
      [
        'just three heartbeats of slack, short timeout',
        { bounds: { rho: 0, marginMs: 0 }, stopTimeoutMs: 290, timeoutMs: 200 },
      ],
      ['timeout longer than the leases, immediate fail-back', { timeoutMs: 2500, failbackDelayMs: 0 }],
      [
        'peer lease much longer than the lease',
        { leaseMs: 800, peerLeaseMs: 3000, timeoutMs: 250, restartBackoffMs: 300, maxRestarts: 4 },
      ],
      [
        'large drift bound',
        { bounds: { rho: 0.05, marginMs: 25 }, leaseMs: 1200, peerLeaseMs: 700, timeoutMs: 400, failbackDelayMs: 100 },
      ],
    ];
    it('every configuration used here passes settingsProblems', () => {
      for (const [name, config] of CONFIGS) expect(settingsProblems(settings('p', config)), name).to.deep.equal([]);
    });

    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.constant<Op>({ kind: 'none' }) },
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('link' as const),
          link: fc.integer({ min: 0, max: 5 }),
          mode: fc.constantFrom<LinkMode>('ok', 'down', 'slow', 'lossy'),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('isolate' as const), party: fc.constantFrom<Party>('p', 's', 'w') }),
      },
      { weight: 3, arbitrary: fc.constant<Op>({ kind: 'heal' }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('exit' as const), node: fc.constantFrom<NodeId>('p', 's') }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('crash' as const), node: fc.constantFrom<NodeId>('p', 's') }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('witness-restart' as const), wipe: fc.boolean() }) },
    );
    const stepArb: fc.Arbitrary<Step> = fc.record({
      dt: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 150, max: 2500 })),
      op: opArb,
    });

    /** A small deterministic PRNG for per-message fates (the seed is part of the counterexample). */
    function prng(seed: number): () => number {
      let x = seed | 0 || 1;
      return () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) / 4294967296;
      };
    }

    function runHistory(
      config: Partial<SidecarSettings>,
      seed: number,
      steps: readonly Step[],
      enforceDeadlines: boolean,
      drift = false,
    ): Harness {
      const random = prng(seed);
      const modes = new Map<string, LinkMode>();
      const s0 = settings('s', config);
      // Clock rates within the configured bound: often at either edge, sometimes in between.
      const rate = (): number => {
        const { rho } = s0.bounds;
        const x = random();
        return x < 0.35 ? 1 - rho : x < 0.7 ? 1 + rho : 1 - rho + 2 * rho * random();
      };
      const h = new Harness({
        rates: drift ? { p: rate(), s: rate(), w: rate() } : undefined,
        p: config,
        s: config,
        arbiterStartAt: 0,
        startDelay: () => Math.floor(random() * 80),
        // Half the stops take the whole stop timeout (SIGKILL), the others less.
        stopDelay: () => (random() < 0.5 ? s0.stopTimeoutMs : Math.floor(random() * (s0.stopTimeoutMs + 1))),
        enforceDeadlines,
        // A call the witness rejects (unknown group after a wipe, ...) comes back after 1 ms, as a
        // real call would; the harness reports a livelock if a node retries without time passing.
        errorLatencyMs: 1,
        fate: (from, to) => {
          switch (modes.get(`${from}>${to}`) ?? 'ok') {
            case 'ok':
              return 0;
            case 'down':
              return 'drop';
            case 'slow':
              return Math.floor(random() * 1500);
            case 'lossy':
              return random() < 0.5 ? 'drop' : Math.floor(random() * 60);
          }
        },
      });
      const crashed = new Set<NodeId>();
      for (const { dt, op } of steps) {
        switch (op.kind) {
          case 'none':
            break;
          case 'link': {
            const [a, b] = LINKS[op.link] as readonly [Party, Party];
            modes.set(`${a}>${b}`, op.mode);
            break;
          }
          case 'isolate':
            for (const [a, b] of LINKS) if (a === op.party || b === op.party) modes.set(`${a}>${b}`, 'down');
            break;
          case 'heal':
            modes.clear();
            for (const n of crashed) h.startSidecar(n);
            crashed.clear();
            break;
          case 'exit':
            h.exit(op.node);
            break;
          case 'crash':
            if (!crashed.has(op.node) && h.sidecarUp(op.node)) {
              h.crash(op.node);
              crashed.add(op.node);
            }
            break;
          case 'witness-restart':
            h.restartWitness(op.wipe);
            break;
        }
        h.runUntil(h.now + dt);
      }
      // Every fault heals: crashed sidecars come back, every link works again.
      modes.clear();
      for (const n of crashed) h.startSidecar(n);
      return h;
    }

    it('never runs both workloads at once, and every start carries a higher epoch (except a restart after an exit)', function () {
      this.timeout(20_000);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: CONFIGS.length - 1 }),
          fc.integer({ min: 1, max: 0x7fffffff }),
          fc.boolean(),
          fc.array(stepArb, { minLength: 5, maxLength: 40, size: 'max' }),
          (config, seed, deadlines, steps) => {
            runHistory((CONFIGS[config] as readonly [string, Partial<SidecarSettings>])[1], seed, steps, deadlines);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('with clock rates off by up to rho (each party its own), still never both, epochs still rising', function () {
      this.timeout(20_000);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: CONFIGS.length - 1 }),
          fc.integer({ min: 1, max: 0x7fffffff }),
          fc.boolean(),
          fc.array(stepArb, { minLength: 5, maxLength: 40, size: 'max' }),
          (config, seed, deadlines, steps) => {
            runHistory(
              (CONFIGS[config] as readonly [string, Partial<SidecarSettings>])[1],
              seed,
              steps,
              deadlines,
              true,
            );
          },
        ),
        { numRuns: 200 },
      );
    });

    it('once every fault has healed, exactly one workload runs within 12 s and keeps running', function () {
      this.timeout(20_000);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: CONFIGS.length - 1 }),
          fc.integer({ min: 1, max: 0x7fffffff }),
          fc.array(stepArb, { minLength: 5, maxLength: 30, size: 'max' }),
          (config, seed, steps) => {
            const h = runHistory(
              (CONFIGS[config] as readonly [string, Partial<SidecarSettings>])[1],
              seed,
              steps,
              true,
            );
            const healedAt = h.now;
            h.runUntil(healedAt + 12_000);
            const runningAt12 = (['p', 's'] as const).filter((n) => h.running(n));
            expect(runningAt12, `running 12 s after healing at ${healedAt}\n${h.tail()}`).to.have.length(1);
            const [active] = runningAt12 as [NodeId];
            const epoch = h.core(active).view(h.now).epoch;
            const stopsBefore = h.log.filter((e) => e.kind === 'stop').length;
            h.runUntil(healedAt + 20_000);
            expect(h.log.filter((e) => e.kind === 'stop').length, `stops after settling\n${h.tail()}`).to.equal(
              stopsBefore,
            );
            expect(h.core(active).view(h.now)).to.include({ workload: 'running', epoch });
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
