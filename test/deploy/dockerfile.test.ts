/**
 * deploy/docker/Dockerfile, linted: its stages, the build, a non-root runtime with only what the
 * CLI needs, COPY sources that exist in the context and are not ignored, the ENTRYPOINT. It runs
 * everywhere; the build itself (docker-image.test.ts) needs podman and the base image.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DEPLOY_DIR, REPO_ROOT } from '../support/deploy-files';
import { parseCopy, parseDockerfile, type Stage } from '../support/dockerfile';

const DOCKERFILE = path.join(DEPLOY_DIR, 'docker', 'Dockerfile');

const runs = (stage: Stage): string =>
  stage.instructions
    .filter((i) => i.keyword === 'RUN')
    .map((i) => i.rest)
    .join(' && ');

/** .dockerignore patterns; the file holds plain names, one a line, which is all this reads. */
function ignored(): string[] {
  return fs
    .readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe('deploy/docker/Dockerfile: lint', () => {
  const stages = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
  const build = stages[0] as Stage;
  const runtime = stages.at(-1) as Stage;
  const last = (keyword: string): string | undefined =>
    runtime.instructions.filter((i) => i.keyword === keyword).at(-1)?.rest;

  it('has a named build stage and a runtime stage', () => {
    expect(stages).to.have.length.of.at.least(2);
    expect(stages.map((s) => s.name)).to.not.include(undefined);
  });

  it('the build stage installs every dependency and builds', () => {
    expect(runs(build))
      .to.match(/\bnpm ci\b/)
      .and.to.match(/\bnpm run build\b/);
  });

  it('the runtime gets production dependencies only', () => {
    const pruned = /npm prune --omit=dev/.test(runs(build)) || /npm ci [^&]*--omit=dev/.test(runs(runtime));
    expect(pruned, 'npm prune --omit=dev in the build, or npm ci --omit=dev in the runtime').to.equal(true);
  });

  it('the runtime runs as a numeric non-root user', () => {
    const user = last('USER');
    expect(user, 'USER').to.match(/^\d+(:\d+)?$/);
    expect(user?.split(':')[0]).to.not.equal('0');
  });

  it('ENTRYPOINT runs the CLI that package.json installs as witness', () => {
    const bin = (
      JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: { witness: string } }
    ).bin.witness;
    expect(JSON.parse(last('ENTRYPOINT') ?? 'null')).to.deep.equal(['node', bin]);
  });

  it('the runtime copies what the CLI loads: dist/src, node_modules, package.json and the .proto files', () => {
    const copied = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.rest));
    const destinations = copied.map((c) => c.destination.replace(/\/$/, ''));
    expect(destinations).to.include.members(['dist/src', 'node_modules', 'proto', '.']);
    for (const copy of copied) expect(copy.from, copy.destination).to.equal(build.name);
  });

  it('COPY sources from the context exist and are not ignored by .dockerignore', () => {
    const sources = stages.flatMap((s) =>
      s.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.rest)),
    );
    const local = sources.filter((c) => c.from === undefined).flatMap((c) => c.sources);
    expect(local).to.have.length.greaterThan(0);
    for (const source of local) {
      expect(fs.existsSync(path.join(REPO_ROOT, source)), source).to.equal(true);
      expect(ignored(), source).to.not.include(source.split('/')[0]);
    }
  });

  it(".dockerignore keeps the checkout's own node_modules and dist out of the context", () => {
    expect(ignored()).to.include.members(['node_modules', 'dist', '.git']);
  });
});
