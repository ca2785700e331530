/**
 * The `witness` command's help and its messages for arguments in the wrong place (issue 8, item
 * 12), one assertion per symptom, each running the built CLI as a real process.
 */
import { expect } from 'chai';
import { runCli as witness } from '../support/cli-run';

describe('witness CLI: help and misplaced arguments (real process)', () => {
  it('witness --help: the command list, then the serve options under a heading that says they are serve options', () => {
    const { stdout } = witness(['--help']);
    expect(stdout).to.match(/^Usage: witness <command> \[options\]\n\nCommands:\n/);
    const heading = stdout.indexOf('The witness itself runs as witness serve; its options go after the command:');
    expect(heading, stdout).to.be.greaterThan(stdout.indexOf('Commands:'));
    expect(stdout.indexOf('--data-dir')).to.be.greaterThan(heading);
  });

  it('witness --listen ADDR: exit 2, says the option goes after serve', () => {
    const run = witness(['--listen', '127.0.0.1:50051']);
    expect([run.code, run.stderr]).to.satisfy(
      ([code, stderr]: [number, string]) =>
        code === 2 &&
        stderr.startsWith('witness: --listen is an option, not a command') &&
        stderr.includes('witness serve --listen 127.0.0.1:50051'),
      `exit ${run.code}, stderr:\n${run.stderr}`,
    );
  });

  it('witness tables --help: starts with a Usage line', () => {
    expect(witness(['tables', '--help']).stdout).to.match(/^Usage: witness tables\n/);
  });

  it('witness --help lists demo; witness demo --help starts with a Usage line', () => {
    expect(witness(['--help']).stdout).to.match(/^ {2}demo {4}On this machine/m);
    expect(witness(['demo', '--help']).stdout).to.match(/^Usage: witness demo \[--keep\]\n/);
  });

  it('witness sidecar --help: no stray "Example of a stop budget" fragment', () => {
    expect(witness(['sidecar', '--help']).stdout).not.to.include('Example of a stop budget');
  });

  it('witness sidecar --heartbeat 200 ms: exit 2, shows the joined value and where the workload command goes', () => {
    const run = witness(['sidecar', '--heartbeat', '200', 'ms']);
    expect([run.code, run.stderr]).to.satisfy(
      ([code, stderr]: [number, string]) =>
        code === 2 &&
        stderr.includes('unexpected argument "ms"') &&
        stderr.includes('(write --heartbeat 200ms)') &&
        stderr.includes("the workload's command goes after --") &&
        !stderr.includes('takes only options'),
      `exit ${run.code}, stderr:\n${run.stderr}`,
    );
  });
});
