/**
 * Network namespaces a test makes for itself: hosts with one interface each (eth0), all plugged
 * into a bridge that lives in a namespace of its own. Links are made inside the namespaces, never
 * in the machine's, so nothing touches its own interfaces; `remove()` kills by PID what still runs
 * in them, then deletes them, and their links go with them.
 *
 * A machine may forbid namespaces (a container without CAP_SYS_ADMIN): `namespacesRefused` says
 * why. That is not a missing package, so the test is skipped with that reason even under CI=true;
 * a missing `ip` is a missing package (require-network-tools.ts).
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { isAlive } from './cluster';
import { spawnTracked, type SpawnTrackedOptions, type TrackedProcess } from './processes';
import { waitUntil } from './witness-process';

const execFileAsync = promisify(execFile);
const IP_TIMEOUT_MS = 5_000;

/** `ip ARGS`: its stdout; throws with its stderr when it fails. */
export function ip(args: readonly string[]): string {
  const result = spawnSync('ip', args, { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** `ip ARGS` without blocking the event loop (for sampling while processes run). */
export async function ipAsync(args: readonly string[]): Promise<string> {
  return (await execFileAsync('ip', args, { encoding: 'utf8', timeout: IP_TIMEOUT_MS })).stdout;
}

/** Why this machine does not let a test make a namespace with a bridge and a veth pair, or undefined. */
export function namespacesRefused(): string | undefined {
  const probe = `probe-${process.pid}`;
  try {
    ip(['netns', 'add', probe]);
  } catch (error) {
    return (error as Error).message;
  }
  try {
    ip(['-n', probe, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', probe, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    ip(['-n', probe, 'link', 'set', 'v0', 'master', 'br0']);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    ip(['netns', 'del', probe]);
  }
}

/** Call from a `before` hook after requireNetworkTools: skips, saying why, where namespaces are refused. */
export function requireNamespaces(context: Mocha.Context): void {
  const refused = namespacesRefused();
  if (refused === undefined) return;
  process.stderr.write(
    `      skipped: this machine does not allow network namespaces with a bridge and veth pairs ` +
      `(${refused}); a machine's rule, not a missing package, so also under CI=true\n`,
  );
  context.skip();
}

export interface Host {
  /** The namespace's name. */
  readonly ns: string;
  /** eth0's MAC address. */
  readonly mac: string;
}

export class NamespaceLab {
  private readonly made: string[] = [];

  /** `tag` prefixes every namespace's name: unique per run (e.g. with the PID). */
  constructor(private readonly tag: string) {}

  /** A namespace holding the bridge br0, with `address` (CIDR) on it: the switch the hosts share. */
  addBridge(name: string, address: string): string {
    const ns = this.addNamespace(name);
    ip(['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', ns, 'addr', 'add', address, 'dev', 'br0']);
    ip(['-n', ns, 'link', 'set', 'br0', 'up']);
    return ns;
  }

  /** A namespace whose eth0 has `address` (CIDR), its veth peer a port of `bridge`'s br0. */
  addHost(name: string, bridge: string, address: string): Host {
    const ns = this.addNamespace(name);
    const port = `p-${name}`;
    ip(['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', bridge]);
    ip(['-n', bridge, 'link', 'set', port, 'master', 'br0', 'up']);
    ip(['-n', ns, 'addr', 'add', address, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    const [link] = JSON.parse(ip(['-n', ns, '-j', 'link', 'show', 'eth0'])) as { address: string }[];
    return { ns, mac: link!.address };
  }

  /** `ip netns exec NS COMMAND ARGS`, tracked: ip execs the command, so the PID is the command's. */
  spawn(ns: string, command: string, args: readonly string[], options: SpawnTrackedOptions = {}): TrackedProcess {
    return spawnTracked('ip', ['netns', 'exec', ns, command, ...args], options);
  }

  /** Kills by PID every process left in the namespaces (watchdogs, hooks), then deletes them. */
  async remove(): Promise<void> {
    const left = (): number[] => this.made.flatMap((ns) => pidsIn(ns));
    for (const pid of left()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    try {
      await waitUntil('every process in the namespaces gone', async () => left().length === 0, 5_000);
    } finally {
      // Deleted even then: a namespace a process still holds lives on unnamed, and goes with it.
      for (const ns of this.made.splice(0).reverse()) ip(['netns', 'del', ns]);
    }
  }

  private addNamespace(name: string): string {
    const ns = `${this.tag}-${name}`;
    ip(['netns', 'add', ns]);
    this.made.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }
}

function pidsIn(ns: string): number[] {
  try {
    return ip(['netns', 'pids', ns]).split('\n').filter(Boolean).map(Number).filter(isAlive);
  } catch {
    return [];
  }
}
