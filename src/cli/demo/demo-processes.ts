/**
 * The demo's child processes: each is spawned in a process group of its own (so that Ctrl-C in the
 * terminal reaches the demo alone, and the demo decides the order things stop in), with its output
 * in a log file, and each is stopped by its PID and group at the end, whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { groupAlive, signalGroup } from '../../sidecar/watchdog/process-group';

/** How long a child may take to stop on SIGTERM (a sidecar stops its workload first) before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** How long a SIGKILLed process group may take to be gone. */
const KILL_WAIT_MS = 2_000;
const POLL_MS = 50;

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly log: string;
  /** Stopped after the others: the witness, so that the sidecars can release on their way out. */
  readonly stopsLast: boolean;
  /** The demo stopped or killed it on purpose: its exit is no failure. */
  expectedExit: boolean;
  exit?: string;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

// Set: start() refuses a child without one.
const pidOf = (child: Child): number => child.process.pid as number;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True once nothing is left of the process groups `pgids` (zombies aside); false after `timeoutMs`. */
async function waitGone(pgids: readonly number[], timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (pgids.some(groupAlive)) {
    if (Date.now() >= until) return false;
    await sleep(POLL_MS);
  }
  return true;
}

export class DemoProcesses {
  private readonly children: Child[] = [];
  /** Workloads' PIDs (each its own group's id), as the workloads reported them. */
  private readonly workloads = new Set<number>();

  constructor(
    private readonly dir: string,
    /** This CLI: node and the path of main.js, so the children are the same build. */
    private readonly cli: readonly string[],
  ) {}

  /** Starts `witness ARGS` as `name`, its stdout and stderr in DIR/NAME.log. Returns its PID. */
  start(name: string, args: readonly string[], stopsLast = false): number {
    const log = path.join(this.dir, `${name}.log`);
    const fd = fs.openSync(log, 'a');
    try {
      const [command = process.execPath, ...cliArgs] = this.cli;
      // Without WITNESS_* variables: the user's own settings would change the demo's programs.
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WITNESS_')));
      const child = spawn(command, [...cliArgs, ...args], { detached: true, stdio: ['ignore', fd, fd], env });
      if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
      const entry: Child = { name, process: child, log, stopsLast, expectedExit: false };
      child.on('error', () => undefined);
      // A child the demo could not stop must not hold its exit: it exits 1, naming the PID.
      child.unref();
      child.once('exit', (code, sig) => (entry.exit = sig === null ? `exit status ${code}` : `signal ${sig}`));
      this.children.push(entry);
      return child.pid;
    } finally {
      fs.closeSync(fd);
    }
  }

  addWorkload(pid: number): void {
    this.workloads.add(pid);
  }

  /** Every PID the demo started or was told of, in order. */
  pids(): number[] {
    return [...this.children.map(pidOf), ...this.workloads];
  }

  /** SIGKILL of `name`'s own process alone (its watchdog, in its group, lives on and stops the workload). */
  crash(name: string): void {
    const child = this.find(name);
    child.expectedExit = true;
    signal(pidOf(child), 'SIGKILL');
  }

  /** A message naming the first child that exited without being asked to, and its log; else undefined. */
  unexpectedExit(): string | undefined {
    const child = this.children.find((c) => c.exit !== undefined && !c.expectedExit);
    return child && `${child.name} (pid ${child.process.pid}) ended by itself (${child.exit}); see ${child.log}`;
  }

  /**
   * Stops everything: SIGTERM to each process group (a sidecar then stops its workload and
   * releases), those that stop last once the others are gone; SIGKILL to whatever is left after the
   * grace, workloads' groups included. Resolves with the PIDs still alive after all that (none,
   * unless the system refuses).
   */
  async stopAll(): Promise<number[]> {
    for (const child of this.children) child.expectedExit = true;
    await this.stopGroups([...this.children.filter((c) => !c.stopsLast).map(pidOf), ...this.workloads]);
    await this.stopGroups(this.children.filter((c) => c.stopsLast).map(pidOf));
    // Each is its group's leader: nothing of the group may be left either.
    return this.pids().filter(groupAlive);
  }

  private async stopGroups(pgids: readonly number[]): Promise<void> {
    for (const pgid of pgids) signalGroup(pgid, 'SIGTERM');
    if (await waitGone(pgids, STOP_GRACE_MS)) return;
    for (const pgid of pgids) signalGroup(pgid, 'SIGKILL');
    await waitGone(pgids, KILL_WAIT_MS);
  }

  private find(name: string): Child {
    const child = [...this.children].reverse().find((c) => c.name === name && c.exit === undefined);
    if (child === undefined) throw new Error(`no running process named ${name}`);
    return child;
  }
}
