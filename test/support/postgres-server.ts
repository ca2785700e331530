/**
 * A throwaway PostgreSQL (Debian's `postgresql`) for end-to-end tests: `initdb` in a temporary
 * directory, `pg_ctl start` on 127.0.0.1 and a free port, its socket in that directory too, so it
 * touches no cluster of the machine. It runs as the `postgres` user when the tests run as root
 * (PostgreSQL refuses root). `stop()` stops it by the postmaster's PID and removes the directory;
 * call it from an `after` hook. Without PostgreSQL the suite is skipped, saying how to install it;
 * under CI=true that is a failure (require-tool.ts).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, listenPort } from './cluster';
import { type OsTool, requireTool } from './require-tool';

/** Debian installs the server's programs per major version, off PATH: the newest one is used. */
function postgresBinDir(): string {
  if (process.env.PG_BINDIR !== undefined) return process.env.PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  const newest = versions.sort((x, y) => Number(y) - Number(x))[0];
  return newest === undefined ? '' : path.join(root, newest, 'bin');
}

const BIN_DIR = postgresBinDir();

/** The path of a PostgreSQL program (bare name, found on PATH, when no directory is known). */
export function postgresProgram(name: 'initdb' | 'pg_ctl' | 'psql'): string {
  return BIN_DIR === '' ? name : path.join(BIN_DIR, name);
}

const POSTGRES_TOOL: OsTool = {
  name: 'PostgreSQL',
  probe: [postgresProgram('initdb'), '--version'],
  why:
    'PostgreSQL (initdb) is not installed: the fencing example is tested against a real PostgreSQL ' +
    'the test starts itself; install it with apt-get install --no-install-recommends postgresql ' +
    '(Debian, Ubuntu), or set PG_BINDIR to the directory of initdb, pg_ctl and psql',
};

/** Call from a `before` hook: returns if PostgreSQL runs, else skips the suite (or throws under CI=true). */
export function requirePostgres(context: Mocha.Context): void {
  requireTool(context, POSTGRES_TOOL);
}

/** How long initdb, a start or a query may take on a busy machine. */
const COMMAND_TIMEOUT_MS = 60_000;

/** Root may not run PostgreSQL: the uid and gid of the `postgres` user then, else our own. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('postgres:'));
  if (entry === undefined) throw new Error('running as root, and there is no postgres user to run PostgreSQL as');
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, ...options });
  if (result.error !== undefined) throw result.error;
  const output = `${String(result.stdout)}${String(result.stderr)}`;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${output}`);
  return String(result.stdout);
}

export class PostgresServer {
  private stopped = false;
  private readonly killOnExit = (): void => this.signal('SIGQUIT');

  private constructor(
    /** Removed by stop(); the test may keep its own files here (the server's are in `owned`). */
    readonly dir: string,
    readonly port: number,
    private readonly pid: number,
  ) {
    // A test runner that exits before the after hook still takes the server down with it.
    process.on('exit', this.killOnExit);
  }

  /** libpq connection string of the database. */
  get conninfo(): string {
    return `host=127.0.0.1 port=${this.port} user=postgres dbname=postgres`;
  }

  /** The server's log: every refused statement is there with its error (log_min_error_statement). */
  get logFile(): string {
    return path.join(this.dir, 'owned', 'server.log');
  }

  static async start(): Promise<PostgresServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-postgres-'));
    fs.chmodSync(dir, 0o755); // the test's files stay root's; the server's live in `owned`
    const owned = path.join(dir, 'owned');
    fs.mkdirSync(owned, { mode: 0o700 });
    const user = serverUser();
    if (user !== undefined) fs.chownSync(owned, user.uid, user.gid);
    const asServer: SpawnSyncOptions = { ...user, cwd: owned };
    const data = path.join(owned, 'data');
    run(
      postgresProgram('initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--locale=C', '-E', 'UTF8'],
      asServer,
    );
    for (let attempt = 1; ; attempt++) {
      const port = await listenPort();
      // Nothing of this cluster outlives the test: fsync would only slow a busy machine down.
      const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${owned} -c fsync=off`;
      const log = path.join(owned, 'server.log');
      const start = spawnSync(postgresProgram('pg_ctl'), ['start', '-w', '-D', data, '-l', log, '-o', options], {
        ...asServer,
        encoding: 'utf8',
        timeout: COMMAND_TIMEOUT_MS,
      });
      const pidFile = path.join(data, 'postmaster.pid');
      if (start.status === 0)
        return new PostgresServer(dir, port, Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]));
      const why = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      if (attempt >= 3 || !/could not bind/.test(why)) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(`pg_ctl start failed (status ${start.status}):\n${start.stdout}${start.stderr}\n${why}`);
      }
    }
  }

  /** Runs `sql` (or the file `-f`) with psql; rows as lines, columns separated by spaces. */
  psql(sql: { command: string } | { file: string }): string {
    const input = 'file' in sql ? ['-f', sql.file] : ['-c', sql.command];
    return run(postgresProgram('psql'), [
      '-X',
      '-A',
      '-t',
      '-F',
      ' ',
      '-v',
      'ON_ERROR_STOP=1',
      ...input,
      this.conninfo,
    ]);
  }

  /** Immediate shutdown by the postmaster's PID (it takes its backends with it); removes the directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.off('exit', this.killOnExit);
    this.signal('SIGQUIT');
    for (let waited = 0; this.alive() && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    if (this.alive()) this.signal('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A zombie counts as gone: pg_ctl's postmaster is reparented, and PID 1 may never reap it. */
  private alive(): boolean {
    return isAlive(this.pid);
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }
}
