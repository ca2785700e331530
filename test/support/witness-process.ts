/**
 * A real `witness serve` process for end-to-end tests, typed gRPC clients for it, and `buf curl`.
 *
 * Every process goes through spawnTracked (test/support/processes.ts): call killAllTracked() in an
 * afterEach hook and nothing outlives a failing test. Every wait here is bounded.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { AcquireRequest } from '../../src/gen/witness/v1/AcquireRequest';
import type { AdminClient } from '../../src/gen/witness/v1/Admin';
import type { GroupEvent__Output } from '../../src/gen/witness/v1/GroupEvent';
import type { GroupStatus__Output } from '../../src/gen/witness/v1/GroupStatus';
import type { LeaseAnswer__Output } from '../../src/gen/witness/v1/LeaseAnswer';
import type { ListGroupsRequest } from '../../src/gen/witness/v1/ListGroupsRequest';
import type { ListGroupsResponse__Output } from '../../src/gen/witness/v1/ListGroupsResponse';
import type { ReleaseRequest } from '../../src/gen/witness/v1/ReleaseRequest';
import type { RenewRequest } from '../../src/gen/witness/v1/RenewRequest';
import type { WitnessClient } from '../../src/gen/witness/v1/Witness';
import { loadWitnessProto } from '../../src/proto/load-proto';
import { freePort, spawnNode, spawnTracked, type ExitInfo, type TrackedProcess } from './processes';

/** The package root, from dist/test/support. */
export const ROOT = path.resolve(__dirname, '../../..');
/**
 * The compiled CLI: dist/src/cli/main.js. E2E_WITNESS_MAIN points the tests at another build (for
 * instance a patched copy, to check that a failing test passes once the bug it shows is fixed).
 */
export const WITNESS_MAIN = process.env.E2E_WITNESS_MAIN ?? path.resolve(__dirname, '../../src/cli/main.js');
export const BUF = path.join(ROOT, 'node_modules/.bin/buf');

/** Bound on a witness's start (spawn, store open, bind). */
export const START_TIMEOUT_MS = 10_000;
/** Deadline of every unary call a test makes. */
export const CALL_DEADLINE_MS = 5_000;

export interface RunningWitness {
  readonly proc: TrackedProcess;
  readonly port: number;
  /** 127.0.0.1:PORT */
  readonly address: string;
  /** The parsed "witness listening" log line. */
  readonly listening: Record<string, unknown>;
}

/** The environment of the test runner without WITNESS_* variables, which would configure the witness. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('WITNESS_')));
}

/** The witness flags of a test that is not about who may join a group. */
export const OPEN_REGISTRATION: readonly string[] = ['--open-registration'];

/** Spawns `witness serve` with `args` (no --listen: it picks a free loopback port); not awaited. */
export function spawnWitness(
  dataDir: string,
  port: number,
  args: readonly string[] = [],
  name = 'witness',
  extraEnv: NodeJS.ProcessEnv = {},
): TrackedProcess {
  // Tests not about admission run with today's open registration (loopback only, design §17.1).
  // A test that names the admission, or gives a CA (which then vouches for identities), gets its own.
  const chosen = ['--groups-file', '--open-registration', '--tls-ca'].some((flag) => args.includes(flag));
  const admission = chosen ? [] : OPEN_REGISTRATION;
  return spawnNode(
    WITNESS_MAIN,
    ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...admission, ...args],
    {
      name,
      env: { ...cleanEnv(), ...extraEnv },
    },
  );
}

/**
 * Starts `witness serve --data-dir DIR ARGS` on a free loopback port and waits for its "witness
 * listening" line. Retries on another port if the one picked was taken in between.
 */
export async function startWitness(
  dataDir: string,
  args: readonly string[] = [],
  name = 'witness',
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<RunningWitness> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const proc = spawnWitness(dataDir, port, args, name, extraEnv);
    try {
      const line = await proc.waitForLine(/"msg":"witness listening"/, START_TIMEOUT_MS, { stream: 'stdout' });
      const listening = JSON.parse(line) as Record<string, unknown>;
      if (listening.port !== port) throw new Error(`listening on ${String(listening.port)}, not ${port}: ${line}`);
      return { proc, port, address: `127.0.0.1:${port}`, listening };
    } catch (error) {
      lastError = error;
      const exit = await proc.waitForExit(1000).catch(() => undefined);
      if (exit === undefined || !/EADDRINUSE|address already in use/i.test(proc.output(50))) throw error;
    }
  }
  throw lastError;
}

export interface Clients {
  readonly witness: WitnessClient;
  readonly admin: AdminClient;
  readonly health: grpc.Client;
  close(): void;
}

/** Clients of the witness at `address`: plaintext unless given TLS `credentials` (test/support/test-certs.ts). */
export function connect(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): Clients {
  const { grpcObject } = loadWitnessProto();
  const witness = new grpcObject.witness.v1.Witness(address, credentials, options);
  const admin = new grpcObject.witness.v1.Admin(address, credentials, options);
  const healthPackage = grpc.loadPackageDefinition(
    protoLoader.loadSync(healthProtoPath, { enums: String }),
  ) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const Health = healthPackage.grpc.health.v1.Health;
  const health = new Health(address, credentials, options);
  return {
    witness,
    admin,
    health,
    close: () => {
      witness.close();
      admin.close();
      health.close();
    },
  };
}

export function deadline(ms = CALL_DEADLINE_MS): grpc.CallOptions {
  return { deadline: Date.now() + ms };
}

type Callback<Res> = (error: grpc.ServiceError | null, response?: Res) => void;

