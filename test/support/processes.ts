/**
 * Real child processes for end-to-end tests, and making sure they die.
 *
 * Every process started with spawnTracked is registered; call `killAllTracked()` from an afterEach
 * hook: it SIGKILLs (by PID, and by process group for `detached` ones) whatever still runs, so a
 * failing test leaves nothing behind. As a last resort the same happens synchronously when the test
 * runner itself exits.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type LineMatcher = RegExp | ((line: string) => boolean);
export type StreamName = 'stdout' | 'stderr';

export interface SpawnTrackedOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Label for messages; default: the command's basename and first argument. */
  name?: string;
  /** Lines kept per stream (the oldest are dropped beyond it). Default 2000. */
  maxLines?: number;
  /** 'pipe' to write to the child's stdin (handle.child.stdin). Default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
  /** Also copy every output line to this process's stderr, prefixed with the name (debugging). */
  echo?: boolean;
}

export interface WaitForLineOptions {
  /** Which stream(s) to watch. Default: both. */
  stream?: StreamName | 'any';
  /** Only lines that arrive after the call (default false: lines already captured count too). */
  newOnly?: boolean;
}

const MAX_PARTIAL_LINE = 64 * 1024;

interface Waiter {
  match: (line: string, stream: StreamName) => boolean;
  resolve: (line: string) => void;
  reject: (err: Error) => void;
}

function toPredicate(matcher: LineMatcher): (line: string) => boolean {
  if (typeof matcher === 'function') return matcher;
  return (line) => {
    matcher.lastIndex = 0; // a /g or /y regex is stateful
    return matcher.test(line);
  };
}

const tracked = new Set<TrackedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of tracked) p.killNow('SIGKILL');
  });
}

export class TrackedProcess {
  readonly pid: number;
  readonly name: string;
  readonly detached: boolean;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | null = null;
  private outputClosed = false;
  /** Resolves when stdout and stderr have both ended. */
  private readonly closed: Promise<void>;
  private readonly lines: Record<StreamName, string[]> = { stdout: [], stderr: [] };
  private readonly dropped: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  private waiters = new Set<Waiter>();

  constructor(
    readonly child: ChildProcess,
    options: { name: string; detached: boolean; maxLines: number; echo: boolean },
  ) {
    child.on('error', () => undefined); // spawn errors, kill() on a dead process; exit is still reported
    if (child.pid === undefined) throw new Error(`spawn failed: ${options.name}`);
    this.pid = child.pid;
    this.name = options.name;
    this.detached = options.detached;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    this.closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.once('close', () => {
      this.outputClosed = true;
      for (const w of this.waiters)
        w.reject(new Error(`${this.describe()}: output ended without a matching line\n${this.output(20)}`));
      this.waiters.clear();
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = child[stream];
      if (!readable) continue;
      readable.setEncoding('utf8');
      let partial = '';
      readable.on('data', (chunk: string) => {
        partial += chunk;
        let nl = partial.indexOf('\n');
        while (nl >= 0) {
          this.addLine(stream, partial.slice(0, nl).replace(/\r$/, ''), options);
          partial = partial.slice(nl + 1);
          nl = partial.indexOf('\n');
        }
        if (partial.length > MAX_PARTIAL_LINE) {
          this.addLine(stream, partial.slice(0, MAX_PARTIAL_LINE) + ' [line truncated]', options);
          partial = '';
        }
      });
      readable.on('end', () => {
        if (partial) this.addLine(stream, partial, options);
        partial = '';
      });
    }
  }

  /** Exit code and signal once exited, else null. */
  get exitInfo(): ExitInfo | null {
    return this.exit;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /** Captured stdout lines (the last maxLines). */
  get stdoutLines(): readonly string[] {
    return [...this.lines.stdout];
  }

  /** Captured stderr lines (the last maxLines). */
  get stderrLines(): readonly string[] {
    return [...this.lines.stderr];
  }

  /**
   * Resolves with the first line matching `matcher` (already captured, unless newOnly, or arriving
   * later). Rejects after `timeoutMs`, or when the child's output ends without a match; the error
   * carries the recent output.
   */
  waitForLine(matcher: LineMatcher, timeoutMs: number, options: WaitForLineOptions = {}): Promise<string> {
    const test = toPredicate(matcher);
    const wanted = options.stream ?? 'any';
    const match = (line: string, stream: StreamName): boolean => (wanted === 'any' || wanted === stream) && test(line);
    if (!options.newOnly) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const hit = this.lines[stream].find((line) => match(line, stream));
        if (hit !== undefined) return Promise.resolve(hit);
      }
    }
    if (this.outputClosed) {
      return Promise.reject(
        new Error(`${this.describe()}: output already ended without a matching line\n${this.output(20)}`),
      );
    }
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `${this.describe()}: no line matching ${String(matcher)} within ${timeoutMs} ms\n${this.output(20)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /**
   * Sends `signal` to the process (to its whole process group when spawned detached).
   * Returns false if it had already exited or the signal could not be sent.
   */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exit) return false;
    return this.killNow(signal);
  }

  /** Resolves with the exit info, or rejects after `timeoutMs` (the process is left running). */
  waitForExit(timeoutMs: number): Promise<ExitInfo> {
    return new Promise<ExitInfo>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.describe()}: still running after ${timeoutMs} ms\n${this.output(20)}`)),
        timeoutMs,
      );
      void this.exited.then((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  /**
   * For a short command: its exit info once it has exited and its output has drained (which may
   * take a moment after the exit; at most 2 s more). SIGKILLed and rejected after `timeoutMs`.
   */
  async runToCompletion(timeoutMs: number): Promise<ExitInfo> {
    let exit: ExitInfo;
    try {
      exit = await this.waitForExit(timeoutMs);
    } catch (error) {
      this.kill('SIGKILL');
      throw error;
    }
    await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
    return exit;
  }

  /** SIGTERM, then SIGKILL if still running after `graceMs`; resolves with the exit info. */
  async stop(graceMs = 2000): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    this.kill('SIGTERM');
    try {
      return await this.waitForExit(graceMs);
    } catch {
      this.kill('SIGKILL');
      return this.waitForExit(5000);
    }
  }

  /** The last `n` captured lines of both streams, for failure messages. */
  output(n = 50): string {
    const tail = (s: StreamName): string[] => this.lines[s].slice(-n).map((l) => `  [${s}] ${l}`);
    return [
      `--- ${this.describe()} output (last ${n} lines per stream) ---`,
      ...tail('stdout'),
      ...tail('stderr'),
    ].join('\n');
  }

  describe(): string {
    const state = this.exit ? `exited code=${this.exit.code} signal=${this.exit.signal}` : 'running';
    return `${this.name} (pid ${this.pid}, ${state})`;
  }

  /** @internal Signals by PID (group first when detached) regardless of recorded state. */
  killNow(signal: NodeJS.Signals): boolean {
    let sent = false;
    if (this.detached) {
      try {
        process.kill(-this.pid, signal);
        sent = true;
      } catch {
        // no such group (any more)
      }
    }
    if (!this.exit) {
      try {
        process.kill(this.pid, signal);
        sent = true;
      } catch {
        // already gone
      }
    }
    return sent;
  }

  private addLine(stream: StreamName, line: string, options: { maxLines: number; echo: boolean }): void {
    const lines = this.lines[stream];
    lines.push(line);
    if (lines.length > options.maxLines) {
      lines.splice(0, lines.length - options.maxLines);
      this.dropped[stream] += 1;
    }
    if (options.echo) process.stderr.write(`[${this.name} ${stream}] ${line}\n`);
    for (const w of this.waiters) {
      if (w.match(line, stream)) {
        this.waiters.delete(w);
        w.resolve(line);
      }
    }
  }
}

