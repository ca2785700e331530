/**
 * deploy/docker/compose.yaml fits together: the configs and secrets its services mount are
 * declared, their files exist or are the certificates `witness certs init` makes in the git-ignored
 * certs/, services depend on services that exist, and the image it runs is the one it builds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DEPLOY_DIR, REPO_ROOT, yamlDocuments } from '../support/deploy-files';

interface Mount {
  readonly source: string;
  readonly target?: string;
}

interface Service {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile: string };
  readonly depends_on?: string[];
  readonly configs?: (string | Mount)[];
  readonly secrets?: (string | Mount)[];
}

interface Compose {
  readonly services: Record<string, Service>;
  readonly configs: Record<string, { readonly file: string }>;
  readonly secrets: Record<string, { readonly file: string }>;
}

const COMPOSE_DIR = path.join(DEPLOY_DIR, 'docker');
const sourceOf = (mount: string | Mount): string => (typeof mount === 'string' ? mount : mount.source);

describe('deploy/docker/compose.yaml', () => {
  const compose = yamlDocuments(path.join(COMPOSE_DIR, 'compose.yaml'))[0]?.toJS() as Compose;
  const services = Object.entries(compose.services);

  it('runs a witness and a pair', () => {
    expect(Object.keys(compose.services)).to.have.members(['witness', 'app-a', 'app-b']);
  });

  for (const [name, service] of services) {
    it(`${name}: mounts only declared configs and secrets, depends on services that exist`, () => {
      for (const mount of service.configs ?? []) expect(compose.configs, name).to.have.property(sourceOf(mount));
      for (const mount of service.secrets ?? []) expect(compose.secrets, name).to.have.property(sourceOf(mount));
      for (const other of service.depends_on ?? []) expect(compose.services).to.have.property(other);
    });
  }

  it('every config and secret file exists, or is a certificate made in the git-ignored certs/', () => {
    const ignored = fs.readFileSync(path.join(REPO_ROOT, '.gitignore'), 'utf8').split('\n');
    expect(ignored).to.include('deploy/docker/certs/');
    for (const { file } of [...Object.values(compose.configs), ...Object.values(compose.secrets)]) {
      if (file.startsWith('./certs/')) expect(file, file).to.match(/\.(crt|key)$/);
      else expect(fs.existsSync(path.join(COMPOSE_DIR, file)), file).to.equal(true);
    }
  });

  it('builds the image every service runs, from the repository root and deploy/docker/Dockerfile', () => {
    const builders = services.filter(([, s]) => s.build !== undefined);
    expect(builders).to.have.length(1);
    const [, builder] = builders[0] as [string, Service];
    expect(path.resolve(COMPOSE_DIR, builder.build?.context ?? '')).to.equal(REPO_ROOT);
    expect(fs.existsSync(path.join(REPO_ROOT, builder.build?.dockerfile ?? ''))).to.equal(true);
    expect(new Set(services.map(([, s]) => s.image))).to.deep.equal(new Set([builder.image]));
  });
});
