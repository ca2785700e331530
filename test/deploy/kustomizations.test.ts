/**
 * The kustomizations under deploy/kubernetes name only files that exist, inside the directory that
 * `kustomize build` lets them read, and every manifest belongs to one of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  DEPLOY_DIR,
  filesBelow,
  isKustomization,
  isYaml,
  kubernetesDocuments,
  relative,
} from '../support/deploy-files';

interface Kustomization {
  readonly resources?: string[];
  readonly configMapGenerator?: { readonly files?: string[] }[];
  readonly secretGenerator?: { readonly files?: string[] }[];
  readonly patches?: { readonly path?: string }[];
}

/** `key=path` names the key of a generated ConfigMap; the file is the path. */
const generatorFile = (entry: string): string => entry.slice(entry.indexOf('=') + 1);

function localFiles(k: Kustomization): string[] {
  const generators = [...(k.configMapGenerator ?? []), ...(k.secretGenerator ?? [])];
  return [
    ...generators.flatMap((g) => (g.files ?? []).map(generatorFile)),
    ...(k.patches ?? []).flatMap((p) => (p.path === undefined ? [] : [p.path])),
  ];
}

const isInside = (dir: string, file: string): boolean => !path.relative(dir, file).startsWith('..');

describe('deploy/kubernetes: kustomizations', () => {
  const documents = kubernetesDocuments();
  const kustomizations = documents.filter(({ value }) => isKustomization(value));

  it('finds the bases and the example', () => {
    const dirs = kustomizations.map(({ file }) => relative(path.dirname(file)));
    expect(dirs).to.include.members([
      'deploy/kubernetes/base/witness',
      'deploy/kubernetes/base/witness-etcd',
      'deploy/kubernetes/examples/pair',
    ]);
  });

  for (const { file, value } of kustomizations) {
    const dir = path.dirname(file);
    const k = value as Kustomization;

    it(`${relative(file)}: every resource is a file or a directory with a kustomization.yaml`, () => {
      expect(k.resources ?? [], 'resources').to.have.length.greaterThan(0);
      for (const resource of k.resources ?? []) {
        const target = path.resolve(dir, resource);
        expect(fs.existsSync(target), resource).to.equal(true);
        if (fs.statSync(target).isDirectory()) {
          expect(fs.existsSync(path.join(target, 'kustomization.yaml')), `${resource}/kustomization.yaml`).to.equal(
            true,
          );
        } else {
          // kustomize loads files only at or below the kustomization's own directory.
          expect(isInside(dir, target), `${resource} is below ${relative(dir)}`).to.equal(true);
        }
      }
    });

    it(`${relative(file)}: generator and patch files exist below it`, () => {
      for (const name of localFiles(k)) {
        const target = path.resolve(dir, name);
        expect(isInside(dir, target), `${name} is below ${relative(dir)}`).to.equal(true);
        expect(fs.statSync(target, { throwIfNoEntry: false })?.isFile(), name).to.equal(true);
      }
    });
  }

  it('every manifest is a resource of a kustomization in its directory', () => {
    const listed = new Set(
      kustomizations.flatMap(({ file, value }) =>
        ((value as Kustomization).resources ?? []).map((r) => path.resolve(path.dirname(file), r)),
      ),
    );
    const manifests = new Set(documents.filter(({ value }) => !isKustomization(value)).map(({ file }) => file));
    expect([...manifests].filter((file) => !listed.has(file)).map(relative)).to.deep.equal([]);
    expect(manifests.size).to.be.greaterThan(0);
  });

  it('every other YAML file (a config file, the groups file) is in a generator', () => {
    const generated = new Set(
      kustomizations.flatMap(({ file, value }) =>
        localFiles(value as Kustomization).map((name) => path.resolve(path.dirname(file), name)),
      ),
    );
    const withObjects = new Set(documents.map(({ file }) => file));
    const others = filesBelow(path.join(DEPLOY_DIR, 'kubernetes'), isYaml).filter((file) => !withObjects.has(file));
    expect(others, 'config files').to.have.length.greaterThan(0);
    expect(others.filter((file) => !generated.has(file)).map(relative)).to.deep.equal([]);
  });
});