/** Promisifies one unary call (`start` issues it with the callback); rejects with the ServiceError. */
export function unary<Res>(start: (callback: Callback<Res>) => unknown): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    start((error, response) => {
      if (error) reject(error);
      else if (response === undefined) reject(new Error('no response'));
      else resolve(response);
    });
  });
}

/** The calls tests make, each with a deadline. */
export function calls(c: Clients) {
  return {
    renew: (r: RenewRequest) => unary<LeaseAnswer__Output>((cb) => c.witness.Renew(r, deadline(), cb)),
    acquire: (r: AcquireRequest) => unary<LeaseAnswer__Output>((cb) => c.witness.Acquire(r, deadline(), cb)),
    release: (r: ReleaseRequest) => unary<LeaseAnswer__Output>((cb) => c.witness.Release(r, deadline(), cb)),
    getGroup: (group: string) => unary<GroupStatus__Output>((cb) => c.admin.GetGroup({ group }, deadline(), cb)),
    listGroups: (r: ListGroupsRequest = {}) =>
      unary<ListGroupsResponse__Output>((cb) => c.admin.ListGroups(r, deadline(), cb)),
    healthCheck: (service = '') =>
      unary<{ status: string }>((cb) =>
        (
          c.health as unknown as { Check: (r: object, o: grpc.CallOptions, cb: Callback<{ status: string }>) => void }
        ).Check({ service }, deadline(), cb),
      ),
  };
}

/** The ServiceError a call failed with; fails if it succeeded. */
export async function callError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  let answer: unknown;
  try {
    answer = await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error(`expected the call to fail, but it answered ${JSON.stringify(answer)}`);
}

/** A unary call with hand-made request bytes and raw response bytes, as a broken client sends it. */
export function rawUnary(address: string, method: string, bytes: Buffer): Promise<Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      deadline(),
      (error: grpc.ServiceError | null, response?: Buffer) => {
        client.close();
        if (error) reject(error);
        else resolve(response ?? Buffer.alloc(0));
      },
    );
  });
}

/** Collects an Admin.Watch stream's events; `waitFor` resolves with the first matching one. */
export class EventCollector {
  readonly events: GroupEvent__Output[] = [];
  private readonly waiters = new Set<{
    match: (e: GroupEvent__Output) => boolean;
    resolve: (e: GroupEvent__Output) => void;
  }>();
  private failure: Error | undefined;

  constructor(readonly call: grpc.ClientReadableStream<GroupEvent__Output>) {
    call.on('data', (event: GroupEvent__Output) => {
      this.events.push(event);
      for (const w of [...this.waiters]) {
        if (w.match(event)) {
          this.waiters.delete(w);
          w.resolve(event);
        }
      }
    });
    call.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  waitFor(match: (e: GroupEvent__Output) => boolean, timeoutMs: number): Promise<GroupEvent__Output> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (e: GroupEvent__Output) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `no matching Watch event within ${timeoutMs} ms (stream error: ${String(this.failure?.message)}); ` +
              `got ${JSON.stringify(this.events)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it returns true; throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`${what}: not true within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export type WitnessCalls = ReturnType<typeof calls>;

/** Room for a start-up grace of a few seconds on a loaded machine. */
export const GRACE_TIMEOUT_MS = 8_000;

/** Waits until the witness reports its start-up grace over (GetGroup of a known group). */
export async function graceOver(api: WitnessCalls, group: string, timeoutMs = GRACE_TIMEOUT_MS): Promise<void> {
  await waitUntil('start-up grace over', async () => !(await api.getGroup(group)).inStartupGrace, timeoutMs);
}

/** Registers primary "a" and secondary "b" in `group`. */
export async function registerPair(api: WitnessCalls, group: string): Promise<void> {
  await api.renew({ group, node: 'a', role: 'ROLE_PRIMARY' });
  await api.renew({ group, node: 'b', role: 'ROLE_SECONDARY' });
}

/** Registers the pair, waits out the grace, and has "a" granted the group; throws if it is not. */
export async function grantToA(api: WitnessCalls, group: string): Promise<LeaseAnswer__Output> {
  await registerPair(api, group);
  await graceOver(api, group);
  const granted = await api.acquire({ group, node: 'a' });
  if (granted.verdict !== 'VERDICT_GRANTED' || granted.holder !== 'a') {
    throw new Error(`expected a grant to a in ${group}, got ${JSON.stringify(granted)}`);
  }
  return granted;
}

export interface BufResult extends ExitInfo {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `buf curl --protocol grpc --http2-prior-knowledge ARGS` (schema from server reflection,
 * the default) and resolves with its exit and output; the process is killed after `timeoutMs`.
 */
export async function bufCurl(args: readonly string[], cacheDir: string, timeoutMs = 15_000): Promise<BufResult> {
  const proc = spawnTracked(
    BUF,
    ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--connect-timeout', '5', ...args],
    {
      name: 'buf curl',
      env: { ...cleanEnv(), BUF_CACHE_DIR: cacheDir },
    },
  );
  const exit = await proc.runToCompletion(timeoutMs);
  return { ...exit, stdout: proc.stdoutLines.join('\n'), stderr: proc.stderrLines.join('\n') };
}

/** buf curl's exit status for a failed RPC: the gRPC code shifted three bits left. */
export function bufExitFor(code: grpc.status): number {
  return code << 3;
}

/** Reads a JSON answer of buf curl, with the whole output in the error when it is not JSON. */
export function bufJson(result: BufResult): Record<string, unknown> {
  try {
    return JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`buf curl did not print JSON (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`);
  }
}
