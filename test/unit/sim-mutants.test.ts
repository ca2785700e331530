/**
 * The mutation run's runner (src/sim/mutants/): a mutant known to be caught within a few
 * schedules is reported caught, and a snippet that does not match its source exactly once is an
 * error, never a mutant silently not tried. The whole run is `npm run sim:mutants`.
 */
import { expect } from 'chai';
import { applyMutant, type Mutant } from '../../src/sim/mutants/mutant';
import { MUTANTS } from '../../src/sim/mutants/mutant-list';
import { exitCodeOf, runMutants, snippetProblems } from '../../src/sim/mutants/run-mutants';

const QUICK_BUDGET = 200;

function mutant(id: string): Mutant {
  const found = MUTANTS.find((m) => m.id === id);
  if (found === undefined) throw new Error(`no mutant ${id} in the list`);
  return found;
}

describe('mutation run: the runner', function () {
  this.timeout(120_000);

  it('every snippet of the list matches its source exactly once', () => {
    expect(snippetProblems(MUTANTS), 'retarget these in src/sim/mutants/').to.deep.equal([]);
  });

  it('reports a mutant that the swarm catches within a few schedules as caught', async () => {
    const results = await runMutants({
      mutants: [mutant('grant-over-live-holder')],
      budget: QUICK_BUDGET,
      seed: 1,
      jobs: 1,
      timeoutMs: 100_000,
      noRegressions: true,
    });
    const [result] = results;
    expect(result?.status, result?.problem).to.equal('caught');
    expect(result?.caught?.kind).to.equal('S1');
    expect(result?.schedules).to.be.within(1, QUICK_BUDGET);
    expect(exitCodeOf(results)).to.equal(0);
  });

  it('runs the regression schedules first: one catches a mutant the swarm takes 200,000 schedules to find', async () => {
    const results = await runMutants({
      mutants: [mutant('caller-known-superseded-renewed')],
      budget: 1,
      seed: 1,
      jobs: 1,
      timeoutMs: 100_000,
    });
    const [result] = results;
    expect(result?.status, result?.problem).to.equal('caught');
    expect(result?.caught?.regression).to.match(/finding 16/);
    expect(result?.caught?.seed).to.equal(0x032c47a5);
    expect(result?.schedules).to.equal(0);
  });

  it('reports a snippet found no time, or twice, as an error and builds nothing', async () => {
    const gone: Mutant = {
      id: 'gone',
      file: 'src/core/lease.ts',
      edits: [{ find: 'text that is not in the file', replace: '' }],
      description: 'a snippet the code no longer has',
    };
    const twice: Mutant = {
      id: 'twice',
      file: 'src/core/lease.ts',
      edits: [{ find: 'export function', replace: 'function' }],
      description: 'a snippet found more than once',
    };
    const results = await runMutants({ mutants: [gone, twice], budget: 1, seed: 1, jobs: 2, timeoutMs: 10_000 });
    expect(results.map((r) => r.status)).to.deep.equal(['no-match', 'no-match']);
    expect(results[0]?.problem).to.match(/found 0 times/);
    expect(results[1]?.problem).to.match(/found [2-9] times/);
    expect(exitCodeOf(results)).to.equal(2);
    expect(snippetProblems([gone])).to.have.length(1);
  });

  it('applies every edit of a mutant, in order', () => {
    const applied = applyMutant('a b a', {
      id: 'x',
      file: 'src/core/x.ts',
      edits: [
        { find: 'a b', replace: 'c' },
        { find: 'c a', replace: 'd' },
      ],
      description: '',
    });
    expect(applied).to.deep.equal({ ok: true, text: 'd' });
  });
});
