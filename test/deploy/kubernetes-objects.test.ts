/**
 * Every Kubernetes object under deploy/kubernetes validates against the API's schemas
 * (kubernetes-models; those schemas, as Kubernetes' own, allow fields they do not know, so a
 * misspelt field passes them), and the objects fit together: probes and Services name ports the
 * pods declare, Services select pods, and secrets reach the programs as files they accept.
 */
import { expect } from 'chai';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import {
  isKustomization,
  type KubeObject,
  kubernetesDocuments,
  type PodTemplate,
  podTemplate,
  relative,
} from '../support/deploy-files';

type Model = new (data: never) => { validate(): void };

/** The API groups the manifests use; an object of another needs its module added here. */
const MODELS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'policy/v1': policyV1,
};

function validate(object: KubeObject): void {
  const model = MODELS[object.apiVersion]?.[object.kind] as Model | undefined;
  if (model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new model(object as never).validate();
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('deploy/kubernetes: objects', () => {
  const objects = kubernetesDocuments().filter(({ value }) => !isKustomization(value));
  const pods: { readonly name: string; readonly template: PodTemplate }[] = objects.flatMap(({ value }) => {
    const template = podTemplate(value);
    return template === undefined ? [] : [{ name: `${value.kind} ${value.metadata?.name}`, template }];
  });

  it('finds the witness, its replicas over etcd, the pair and their Services', () => {
    const kinds = objects.map(({ value }) => value.kind);
    expect(kinds).to.include.members(['StatefulSet', 'Deployment', 'PodDisruptionBudget', 'Service']);
  });

  for (const { file, value } of objects) {
    it(`${relative(file)}: ${value.kind} ${value.metadata?.name} validates`, () => {
      expect(() => validate(value)).to.not.throw();
    });
  }

  it('the validation refuses an object of the wrong shape', () => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 'grpc' }] } };
    expect(() => validate(service)).to.throw(/port/);
  });

  for (const { name, template } of pods) {
    it(`${name}: every probe names a port of its container`, () => {
      for (const container of template.spec.containers) {
        const ports = (container.ports ?? []).flatMap((p) => [p.name, p.containerPort]);
        for (const probe of [container.readinessProbe, container.livenessProbe]) {
          if (probe?.httpGet !== undefined) expect(ports, container.name).to.include(probe.httpGet.port);
        }
      }
    });

    it(`${name}: secrets are mounted as files others cannot read, never passed in the environment`, () => {
      for (const volume of template.spec.volumes ?? []) {
        if (volume.secret === undefined) continue;
        // The programs refuse a key file others can read (src/config/secret-file.ts).
        expect(volume.secret.defaultMode, volume.name).to.be.a('number');
        expect((volume.secret.defaultMode ?? 0o644) & 0o007, `${volume.name} mode`).to.equal(0);
      }
      for (const container of template.spec.containers) {
        for (const env of container.env ?? []) expect(env.valueFrom ?? {}, env.name).to.not.have.key('secretKeyRef');
      }
    });
  }

  for (const { file, value } of objects.filter(({ value }) => value.kind === 'Service')) {
    it(`${relative(file)}: Service ${value.metadata?.name} selects pods that have its target ports`, () => {
      const spec = value.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
      const selected = pods.filter(({ template }) => matches(spec.selector, template.metadata?.labels));
      expect(selected, 'selected pods').to.have.length.greaterThan(0);
      for (const { name, template } of selected) {
        const names = template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
        for (const port of spec.ports) expect(names, name).to.include(port.targetPort);
      }
    });
  }
});
