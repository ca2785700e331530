/**
 * A simulator that cannot fail proves nothing: each deliberately broken variant (test/sim/
 * variants.ts; they exist only here) must be caught within a bounded number of schedules. A
 * schedule catches a variant when the variant shows a violation that the production cores do not
 * show in the same schedule (so a violation of the production cores is never credited to it).
 */
import { expect } from 'chai';
import { replayCommand } from '../../src/sim/main';
import { scheduleSeed } from '../../src/sim/prng';
import { runSchedule } from '../../src/sim/run';
import type { ScheduleResult } from '../../src/sim/simulation';
import { VARIANTS } from './variants';

const MASTER_SEED = 1;

function keys(result: ScheduleResult): Set<string> {
  return new Set(result.violations.map((v) => `${v.kind}/${v.sub}`));
}

/** Index of the first schedule (of at most `bound`) where the variant shows a violation of one of `kinds` that production does not. */
function firstCatch(
  name: string,
  bound: number,
  kinds: readonly string[],
): { index: number; seed: number; what: string } | undefined {
  const hooks = VARIANTS[name]?.hooks;
  if (hooks === undefined) throw new Error(`no variant ${name}`);
  for (let index = 0; index < bound; index += 1) {
    const seed = scheduleSeed(MASTER_SEED, index);
    const broken = keys(runSchedule(seed, { hooks }).result);
    const relevant = [...broken].filter((k) => kinds.includes(k));
    if (relevant.length === 0) continue;
    const production = keys(runSchedule(seed).result);
    const only = relevant.filter((k) => !production.has(k));
    if (only.length > 0) return { index, seed, what: only.join(', ') };
  }
  return undefined;
}

const CASES: readonly { name: string; bound: number; kinds: readonly string[] }[] = [
  { name: 'witness-no-drift-margin', bound: 10000, kinds: ['S1/two-running'] },
  { name: 'runs-on-expired-peer-lease', bound: 100, kinds: ['S1/two-running'] },
  { name: 'answer-before-persist', bound: 10000, kinds: ['S2/not-above-earlier', 'S1/two-running'] },
];

describe('simulator: deliberately broken variants are caught', function () {
  this.timeout(120_000);

  for (const c of CASES) {
    it(`${c.name} (${VARIANTS[c.name]?.description ?? ''}): caught within ${c.bound} schedules`, () => {
      const caught = firstCatch(c.name, c.bound, c.kinds);
      expect(caught, `${c.name} survived ${c.bound} schedules`).to.not.equal(undefined);
      if (caught !== undefined) {
        process.stdout.write(
          `      caught at schedule ${caught.index} (${caught.what}): ` +
            `${replayCommand(caught.seed, 'dist/test/sim/variants.js', c.name)}\n`,
        );
      }
    });
  }
});
