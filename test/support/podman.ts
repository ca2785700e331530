/**
 * Building deploy/docker/Dockerfile with podman, and running what it built where no container
 * runtime may run (this project's machines refuse crun its cgroups and rlimits): the image's
 * filesystem is mounted and its ENTRYPOINT run there with chroot, as its USER, in its WORKDIR,
 * with its Env. That needs root, as podman's mounts do.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { Stage } from './dockerfile';
import { type OsTool, requireTool } from './require-tool';

const PODMAN: OsTool = {
  name: 'podman',
  probe: ['podman', '--version'],
  why: 'podman builds deploy/docker/Dockerfile: install it with apt-get install podman',
};

/** Call from a `before` hook: returns if podman runs, else skips (or fails under CI=true). */
export function requirePodman(context: Mocha.Context): void {
  requireTool(context, PODMAN);
}

export interface Result {
  readonly status: number | null;
  readonly output: string;
}

export function podman(args: readonly string[], timeout: number): Result {
  const result = spawnSync('podman', args, { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) return { status: null, output: String(result.error) };
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/**
 * Why the image cannot be built here although podman runs, or undefined: a base image that is
 * neither here nor reachable (a registry, not an OS package, so not a failure under CI=true).
 */
export function buildBlocker(stages: readonly Stage[]): string | undefined {
  const names = stages.map((s) => s.name);
  // A stage may start from an earlier one (FROM build): only the others come from a registry.
  for (const base of new Set(stages.map((s) => s.base).filter((b) => !names.includes(b)))) {
    if (podman(['image', 'exists', base], 30_000).status === 0) continue;
    const pull = podman(['pull', base], 120_000);
    if (pull.status !== 0) {
      return `the base image ${base} is not here and cannot be pulled: ${pull.output.split('\n').at(-1)}`;
    }
  }
  return undefined;
}

export interface ImageConfig {
  readonly User: string;
  readonly Entrypoint: string[];
  readonly WorkingDir: string;
  readonly Env: string[];
}

export function imageConfig(image: string): ImageConfig {
  const inspected = podman(['image', 'inspect', '--format', '{{json .Config}}', image], 30_000);
  if (inspected.status !== 0) throw new Error(inspected.output);
  return JSON.parse(inspected.output) as ImageConfig;
}

/**
 * Runs the image's ENTRYPOINT with `args` until its output matches `ready`, then sends SIGTERM:
 * its exit status and all it printed.
 */
export async function runUntil(
  image: string,
  args: readonly string[],
  ready: RegExp,
  timeoutMs: number,
): Promise<Result> {
  const config = imageConfig(image);
  const created = podman(['create', image], 60_000);
  if (created.status !== 0) throw new Error(created.output);
  const id = created.output.split('\n').at(-1) as string;
  try {
    const mounted = podman(['mount', id], 60_000);
    if (mounted.status !== 0) throw new Error(mounted.output);
    const root = mounted.output.split('\n').at(-1) as string;
    const env = Object.fromEntries(config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const command = ['/bin/sh', '-c', `cd '${config.WorkingDir}' && exec "$@"`, 'sh', ...config.Entrypoint, ...args];
    return await untilReady(
      spawn('chroot', [`--userspec=${config.User}`, root, ...command], { env }),
      ready,
      timeoutMs,
    );
  } finally {
    podman(['umount', id], 60_000);
    podman(['rm', '--force', id], 60_000);
  }
}

function untilReady(child: ReturnType<typeof spawn>, ready: RegExp, timeoutMs: number): Promise<Result> {
  return new Promise((resolve) => {
    let output = '';
    // A child that never gets ready is killed by its PID; the caller sees its output.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const hear = (chunk: Buffer): void => {
      output += chunk.toString();
      if (ready.test(output)) child.kill('SIGTERM');
    };
    child.stdout?.on('data', hear);
    child.stderr?.on('data', hear);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}
