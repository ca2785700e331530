/**
 * A copy of the compiled project with a deliberate bug patched into one of its files, for tests
 * that show the simulator catches a broken shell (the simulator runs the production runtime and
 * service, so a broken variant of them can only come from changed code). The copy lives in a
 * temporary directory with the project's node_modules linked in, and is removed afterwards.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Patch {
  /** A compiled file, relative to dist/, e.g. 'src/sidecar/sidecar-runtime.js'. */
  readonly file: string;
  /** Text that must occur exactly once in it. */
  readonly find: string;
  readonly replace: string;
}

const DIST = path.resolve(__dirname, '../..');
const REPO = path.resolve(DIST, '..');

/** Runs `use` with the root of a patched copy of dist/ (its src/ only). */
export function withPatchedBuild<T>(patches: readonly Patch[], use: (root: string) => T): T {
  const root = mkdtempSync(path.join(tmpdir(), 'patched-build-'));
  try {
    cpSync(path.join(DIST, 'src'), path.join(root, 'src'), { recursive: true });
    symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    for (const patch of patches) {
      const file = path.join(root, patch.file);
      const text = readFileSync(file, 'utf8');
      const count = text.split(patch.find).length - 1;
      if (count !== 1) throw new Error(`patch for ${patch.file}: expected its text once, found it ${count} times`);
      writeFileSync(file, text.replace(patch.find, patch.replace));
    }
    return use(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Loads a module of the patched copy (a fresh module graph, apart from the project's own). */
export function loadPatched<M>(root: string, file: string): M {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(root, file)) as M;
}
