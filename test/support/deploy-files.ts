/**
 * The files under deploy/ as the deploy tests read them: every YAML document and the Kubernetes
 * objects among them.
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
