/**
 * The files under deploy/ as the deploy tests read them: every YAML document, the Kubernetes
 * objects among them, and the `witness` command lines the manifests, units and compose file run.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/** dist/test/support -> the repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');

/** Every file below `dir` whose name passes `keep`, sorted, as absolute paths. */
export function filesBelow(dir: string, keep: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesBelow(full, keep));
    else if (keep(entry.name)) found.push(full);
  }
  return found.sort();
}

export const isYaml = (name: string): boolean => /\.ya?ml$/.test(name);

/** `deploy/kubernetes/base/...` for messages. */
export const relative = (file: string): string => path.relative(REPO_ROOT, file);

/** The documents of a YAML file; compose.yaml uses merge keys (`<<: *sidecar`), hence merge. */
export function yamlDocuments(file: string): YAML.Document.Parsed[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), { merge: true }) as YAML.Document.Parsed[];
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { readonly name?: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
}

export interface Located<T> {
  readonly file: string;
  readonly value: T;
}

const isKubeObject = (value: unknown): value is KubeObject =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as KubeObject).apiVersion === 'string' &&
  typeof (value as KubeObject).kind === 'string';

/** Every document below deploy/kubernetes with an apiVersion and a kind, kustomizations included. */
export function kubernetesDocuments(): Located<KubeObject>[] {
  return filesBelow(path.join(DEPLOY_DIR, 'kubernetes'), isYaml).flatMap((file) =>
    yamlDocuments(file)
      .map((doc) => doc.toJS() as unknown)
      .filter(isKubeObject)
      .map((value) => ({ file, value })),
  );
}

export const isKustomization = (object: KubeObject): boolean => object.kind === 'Kustomization';

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly args?: string[];
  readonly ports?: { readonly name?: string; readonly containerPort: number }[];
  readonly readinessProbe?: { readonly httpGet?: { readonly path?: string; readonly port: string | number } };
  readonly livenessProbe?: { readonly httpGet?: { readonly path?: string; readonly port: string | number } };
  readonly env?: { readonly name: string; readonly valueFrom?: Record<string, unknown> }[];
}

export interface PodSpec {
  readonly containers: Container[];
  readonly volumes?: { readonly name: string; readonly secret?: { readonly defaultMode?: number } }[];
}

export interface PodTemplate {
  readonly metadata?: { readonly labels?: Record<string, string> };
  readonly spec: PodSpec;
}

/** The pod template of a workload object (StatefulSet, Deployment), or undefined for others. */
export function podTemplate(object: KubeObject): PodTemplate | undefined {
  return (object.spec?.template as PodTemplate | undefined) ?? undefined;
}

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

/** The one value of `key=` in a unit file; an error when it is absent or set twice. */
export function unitSetting(unit: string, key: string): string {
  const values = unitSettings(unit, key);
  if (values.length !== 1) throw new Error(`${key}= is set ${values.length} times, expected once`);
  return values[0] as string;
}

export function unitSettings(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}
