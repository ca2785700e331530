/**
 * WitnessEndpoints (src/sidecar/witness-endpoints.ts), the ordered `--witness` list, with the
 * clock passed in: the order is kept, same-zone endpoints come first (stable within each part),
 * `failed()` walks the list and wraps, `probeDue(now)` names the first endpoint only while a later
 * one is in use and at most once per probe period, and `preferredAnswered()` moves back to the first.
 */
import { expect } from 'chai';
import type { WitnessEndpoint } from '../../src/sidecar/sidecar-options';
import { WitnessEndpoints } from '../../src/sidecar/witness-endpoints';

const PROBE_MS = 1000;

function ep(address: string, zone = ''): WitnessEndpoint {
  return { address, zone };
}

function addresses(list: readonly WitnessEndpoint[]): string[] {
  return list.map((e) => e.address);
}

/** The addresses `current` names over `steps` calls of failed() (the first one before any call). */
function walk(endpoints: WitnessEndpoints, steps: number): string[] {
  const seen = [endpoints.current.address];
  for (let k = 0; k < steps; k += 1) {
    endpoints.failed();
    seen.push(endpoints.current.address);
  }
  return seen;
}

describe('WitnessEndpoints (the ordered --witness list)', () => {
  describe('order', () => {
    it('refuses an empty list', () => {
      expect(() => new WitnessEndpoints([], '', PROBE_MS, 0)).to.throw(/at least one witness endpoint/);
    });

    it('keeps the order given when the sidecar has no zone, and starts on the first', () => {
      const list = [ep('w1:1', 'dc2'), ep('w2:2'), ep('w3:3', 'dc1'), ep('w4:4', 'dc2')];
      const endpoints = new WitnessEndpoints(list, '', PROBE_MS, 0);
      expect(addresses(endpoints.all)).to.deep.equal(['w1:1', 'w2:2', 'w3:3', 'w4:4']);
      expect(endpoints.current.address).to.equal('w1:1');
    });

    it('keeps the order given when no endpoint is in the sidecar zone', () => {
      const list = [ep('w1:1', 'dc1'), ep('w2:2'), ep('w3:3', 'dc3')];
      const endpoints = new WitnessEndpoints(list, 'dc2', PROBE_MS, 0);
      expect(addresses(endpoints.all)).to.deep.equal(['w1:1', 'w2:2', 'w3:3']);
      expect(endpoints.current.address).to.equal('w1:1');
    });

    it('puts same-zone endpoints first, each part in the order given (stable)', () => {
      const list = [
        ep('w1:1', 'dc1'),
        ep('w2:2', 'dc2'),
        ep('w3:3'),
        ep('w4:4', 'dc2'),
        ep('w5:5', 'dc1'),
        ep('w6:6', 'dc2'),
      ];
      const endpoints = new WitnessEndpoints(list, 'dc2', PROBE_MS, 0);
      expect(addresses(endpoints.all)).to.deep.equal(['w2:2', 'w4:4', 'w6:6', 'w1:1', 'w3:3', 'w5:5']);
      expect(endpoints.current.address).to.equal('w2:2');
    });

    it('does not treat an unlabelled endpoint as in the zone of a sidecar without a zone', () => {
      const list = [ep('w1:1', 'dc1'), ep('w2:2', '')];
      const endpoints = new WitnessEndpoints(list, '', PROBE_MS, 0);
      expect(addresses(endpoints.all)).to.deep.equal(['w1:1', 'w2:2']);
    });

    it('matches zones exactly (no prefix or case folding)', () => {
      const list = [ep('w1:1', 'DC2'), ep('w2:2', 'dc2a'), ep('w3:3', 'dc2')];
      const endpoints = new WitnessEndpoints(list, 'dc2', PROBE_MS, 0);
      expect(addresses(endpoints.all)).to.deep.equal(['w3:3', 'w1:1', 'w2:2']);
    });

    it('does not change the list it was given', () => {
      const list = [ep('w1:1', 'dc1'), ep('w2:2', 'dc2')];
      const copy = list.map((e) => ({ ...e }));
      new WitnessEndpoints(list, 'dc2', PROBE_MS, 0);
      expect(list).to.deep.equal(copy);
    });
  });

  describe('failed()', () => {
    it('walks the list in order and wraps around to the first', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2'), ep('w3:3')], '', PROBE_MS, 0);
      expect(walk(endpoints, 7)).to.deep.equal(['w1:1', 'w2:2', 'w3:3', 'w1:1', 'w2:2', 'w3:3', 'w1:1', 'w2:2']);
    });

    it('walks the zone-ordered list, not the order given', () => {
      const list = [ep('w1:1', 'dc1'), ep('w2:2', 'dc2'), ep('w3:3', 'dc1')];
      const endpoints = new WitnessEndpoints(list, 'dc2', PROBE_MS, 0);
      expect(walk(endpoints, 3)).to.deep.equal(['w2:2', 'w1:1', 'w3:3', 'w2:2']);
    });

    it('stays on the only endpoint of a one-element list', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1')], '', PROBE_MS, 0);
      expect(walk(endpoints, 3)).to.deep.equal(['w1:1', 'w1:1', 'w1:1', 'w1:1']);
    });
  });

  describe('probeDue(now)', () => {
    it('never probes while the first endpoint is in use, however much time passes', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2')], '', PROBE_MS, 0);
      for (const now of [0, 1, PROBE_MS - 1, PROBE_MS, 10 * PROBE_MS, 1e9]) {
        expect(endpoints.probeDue(now), `at ${now}`).to.equal(undefined);
      }
      expect(endpoints.current.address).to.equal('w1:1');
    });

    it('on a later endpoint, names the first one at most once per probe period', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2'), ep('w3:3')], '', PROBE_MS, 0);
      endpoints.failed();
      expect(endpoints.current.address).to.equal('w2:2');
      expect(endpoints.probeDue(PROBE_MS - 1), 'before one period since the start').to.equal(undefined);
      expect(endpoints.probeDue(PROBE_MS)?.address).to.equal('w1:1');
      // Asked again (every heartbeat asks): nothing until a whole period has passed.
      for (const now of [PROBE_MS, PROBE_MS + 1, PROBE_MS + 500, 2 * PROBE_MS - 1]) {
        expect(endpoints.probeDue(now), `at ${now}`).to.equal(undefined);
      }
      expect(endpoints.probeDue(2 * PROBE_MS)?.address).to.equal('w1:1');
      expect(endpoints.probeDue(2 * PROBE_MS + 10)).to.equal(undefined);
      // The period counts from the last probe actually made, not from a fixed grid.
      expect(endpoints.probeDue(3 * PROBE_MS + 700)?.address).to.equal('w1:1');
      expect(endpoints.probeDue(4 * PROBE_MS + 699)).to.equal(undefined);
      expect(endpoints.probeDue(4 * PROBE_MS + 700)?.address).to.equal('w1:1');
      // Probing does not move the list.
      expect(endpoints.current.address).to.equal('w2:2');
    });

    it('heartbeats every 100 ms for 10 periods on a later endpoint give exactly 10 probes', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2')], '', PROBE_MS, 0);
      endpoints.failed();
      const probes: number[] = [];
      for (let now = 100; now <= 10 * PROBE_MS; now += 100) {
        if (endpoints.probeDue(now) !== undefined) probes.push(now);
      }
      expect(probes).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => k * PROBE_MS));
    });

    it('probes from every later endpoint, including the last', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2'), ep('w3:3')], '', PROBE_MS, 0);
      endpoints.failed();
      endpoints.failed();
      expect(endpoints.current.address).to.equal('w3:3');
      expect(endpoints.probeDue(PROBE_MS)?.address).to.equal('w1:1');
    });

    it('stops probing once failed() wraps around to the first endpoint', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2')], '', PROBE_MS, 0);
      endpoints.failed();
      endpoints.failed();
      expect(endpoints.current.address).to.equal('w1:1');
      expect(endpoints.probeDue(5 * PROBE_MS)).to.equal(undefined);
    });

    it('probes the first endpoint of the zone order (the preferred one), not the first given', () => {
      const list = [ep('w1:1', 'dc1'), ep('w2:2', 'dc2')];
      const endpoints = new WitnessEndpoints(list, 'dc2', PROBE_MS, 0);
      endpoints.failed();
      expect(endpoints.current.address).to.equal('w1:1');
      expect(endpoints.probeDue(PROBE_MS)?.address).to.equal('w2:2');
    });

    it('counts the first period from the time passed to the constructor (an injected clock)', () => {
      const start = 5_000_000;
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2')], '', PROBE_MS, start);
      endpoints.failed();
      expect(endpoints.probeDue(start + PROBE_MS - 1)).to.equal(undefined);
      expect(endpoints.probeDue(start + PROBE_MS)?.address).to.equal('w1:1');
    });

    it('after a move to a later endpoint, the first probe comes within one probe period', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2')], '', PROBE_MS, 0);
      const movedAt = 7 * PROBE_MS + 300; // long after the start: no probe was made before
      endpoints.failed();
      let firstProbe: number | undefined;
      for (let now = movedAt; now <= movedAt + PROBE_MS; now += 100) {
        if (endpoints.probeDue(now) !== undefined) {
          firstProbe = now;
          break;
        }
      }
      expect(firstProbe, 'a probe within one period of the move').to.not.equal(undefined);
    });

    it('uses the configured probe period', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2')], '', 30_000, 0);
      endpoints.failed();
      expect(endpoints.probeDue(29_999)).to.equal(undefined);
      expect(endpoints.probeDue(30_000)?.address).to.equal('w1:1');
      expect(endpoints.probeDue(59_999)).to.equal(undefined);
      expect(endpoints.probeDue(60_000)?.address).to.equal('w1:1');
    });
  });

  describe('preferredAnswered()', () => {
    it('moves back to the first endpoint from any later one', () => {
      for (const failures of [1, 2, 3]) {
        const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2'), ep('w3:3'), ep('w4:4')], '', PROBE_MS, 0);
        for (let k = 0; k < failures; k += 1) endpoints.failed();
        expect(endpoints.current.address).to.not.equal('w1:1');
        endpoints.preferredAnswered();
        expect(endpoints.current.address, `after ${failures} failure(s)`).to.equal('w1:1');
      }
    });

    it('moves back to the same-zone endpoint that comes first', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1', 'dc1'), ep('w2:2', 'dc2')], 'dc2', PROBE_MS, 0);
      endpoints.failed();
      endpoints.preferredAnswered();
      expect(endpoints.current.address).to.equal('w2:2');
    });

    it('is harmless on the first endpoint', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2')], '', PROBE_MS, 0);
      endpoints.preferredAnswered();
      expect(endpoints.current.address).to.equal('w1:1');
      expect(walk(endpoints, 2)).to.deep.equal(['w1:1', 'w2:2', 'w1:1']);
    });

    it('a full cycle: fail over, probe, move back, no probing on the first, fail over again, walk on', () => {
      const endpoints = new WitnessEndpoints([ep('w1:1'), ep('w2:2'), ep('w3:3')], '', PROBE_MS, 0);
      endpoints.failed(); // w1 stopped answering
      expect(endpoints.current.address).to.equal('w2:2');
      const probe = endpoints.probeDue(PROBE_MS);
      expect(probe?.address).to.equal('w1:1');
      endpoints.preferredAnswered();
      expect(endpoints.current.address).to.equal('w1:1');
      expect(endpoints.probeDue(10 * PROBE_MS)).to.equal(undefined);
      endpoints.failed(); // w1 fails again: walk on from the start of the list
      expect(endpoints.current.address).to.equal('w2:2');
      endpoints.failed(); // w2 fails as well
      expect(endpoints.current.address).to.equal('w3:3');
      expect(endpoints.probeDue(11 * PROBE_MS)?.address).to.equal('w1:1');
      expect(endpoints.probeDue(11 * PROBE_MS + 1)).to.equal(undefined);
    });
  });
});
