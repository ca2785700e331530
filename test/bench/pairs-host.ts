/**
 * One sidecar-host process of `bench:pairs` (test/bench/pairs-bench.ts starts K of them): it embeds
 * both library sidecars (`startSidecar`, src/index.ts) of each of its groups, with the production
 * witness and peer links, at the default settings. The workload is the library's callback pair;
 * activate and deactivate only note who runs, so a group whose two sidecars are active at once is
 * seen at the moment the second one starts.
 *
 *   node dist/test/bench/pairs-host.js
 *
 * Driven by JSON commands on stdin, one per line, each answered by one JSON line on stdout,
 * {"reply": <id>, ...}, like test/bench/load-generator.ts. It exits when stdin closes.
 *
 *   start   {firstGroup, groups, hostIndex, ports: [primary, secondary], witness, dir, concurrency}
 *   status  {}        groups held, running, overlaps, warnings logged
 *   measure {}        resets the call records (the measured window begins)
 *   take    {label}   the call records since `measure`; latencies to a file in `dir`
 *   close   {concurrency}  closes every sidecar (each releases its group)
 *
 * Group g's two sidecars listen on 127.(20 + hostIndex).X.Y (distinct per group) at the two ports:
 * the same two ports on every address, and no ephemeral-port use for listening.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import pino from 'pino';
import { startSidecar, type SidecarHandle } from '../../src/index';
import { timeSidecarCalls, type CallRecord } from './call-timing';

const ADDRESSES_PER_OCTET = 250;
/** Warning lines kept verbatim (the rest are only counted by message). */
const WARNINGS_KEPT = 5;

interface Group {
  readonly name: string;
  readonly handles: (SidecarHandle | undefined)[];
  /** Which of primary (0) and secondary (1) is active (between activate and deactivate). */
  readonly active: [boolean, boolean];
}

export interface HostStatus {
  asked: number;
  started: number;
  /** The primary is active, its workload running, and it holds the group at the witness. */
  held: number;
  secondaryActive: number;
  /** Groups whose two sidecars both report active right now. */
  bothActiveNow: number;
  /** Since start: an activate while the other sidecar of the group was active. */
  overlaps: number;
  overlapSamples: string[];
  activations: { primary: number; secondary: number };
  warnings: Record<string, number>;
  warningSamples: string[];
  /** V8 heap in use (MB), after the last GC: what the sidecars keep, without the node binary. */
  heapUsedMb: number;
}

export interface CallFigures {
  file: string;
  answered: number;
  errors: number;
  errorCodes: Record<string, number>;
}

class Host {
  private groups: Group[] = [];
  private dir = '';
  private overlaps = 0;
  private readonly overlapSamples: string[] = [];
  private readonly activations = { primary: 0, secondary: 0 };
  private readonly warnings: Record<string, number> = {};
  private readonly warningSamples: string[] = [];
  private readonly calls = timeSidecarCalls();
  /** Warnings only, counted by message: a flood of log lines from thousands of sidecars would cost CPU itself. */
  private readonly logger = pino(
    { level: 'warn' },
    {
      write: (line: string): void => {
        let msg = '?';
        try {
          msg = String((JSON.parse(line) as { msg?: unknown }).msg);
        } catch {
          // not JSON: counted under '?'
        }
        this.warnings[msg] = (this.warnings[msg] ?? 0) + 1;
        if (this.warningSamples.length < WARNINGS_KEPT) this.warningSamples.push(line.trim().slice(0, 500));
      },
    },
  );

  async start(cmd: {
    firstGroup: number;
    groups: number;
    hostIndex: number;
    ports: [number, number];
    witness: string;
    dir: string;
    concurrency: number;
  }): Promise<{ started: number; ms: number }> {
    const t0 = performance.now();
    this.dir = cmd.dir;
    this.groups = Array.from({ length: cmd.groups }, (_, i) => ({
      name: `g${cmd.firstGroup + i}`,
      handles: [undefined, undefined],
      active: [false, false],
    }));
    const host = (i: number): string =>
      `127.${20 + cmd.hostIndex}.${Math.floor(i / ADDRESSES_PER_OCTET)}.${1 + (i % ADDRESSES_PER_OCTET)}`;
    const jobs = this.groups.flatMap((group, i) =>
      ([0, 1] as const).map((side) => async (): Promise<void> => {
        const address = host(i);
        group.handles[side] = await startSidecar({
          group: group.name,
          node: side === 0 ? 'p' : 's',
          peerNode: side === 0 ? 's' : 'p',
          role: side === 0 ? 'primary' : 'secondary',
          listen: `${address}:${cmd.ports[side]}`,
          peer: `${address}:${cmd.ports[1 - side]}`,
          witness: cmd.witness,
          logger: this.logger,
          activate: () => this.activated(group, side),
          deactivate: () => {
            group.active[side] = false;
          },
        });
      }),
    );
    await inBatches(jobs, cmd.concurrency);
    return { started: this.started(), ms: performance.now() - t0 };
  }

