/**
 * Every `witness serve` and `witness sidecar` command line in deploy/ (Kubernetes containers, the
 * compose services, the units' ExecStart) uses only flags its `--help` lists, and the program's own
 * loader and start-up checks accept it, with the config file it names (--config) read from the file beside it in
 * deploy/, which the ConfigMap or the install copies there. Config files load through the loader
 * too, so a misspelt key or a bad value fails here, not at a deployment's first start.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadSidecarConfig } from '../../src/config/sidecar-config';
import { toSidecarOptions } from '../../src/config/to-sidecar-options';
import { loadWitnessConfig } from '../../src/config/witness-config';
import { toSettings } from '../../src/sidecar/sidecar-options';
import { requireWorkableSettings } from '../../src/sidecar/workable-settings';
import { type CommandLine, deployCommandLines } from '../support/deploy-command-lines';
import { REPO_ROOT, relative } from '../support/deploy-files';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

const LOADERS: Readonly<Record<string, (argv: string[]) => unknown>> = {
  serve: (argv) => loadWitnessConfig(argv, {}),
  // The lease must cover the stop: the check a sidecar makes at start, before it runs anything.
  sidecar: (argv) => requireWorkableSettings(toSettings(toSidecarOptions(loadSidecarConfig(argv, {})))),
};

/** The flags `witness SUBCOMMAND --help` lists. */
function helpFlags(subcommand: string): Set<string> {
  const help = spawnSync(process.execPath, [CLI, subcommand, '--help'], { encoding: 'utf8', timeout: 30_000 });
  expect(help.status, help.stderr).to.equal(0);
  return new Set([...help.stdout.matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((m) => m[1] as string));
}

/** The options of a command line: what comes before the workload's `--`. */
function options(line: CommandLine): string[] {
  const end = line.args.indexOf('--');
  return [...(end < 0 ? line.args : line.args.slice(0, end))];
}

/**
 * Values only the running system gives (systemd's specifiers, the pod's IP) become examples, and
 * --config names the deploy/ file of that name beside the command line's own file.
 */
function asLoaded(line: CommandLine): string[] {
  const examples = options(line).map((word) =>
    word
      .replaceAll('%d', '/run/credentials/unit')
      .replaceAll('%S', '/var/lib')
      .replaceAll('%i', 'app-a')
      .replaceAll('$(POD_IP)', '10.0.0.1'),
  );
  return examples.map((word, i) => {
    if (examples[i - 1] !== '--config') return word;
    const local = path.join(path.dirname(line.file), path.basename(word));
    expect(fs.existsSync(local), `${word}: ${relative(local)}`).to.equal(true);
    return local;
  });
}

describe('deploy/: witness command lines', () => {
  const lines = deployCommandLines();
  const flags = new Map(Object.keys(LOADERS).map((sub) => [sub, helpFlags(sub)]));

  it('finds both programs in manifests, compose and units', () => {
    expect(new Set(lines.map((l) => l.subcommand))).to.deep.equal(new Set(['serve', 'sidecar']));
    const kinds = new Set(lines.map((l) => relative(l.file).split('/')[1]));
    expect(kinds).to.deep.equal(new Set(['kubernetes', 'docker', 'systemd']));
  });

  it('--help lists the flags this test looks for', () => {
    expect([...(flags.get('serve') ?? [])]).to.include.members(['--config', '--store', '--metrics-listen']);
    expect([...(flags.get('sidecar') ?? [])]).to.include.members(['--config', '--health-active-only']);
  });

  for (const line of lines) {
    const name = `${relative(line.file)}, ${line.where}: witness ${line.subcommand}`;

    it(`${name} uses only flags of its --help`, () => {
      const known = flags.get(line.subcommand);
      expect(known, `subcommand ${line.subcommand}`).to.not.equal(undefined);
      const used = options(line)
        .filter((word) => word.startsWith('--'))
        .map((word) => word.split('=')[0] as string);
      expect(used, 'flags').to.have.length.greaterThan(0);
      expect(used.filter((flag) => !known?.has(flag))).to.deep.equal([]);
    });

    it(`${name} is accepted by the program's loader and start-up checks`, () => {
      expect(() => LOADERS[line.subcommand]?.(asLoaded(line))).to.not.throw();
    });
  }

  it('the loader refuses a config file key --help does not list', () => {
    const line = lines.find((l) => l.subcommand === 'sidecar' && options(l).includes('--config')) as CommandLine;
    const argv = asLoaded(line);
    const config = argv[argv.indexOf('--config') + 1] as string;
    const misspelt = path.join(os.tmpdir(), `misspelt-${process.pid}.yaml`);
    fs.writeFileSync(misspelt, `${fs.readFileSync(config, 'utf8')}heartbaet: 1s\n`);
    try {
      argv[argv.indexOf('--config') + 1] = misspelt;
      expect(() => loadSidecarConfig(argv, {})).to.throw(/heartbaet/);
    } finally {
      fs.rmSync(misspelt, { force: true });
    }
  });
});
