/**
 * deploy/docker/Dockerfile builds with podman, and what it builds serves: the witness, started by
 * the image's ENTRYPOINT as its non-root user, keeps its store in the image's data directory and
 * stops on SIGTERM. The build needs podman (under CI=true, missing it fails) and the base image,
 * from a registry: where that cannot be reached this says why and is skipped (dockerfile.test.ts
 * lints the Dockerfile everywhere).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { DEPLOY_DIR, REPO_ROOT } from '../support/deploy-files';
import { parseDockerfile } from '../support/dockerfile';
import { buildBlocker, imageConfig, podman, requirePodman, runUntil } from '../support/podman';

const DOCKERFILE = path.join(DEPLOY_DIR, 'docker', 'Dockerfile');
const IMAGE = 'localhost/failover-witness:deploy-test';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('deploy/docker/Dockerfile: podman build', function () {
  // npm ci and the TypeScript build inside the image: minutes on a busy machine.
  this.timeout(900_000);
  let built = false;

  before(function () {
    requirePodman(this);
    const why = buildBlocker(parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8')));
    if (why === undefined) return;
    process.stderr.write(`      skipped: ${why}\n`);
    this.skip();
  });

  it('builds an image that runs the CLI as uid 1000', () => {
    // chroot isolation: RUN steps need no container runtime of their own.
    const build = podman(['build', '--isolation=chroot', '-f', DOCKERFILE, '-t', IMAGE, REPO_ROOT], 880_000);
    expect(build.status, build.output).to.equal(0);
    built = true;
    const config = imageConfig(IMAGE);
    expect(config.User).to.equal('1000:1000');
    expect(config.Entrypoint).to.deep.equal(['node', 'dist/src/cli/main.js']);
  });

  it('its witness serves from the image data directory and stops on SIGTERM', async function () {
    if (!built) this.skip();
    if (process.getuid?.() !== 0) {
      process.stderr.write('      skipped: running the image without a container runtime needs root (chroot)\n');
      this.skip();
    }
    const port = await freePort();
    const dataDir = '/var/lib/failover-witness';
    const args = ['serve', '--open-registration', `--listen=127.0.0.1:${port}`, `--data-dir=${dataDir}`];
    const run = await runUntil(IMAGE, args, new RegExp(`"listen":"127\\.0\\.0\\.1:${port}"`), 60_000);
    expect(run.output).to.include(`"store":"file ${dataDir}"`).and.to.include('witness stopped');
    expect(run.status, run.output).to.equal(0);
  });
});
