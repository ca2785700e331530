/**
 * deploy/docker/Dockerfile: linted always (its stages, the build, a non-root runtime with only
 * what the CLI needs, COPY sources that exist in the context and are not ignored, the ENTRYPOINT),
 * and built with podman where podman and its base image are at hand (the build needs the base
 * image from a registry; without it the build test says why and is skipped, the lint still runs).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DEPLOY_DIR, REPO_ROOT } from '../support/deploy-files';
import { parseCopy, parseDockerfile, type Stage } from '../support/dockerfile';

const DOCKERFILE = path.join(DEPLOY_DIR, 'docker', 'Dockerfile');
const IMAGE = 'localhost/failover-witness:deploy-test';

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

describe('deploy/docker/Dockerfile: podman build', function () {
  this.timeout(900_000);

  before(function () {
    const why = buildBlocker(parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8')));
    if (why === undefined) return;
    process.stderr.write(`      skipped: ${why}\n`);
    this.skip();
  });

  it('builds, and the image runs the CLI as its non-root user', () => {
    // chroot isolation: RUN steps need no container runtime of their own (none may run here).
    const built = podman(['build', '--isolation=chroot', '-f', DOCKERFILE, '-t', IMAGE, REPO_ROOT], 880_000);
    expect(built.status, built.output).to.equal(0);
    const config = podman(['image', 'inspect', '--format', '{{json .Config}}', IMAGE], 30_000);
    const { User, Entrypoint } = JSON.parse(config.output) as { User: string; Entrypoint: string[] };
    expect(User).to.equal('1000:1000');
    expect(Entrypoint).to.deep.equal(['node', 'dist/src/cli/main.js']);
  });
});

function podman(args: string[], timeout: number): { status: number | null; output: string } {
  const result = spawnSync('podman', args, { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) return { status: null, output: String(result.error) };
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** Why the image cannot be built here, or undefined. */
function buildBlocker(stages: readonly Stage[]): string | undefined {
  const version = podman(['--version'], 30_000);
  if (version.status !== 0) {
    return `podman does not run (${version.output}): install it with apt-get install podman to build the image`;
  }
  const names = stages.map((s) => s.name);
  // A stage may start from an earlier one (FROM build): only the others come from a registry.
  for (const base of new Set(stages.map((s) => s.base).filter((b) => !names.includes(b)))) {
    if (podman(['image', 'exists', base], 30_000).status === 0) continue;
    const pull = podman(['pull', base], 120_000);
    if (pull.status !== 0)
      return `the base image ${base} is not here and cannot be pulled: ${pull.output.split('\n').at(-1)}`;
  }
  return undefined;
}
