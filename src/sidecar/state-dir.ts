/**
 * `--state-dir`: the directory of one node's sidecar for what outlives a sidecar process (design
 * §9.8). Made (mode 0700) if missing; it must be this node's alone, since the watchdog's socket
 * there lets whoever connects take over the workload.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/load-config';

/** Linux's limit on a Unix socket's path (sun_path), less its terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** The hand-over socket's path in `stateDir`, which this makes if missing; a ConfigError naming stateDir otherwise. */
export function watchdogSocketPath(stateDir: string): string {
  const dir = path.resolve(stateDir);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigError('stateDir', `stateDir (--state-dir): cannot make ${dir}: ${(error as Error).message}`);
  }
  const stat = fs.statSync(dir);
  if (!stat.isDirectory()) throw new ConfigError('stateDir', `stateDir (--state-dir): ${dir} is not a directory`);
  if ((stat.mode & 0o022) !== 0) {
    throw new ConfigError(
      'stateDir',
      `stateDir (--state-dir): ${dir} is writable by others (mode ${(stat.mode & 0o777).toString(8)}); it must be this node's alone (chmod go-w)`,
    );
  }
  const socketPath = path.join(dir, 'watchdog.sock');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new ConfigError(
      'stateDir',
      `stateDir (--state-dir): ${socketPath} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a Unix socket's path may have; choose a shorter directory`,
    );
  }
  return socketPath;
}