  private activated(group: Group, side: 0 | 1): void {
    if (group.active[1 - side]) {
      this.overlaps += 1;
      if (this.overlapSamples.length < WARNINGS_KEPT)
        this.overlapSamples.push(`${group.name}: ${side === 0 ? 'p' : 's'} activated while the other was active`);
    }
    group.active[side] = true;
    this.activations[side === 0 ? 'primary' : 'secondary'] += 1;
  }

  private started(): number {
    return this.groups.reduce((n, g) => n + g.handles.filter((h) => h !== undefined).length, 0);
  }

  status(): HostStatus {
    let held = 0;
    let secondaryActive = 0;
    let bothActiveNow = 0;
    for (const g of this.groups) {
      const [p, s] = g.handles.map((h) => h?.state());
      if (p?.active === true && p.workload === 'WORKLOAD_PHASE_RUNNING' && p.holding) held += 1;
      if (s?.active === true) secondaryActive += 1;
      if (p?.active === true && s?.active === true) bothActiveNow += 1;
    }
    return {
      asked: this.groups.length,
      started: this.started(),
      held,
      secondaryActive,
      bothActiveNow,
      overlaps: this.overlaps,
      overlapSamples: this.overlapSamples,
      activations: this.activations,
      warnings: this.warnings,
      warningSamples: this.warningSamples,
      heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
    };
  }

  measure(): { measuring: true } {
    for (const record of Object.values(this.calls)) record.take();
    return { measuring: true };
  }

  take(cmd: { label: string }): Record<string, CallFigures> {
    const out: Record<string, CallFigures> = {};
    for (const [name, record] of Object.entries(this.calls) as [string, CallRecord][]) {
      const { latencies, errors, errorCodes } = record.take();
      const file = path.join(this.dir, `${cmd.label}-${name}-${process.pid}.f64`);
      fs.writeFileSync(file, Buffer.from(Float64Array.from(latencies).buffer));
      out[name] = { file, answered: latencies.length, errors, errorCodes };
    }
    return out;
  }

  async close(cmd: { concurrency: number }): Promise<{ ms: number; failed: number }> {
    const t0 = performance.now();
    let failed = 0;
    const jobs = this.groups.flatMap((g) =>
      g.handles.map((h) => async (): Promise<void> => {
        await h?.close().catch(() => {
          failed += 1;
        });
      }),
    );
    await inBatches(jobs, cmd.concurrency);
    return { ms: performance.now() - t0, failed };
  }
}

/** Runs the jobs, at most `concurrency` at a time; the first failure rejects. */
async function inBatches(jobs: readonly (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
}

function main(): void {
  const host = new Host();
  const reply = (id: unknown, body: object): void => {
    process.stdout.write(`${JSON.stringify({ reply: id, ...body })}\n`);
  };
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('close', () => process.exit(0));
  rl.on('line', (line) => {
    let cmd: { id?: unknown; cmd?: unknown } & Record<string, unknown>;
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      reply(null, { error: `not JSON: ${line.slice(0, 200)}` });
      return;
    }
    void (async () => {
      try {
        switch (cmd.cmd) {
          case 'start':
            return reply(cmd.id, await host.start(cmd as never));
          case 'status':
            return reply(cmd.id, host.status());
          case 'measure':
            return reply(cmd.id, host.measure());
          case 'take':
            return reply(cmd.id, host.take(cmd as never));
          case 'close':
            return reply(cmd.id, await host.close(cmd as never));
          default:
            return reply(cmd.id, { error: `unknown command ${String(cmd.cmd)}` });
        }
      } catch (error) {
        reply(cmd.id, { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    })();
  });
}

if (require.main === module) main();
