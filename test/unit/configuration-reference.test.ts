/**
 * docs/configuration.md is what `npm run docs:config` writes from the schemas today, and each
 * command's `--help` (the built CLI, a real process) lists exactly the options its section does.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import { REFERENCE_FILE, renderConfigurationReference } from '../../src/cli/configuration-reference';
import { runCli } from '../support/cli-run';

const STALE = 'docs/configuration.md is out of date: run `npm run docs:config` and commit the result';

/** The commands `witness --help` lists under "Commands:" (help itself has no section). */
function listedCommands(usage: string): string[] {
  const list = usage.slice(usage.indexOf('Commands:\n'), usage.indexOf('\n\n', usage.indexOf('Commands:\n')));
  return [...list.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1] as string).filter((name) => name !== 'help');
}

/** The flags a help text lists, one per option line (`  --name VALUE`), in order. */
const flagsOf = (help: string): string[] => [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1] as string);

/** The help text in the reference's section `## witness NAME`. */
function section(reference: string, name: string): string {
  const start = reference.indexOf(`\n## witness ${name}\n`);
  expect(start, `no section "## witness ${name}" in docs/configuration.md`).to.be.at.least(0);
  const end = reference.indexOf('\n## ', start + 1);
  return reference.slice(start, end < 0 ? undefined : end);
}

function helpOf(args: readonly string[]): string {
  const run = runCli(args);
  expect(run.code, `witness ${args.join(' ')}: ${run.stderr}`).to.equal(0);
  return run.stdout;
}

describe('configuration reference (docs/configuration.md)', function () {
  // Each command's help is a real process; on a busy machine one takes a second or more.
  this.timeout(120_000);
  const committed = fs.readFileSync(REFERENCE_FILE, 'utf8');

  it('is what the schemas render today', () => {
    expect(committed === renderConfigurationReference(), STALE).to.equal(true);
  });

  it("has a section for every command witness --help lists, and each lists the options of the command's --help", () => {
    const commands = listedCommands(helpOf(['--help']));
    expect(commands).to.include.members(['serve', 'sidecar', 'status', 'events', 'switchover', 'failback', 'demo']);
    for (const name of commands) {
      const flags = flagsOf(helpOf([name, '--help']));
      expect(flagsOf(section(committed, name)), `witness ${name}: ${STALE}`).to.deep.equal(flags);
    }
  });
});
