/**
 * Mocha's spec output, then the skipped count, then the one plain line CI reads: `N passed, N failed`.
 * Counts come from the runner's own stats, so the line cannot disagree with the run.
 */
import Mocha from 'mocha';

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const stats = runner.stats;
      const passed = stats?.passes ?? 0;
      const failed = stats?.failures ?? 0;
      const skipped = stats?.pending ?? 0;
      // Registered after Spec's epilogue listener, so this is the run's last line.
      process.stdout.write(`${skipped} skipped\n`);
      process.stdout.write(`${passed} passed, ${failed} failed\n`);
    });
  }
}

export = SummaryReporter;