/** Spawns `cmd args` with piped stdout/stderr and registers it for killAllTracked(). */
export function spawnTracked(
  cmd: string,
  args: readonly string[] = [],
  options: SpawnTrackedOptions = {},
): TrackedProcess {
  const { name, maxLines = 2000, stdin = 'ignore', echo = false, ...spawnOptions } = options;
  const child = spawn(cmd, args, { ...spawnOptions, stdio: [stdin, 'pipe', 'pipe'] });
  const label = name ?? [cmd.split('/').pop(), args[0]?.split('/').pop()].filter(Boolean).join(' ');
  const handle = new TrackedProcess(child, {
    name: label,
    detached: spawnOptions.detached === true,
    maxLines: Math.max(1, maxLines),
    echo,
  });
  installExitHook();
  tracked.add(handle);
  return handle;
}

/** spawnTracked(process.execPath, [script, ...args], options): runs a script with this Node. */
export function spawnNode(
  script: string,
  args: readonly string[] = [],
  options: SpawnTrackedOptions = {},
): TrackedProcess {
  return spawnTracked(process.execPath, [script, ...args], {
    ...options,
    name: options.name ?? script.split('/').pop(),
  });
}

/** The processes spawned since the last killAllTracked(). */
export function trackedProcesses(): readonly TrackedProcess[] {
  return [...tracked];
}

/**
 * SIGKILLs every tracked process still running (and the process group of detached ones), waits up
 * to `timeoutMs` for them to exit, and forgets them all. Returns the PIDs it had to kill. Rejects
 * if one is still running after the timeout (it stays tracked, so a later call retries).
 */
export async function killAllTracked(timeoutMs = 5000): Promise<number[]> {
  const all = [...tracked];
  const killed: number[] = [];
  for (const p of all) {
    if (p.running) killed.push(p.pid);
    if (p.running || p.detached) p.killNow('SIGKILL');
  }
  const results = await Promise.allSettled(all.map((p) => p.waitForExit(timeoutMs)));
  const stuck: string[] = [];
  results.forEach((r, k) => {
    const p = all[k]!;
    if (r.status === 'fulfilled') tracked.delete(p);
    else stuck.push(p.describe());
  });
  if (stuck.length > 0)
    throw new Error(`killAllTracked: still running after SIGKILL + ${timeoutMs} ms: ${stuck.join(', ')}`);
  return killed;
}

/** An ephemeral TCP port that was free on 127.0.0.1 a moment ago (another process may take it). */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = address && typeof address !== 'string' ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}
