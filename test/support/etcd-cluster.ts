/**
 * Real etcd (Debian's `etcd-server`, 3.4) for the tests of the etcd store (issue 12): a cluster of
 * one or three members on loopback ports, each with a temporary data directory. Members are
 * started with spawnTracked, so `killAllTracked()` in an afterEach hook stops them by PID also
 * when a test fails; `stop()` stops them by PID and removes their directories. Without etcd the
 * suite is skipped, saying how to install it; under CI=true that is a failure (require-tool.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { listenPort } from './cluster';
import { spawnTracked, type TrackedProcess } from './processes';
import { type OsTool, requireTool } from './require-tool';

const ETCD = process.env.ETCD ?? 'etcd';

const ETCD_TOOL: OsTool = {
  name: 'etcd',
  probe: [ETCD, '--version'],
  why:
    'the etcd command is not on PATH: the etcd store is tested against real etcd processes; ' +
    'install it with apt-get install --no-install-recommends etcd-server (Debian, Ubuntu), or set ETCD',
};

/** How long a member may take to say it serves clients. */
const READY_TIMEOUT_MS = 20_000;

/** Call from a `before` hook: returns if etcd runs, else skips the suite (or throws under CI=true). */
export function requireEtcd(context: Mocha.Context): void {
  requireTool(context, ETCD_TOOL);
}

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  process: TrackedProcess | undefined;
}

/** Clients must speak TLS to the members and present a certificate of this CA (etcd's --client-cert-auth). */
export interface EtcdClientTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export class EtcdCluster {
  private constructor(
    private readonly members: readonly Member[],
    private readonly root: string,
    private readonly token: string,
    private readonly tls: EtcdClientTls | undefined,
  ) {}

  /** Starts `size` members and waits until each serves clients (over TLS with `tls`). */
  static async start(size: 1 | 3, tls?: EtcdClientTls): Promise<EtcdCluster> {
    const root = await mkdtemp(join(tmpdir(), 'fw-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i += 1) {
      const [client, peer] = [await listenPort(), await listenPort()];
      members.push({
        name: `m${i}`,
        clientUrl: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${client}`,
        peerUrl: `http://127.0.0.1:${peer}`,
        dataDir: join(root, `m${i}`),
        process: undefined,
      });
    }
    const cluster = new EtcdCluster(members, root, `fw-${process.pid}-${Date.now()}`, tls);
    try {
      await Promise.all(members.map((m) => cluster.launch(m, 'new')));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The members' client URLs, in order. */
  endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** A client of the whole cluster; the caller closes it. */
  client(): Etcd3 {
    return new Etcd3({ hosts: this.endpoints(), dialTimeout: 2_000 });
  }

  /** The PID of a running member (tests signal it: SIGKILL, SIGSTOP). */
  pid(index: number): number {
    const p = this.member(index).process;
    if (p === undefined) throw new Error(`etcd member m${index} is not running`);
    return p.pid;
  }

  /** Kills a member by its PID (SIGKILL) and waits for it to exit. */
  async kill(index: number): Promise<void> {
    const m = this.member(index);
    const p = m.process;
    if (p === undefined) return;
    m.process = undefined;
    p.killNow('SIGKILL');
    await p.exited;
  }

  /** Starts a killed member again over its data directory. */
  async restart(index: number): Promise<void> {
    const m = this.member(index);
    if (m.process !== undefined) return;
    await this.launch(m, 'existing');
  }

  /** Stops every member by its PID and removes the data directories. */
  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i += 1) await this.kill(i);
    await rm(this.root, { recursive: true, force: true });
  }

  private member(index: number): Member {
    const m = this.members[index];
    if (m === undefined) throw new Error(`no etcd member ${index}`);
    return m;
  }

  private async launch(m: Member, state: 'new' | 'existing'): Promise<void> {
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const p = spawnTracked(
      ETCD,
      [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=${m.clientUrl}`,
        `--advertise-client-urls=${m.clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${this.token}`,
        ...(this.tls === undefined
          ? []
          : [
              `--cert-file=${this.tls.cert}`,
              `--key-file=${this.tls.key}`,
              `--trusted-ca-file=${this.tls.ca}`,
              '--client-cert-auth',
            ]),
      ],
      { name: `etcd ${m.name}` },
    );
    m.process = p;
    await p.waitForLine(/ready to serve client requests/, READY_TIMEOUT_MS);
  }
}
