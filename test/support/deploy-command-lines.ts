/**
 * The `witness serve` and `witness sidecar` command lines deploy/ runs: in Kubernetes containers of
 * the project's image, in the compose services, in the units' ExecStart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEPLOY_DIR, filesBelow, kubernetesDocuments, podTemplate, relative, yamlDocuments } from './deploy-files';
import { unitSetting } from './systemd-unit';

/** A `witness serve` or `witness sidecar` command line, its arguments after the subcommand. */
export interface CommandLine {
  /** The file it is in, and where (a container, a service, a unit's ExecStart). */
  readonly file: string;
  readonly where: string;
  readonly subcommand: string;
  readonly args: readonly string[];
}

/** Containers of the project's image run the CLI (the image's ENTRYPOINT): their args are its. */
function kubernetesCommandLines(): CommandLine[] {
  return kubernetesDocuments().flatMap(({ file, value }) =>
    (podTemplate(value)?.spec.containers ?? [])
      .filter((c) => c.image?.startsWith('failover-witness:') === true)
      .map((c) => commandLine(file, `${value.kind} ${value.metadata?.name ?? '?'}, container ${c.name}`, c.args)),
  );
}

function composeCommandLines(): CommandLine[] {
  const file = path.join(DEPLOY_DIR, 'docker', 'compose.yaml');
  const compose = yamlDocuments(file)[0]?.toJS() as { services: Record<string, { command?: string[] }> };
  return Object.entries(compose.services).map(([name, service]) =>
    commandLine(file, `service ${name}`, service.command),
  );
}

/** The units' ExecStart lines hold no quotes: words are split on white space, as systemd does. */
function systemdCommandLines(): CommandLine[] {
  return filesBelow(path.join(DEPLOY_DIR, 'systemd'), (name) => name.endsWith('.service')).map((file) => {
    const line = unitSetting(fs.readFileSync(file, 'utf8'), 'ExecStart');
    const words = line.split(/\s+/);
    const cli = words.findIndex((word) => word.endsWith('/dist/src/cli/main.js'));
    return commandLine(file, 'ExecStart', cli < 0 ? undefined : words.slice(cli + 1));
  });
}

function commandLine(file: string, where: string, words: readonly string[] | undefined): CommandLine {
  const [subcommand, ...args] = words ?? [];
  if (subcommand === undefined) throw new Error(`${relative(file)}, ${where}: no witness command line found`);
  return { file, where, subcommand, args };
}

/** Every command line the deploy files run, from manifests, the compose file and the units. */
export function deployCommandLines(): CommandLine[] {
  return [...kubernetesCommandLines(), ...composeCommandLines(), ...systemdCommandLines()];
}
