/**
 * A simulator that cannot fail proves nothing: each deliberately broken variant (test/sim/
 * variants.ts; they exist only here) must be caught within a bounded number of schedules. A
 * schedule catches a variant when the variant shows a violation that the production cores do not
 * show in the same schedule (so a violation of the production cores is never credited to it).
 *
 * The schedules are drawn without operators' requests (switchover, maintenance): those came later,
 * from streams of their own, so these are the schedules the bounds were set on. With them, the
 * runtime variants are caught later (runtime-never-wakes first at schedule 8,272 instead of 1,433):
 * a schedule whose nodes spend stretches in maintenance or handing over loses the active node to
 * a double loss less often. The operator paths have mutants of their own in the mutation run
 * (src/sim/mutants/). Whole-machine freezes (machine-freeze) came later too, and are left out for
 * the same reason, except for the variant only they can show: a refusal of a running epoch.
 */
import { expect } from 'chai';
import { replayCommand } from '../../src/sim/main';
import { FAULT_KINDS, FREEZE_KINDS, OPERATOR_KINDS } from '../../src/sim/plan';
import { scheduleSeed } from '../../src/sim/prng';
import { runSchedule } from '../../src/sim/run';
import type { ScheduleResult } from '../../src/sim/simulation';
import { loadPatched, withPatchedBuild } from '../support/patched-build';
import { VARIANTS } from './variants';

const MASTER_SEED = 1;
const FAULTS = FAULT_KINDS.filter((kind) => !OPERATOR_KINDS.has(kind) && !FREEZE_KINDS.has(kind));
const WITH_FREEZES = FAULT_KINDS.filter((kind) => !OPERATOR_KINDS.has(kind));
type Faults = readonly (typeof FAULT_KINDS)[number][];

function keys(result: ScheduleResult): Set<string> {
  return new Set(result.violations.map((v) => `${v.kind}/${v.sub}`));
}

/** Index of the first schedule (of at most `bound`) where the variant shows a violation of one of `kinds` that production does not. */
function firstCatch(
  name: string,
  bound: number,
  kinds: readonly string[],
  faults: Faults,
): { index: number; seed: number; what: string } | undefined {
  const PLAN_OPTIONS = { planOptions: { allowFaults: new Set(faults) } };
  const variant = VARIANTS[name];
  if (variant === undefined) throw new Error(`no variant ${name}`);
  // A broken shell is changed code: the simulator of a patched copy runs it.
  const search = (run: typeof runSchedule): { index: number; seed: number; what: string } | undefined => {
    for (let index = 0; index < bound; index += 1) {
      const seed = scheduleSeed(MASTER_SEED, index);
      const broken = keys(run(seed, { ...PLAN_OPTIONS, hooks: variant.hooks }).result);
      const relevant = [...broken].filter((k) => kinds.includes(k));
      if (relevant.length === 0) continue;
      const production = keys(runSchedule(seed, PLAN_OPTIONS).result);
      const only = relevant.filter((k) => !production.has(k));
      if (only.length > 0) return { index, seed, what: only.join(', ') };
    }
    return undefined;
  };
  if (variant.patches === undefined) return search(runSchedule);
  return withPatchedBuild(variant.patches, (root) =>
    search(loadPatched<{ runSchedule: typeof runSchedule }>(root, 'src/sim/run.js').runSchedule),
  );
}

const CASES: readonly { name: string; bound: number; kinds: readonly string[]; faults?: Faults }[] = [
  { name: 'witness-no-drift-margin', bound: 10000, kinds: ['S1/two-running'] },
  { name: 'runs-on-expired-peer-lease', bound: 100, kinds: ['S1/two-running'] },
  // The planned hand-over (design §9.5): L3 must see a SIGTERM that stops nothing.
  { name: 'ignores-sigterm', bound: 100, kinds: ['liveness/ran-on-after-told-to-stop'] },
  { name: 'answer-before-persist', bound: 10000, kinds: ['S2/not-above-earlier', 'S1/two-running'] },
  // Witness replicas over etcd (design §20.2): a deposed leader that still renews its holder.
  { name: 'replica-decides-past-election-lease', bound: 3000, kinds: ['S1/two-running'] },
  // SAFETY 1 in the library form, where no watchdog backs the runtime's own wake-up at the deadline.
  { name: 'runtime-never-wakes', bound: 3000, kinds: ['S1/two-running'] },
  { name: 'runtime-feeds-watchdog-late', bound: 3000, kinds: ['S1/two-running'] },
  // A frozen VM whose clock stopped resumes believing its leases run: only the witness's refusal
  // of its superseded epoch stops it before its deadline (design §14).
  {
    name: 'ignores-witness-refusal',
    bound: 300,
    kinds: ['liveness/ran-on-after-told-to-stop', 'S1/stale-run-outlived'],
    faults: WITH_FREEZES,
  },
];

describe('simulator: deliberately broken variants are caught', function () {
  this.timeout(120_000);

  for (const c of CASES) {
    it(`${c.name} (${VARIANTS[c.name]?.description ?? ''}): caught within ${c.bound} schedules`, () => {
      const faults = c.faults ?? FAULTS;
      const caught = firstCatch(c.name, c.bound, c.kinds, faults);
      expect(caught, `${c.name} survived ${c.bound} schedules`).to.not.equal(undefined);
      if (caught !== undefined) {
        process.stdout.write(
          `      caught at schedule ${caught.index} (${caught.what}): ` +
            (VARIANTS[c.name]?.patches === undefined
              ? `${replayCommand(caught.seed, 'dist/test/sim/variants.js', c.name, faults)}\n`
              : `seed ${caught.seed} of a patched build\n`),
        );
      }
    });
  }
});
