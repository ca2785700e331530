/** `systemd-analyze verify` of unit files (a missing systemd-analyze: see require-tool.ts). */
import { spawnSync } from 'node:child_process';
import type { OsTool } from './require-tool';

const SYSTEMD_ANALYZE = process.env.SYSTEMD_ANALYZE ?? 'systemd-analyze';

export const SYSTEMD_ANALYZE_TOOL: OsTool = {
  name: 'systemd-analyze',
  probe: [SYSTEMD_ANALYZE, '--version'],
  why:
    'the systemd-analyze command is not on PATH: these tests check the units in deploy/systemd with ' +
    'systemd-analyze verify; install it with apt-get install --no-install-recommends systemd (Debian, Ubuntu)',
};

/**
 * What `systemd-analyze verify` says of `units` (paths), run in `dir`. It exits 0 even for unknown
 * keys and values it cannot parse, which it only prints: every line it prints is a problem.
 */
export function verifyUnits(dir: string, units: readonly string[]): { status: number | null; problems: string } {
  const result = spawnSync(SYSTEMD_ANALYZE, ['verify', ...units], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, problems: `${result.stdout}${result.stderr}`.trim() };
}
