/**
 * One load-generator process of `bench:witness` (test/bench/witness-bench.ts starts K of them).
 * It plays a slice of the simulated nodes, both nodes of each of its groups, over real gRPC, to
 * two servers at once (target 0: the witness, target 1: the echo server), one at a time.
 *
 *   node dist/test/bench/load-generator.js
 *
 * Driven by JSON commands on stdin, one per line; answers one JSON line on stdout per command,
 * {"reply": <id>, ...}. It exits when stdin closes (the benchmark went away) or on {"cmd":"exit"}.
 *
 *   init     {firstGroup, groups, totalGroups, heartbeatMs, leaseMs, dir}
 *   connect  {addresses: [a0, a1], connections, mode: "stream"|"unary"}   C channels per target
 *   register {target, concurrency}  one heartbeat per node (the witness registers it on the first)
 *   acquire  {target, concurrency}  Acquire for the primary of each group, retried through start-up grace
 *   run      {startAtWallMs, segments: [{target, fromMs, toMs, measured}], drainMs, max, inflight, label}
 *   close    {}                     ends the streams, closes the channels
 *
 * A run is a sequence of segments, each sending to one target: the benchmark alternates the two
 * servers in short segments so that both see the same background load on a shared machine.
 *
 * Paced run: one heartbeat per node per heartbeat period, open loop (never waits for an answer),
 * spread evenly over the period across all generators: node i of N is due at t0 + i/N * period +
 * k * period, and goes to the target of the segment its due time falls in. Requests due in a
 * measured segment are measured: latency from the moment the request was handed to grpc-js to the
 * moment its answer arrived, and the lag of the send behind its schedule (a generator that cannot
 * keep up shows here, not as server latency).
 * Max run: closed loop, `inflight` requests outstanding to the current segment's target, each
 * completion sending the next (round-robin over the nodes); answers received during a measured
 * segment of their target are counted.
 *
 * Latencies are written as raw float64 ms to files in `dir`, merged and sorted by the benchmark.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { GrpcJsTransport, Http2Transport, type StreamHandle, type Transport, type TransportError } from './transport';
import {
  acquireRequest,
  decodeAnswer,
  frame,
  REFUSAL_STARTUP_GRACE,
  renewPrefix,
  renewWithSequence,
  ROLE_PRIMARY,
  ROLE_SECONDARY,
  VERDICT,
  type AnswerFields,
} from './wire';

const KEEPALIVE = '/witness.v1.Witness/KeepAlive';
const RENEW = '/witness.v1.Witness/Renew';
const ACQUIRE = '/witness.v1.Witness/Acquire';
/** Outstanding requests tracked per node (ring); more than this unanswered counts as lost. */
const RING = 64;
const RING_MASK = RING - 1;
/** Deadline of each unary call. */
const UNARY_DEADLINE_MS = 5_000;
/** Target 1 is the echo server: it answers RENEWED to everyone, so verdicts are not checked. */
const ECHO_TARGET = 1;

class Growable {
  data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}

interface SimNode {
  readonly group: string;
  readonly name: string;
  readonly role: number;
  prefix: Buffer;
  epoch: bigint;
  seq: number;
  client: number;
}

/** What a generator counts per target server; reported to the bench over IPC. */
export interface Counters {
  /** Measured requests sent. */
  sent: number;
  /** Measured requests answered with the expected verdict. */
  answered: number;
  refused: number;
  badVerdict: number;
  errors: number;
  errorCodes: Record<string, number>;
  unmatched: number;
  lost: number;
  streamFailures: number;
  verdicts: Record<number, number>;
}

function newCounters(): Counters {
  return {
    sent: 0,
    answered: 0,
    refused: 0,
    badVerdict: 0,
    errors: 0,
    errorCodes: {},
    unmatched: 0,
    lost: 0,
    streamFailures: 0,
    verdicts: {},
  };
}

interface Target {
  transport: Transport;
  streams: (StreamHandle | undefined)[];
  counters: Counters;
  latencies: Growable;
  lags: Growable;
  outstandingMeasured: number;
}

interface Segment {
  target: number;
  fromMs: number;
  toMs: number;
  measured: boolean;
}

class Generator {
  private nodes: SimNode[] = [];
  private offsets = new Float64Array(0);
  private heartbeatMs = 1000;
  private leaseMs = 2000;
  private dir = '';
  private mode: 'stream' | 'unary' = 'stream';
  private targets: Target[] = [];
  // Outstanding requests per node and ring slot: send time, sequence, target, measured.
  private sendTime = new Float64Array(0);
  private slotSeq = new Int32Array(0);
  private slotTarget = new Uint8Array(0);
  private slotMeasured = new Uint8Array(0);
  private readonly scratch: AnswerFields = { verdict: 0, reason: 0, sequence: 0, retryAfterMs: 0, epoch: 0n };
  /** Requests sent and not yet answered or failed. */
  private outstanding = 0;
  private closing = false;
  // Max mode.
  private maxMode = false;
  private maxTarget = -1;
  private maxMeasured = false;
  private nextNode = 0;

  init(cmd: {
    firstGroup: number;
    groups: number;
    heartbeatMs: number;
    leaseMs: number;
    dir: string;
    totalGroups: number;
  }): object {
    this.heartbeatMs = cmd.heartbeatMs;
    this.leaseMs = cmd.leaseMs;
    this.dir = cmd.dir;
    const totalNodes = cmd.totalGroups * 2;
    this.nodes = [];
    const offsets: number[] = [];
    for (let g = cmd.firstGroup; g < cmd.firstGroup + cmd.groups; g++) {
      const group = `bench-g${String(g).padStart(6, '0')}`;
      for (const [k, role] of [ROLE_PRIMARY, ROLE_SECONDARY].entries()) {
        const name = role === ROLE_PRIMARY ? 'p' : 's';
        this.nodes.push({
          group,
          name,
          role,
          prefix: renewPrefix(group, name, role, 0n, 0n, this.leaseMs),
          epoch: 0n,
          seq: 0,
          client: 0,
        });
        // Global node index 2g+k: the whole fleet's heartbeats are spread evenly over one period.
        offsets.push(((2 * g + k) / totalNodes) * this.heartbeatMs);
      }
    }
    this.offsets = Float64Array.from(offsets);
    const n = this.nodes.length;
    this.sendTime = new Float64Array(n * RING);
    this.slotSeq = new Int32Array(n * RING).fill(-1);
    this.slotTarget = new Uint8Array(n * RING);
    this.slotMeasured = new Uint8Array(n * RING);
    return { nodes: n };
  }

  connect(cmd: {
    addresses: string[];
    connections: number;
    mode: 'stream' | 'unary';
    client: 'http2' | 'grpc-js';
  }): object {
    this.mode = cmd.mode;
    const c = Math.max(1, Math.min(cmd.connections, this.nodes.length));
    this.targets = cmd.addresses.map((address) => ({
      transport: cmd.client === 'grpc-js' ? new GrpcJsTransport(address, c) : new Http2Transport(address, c),
      streams: new Array<StreamHandle | undefined>(this.nodes.length),
      counters: newCounters(),
      latencies: new Growable(),
      lags: new Growable(),
      outstandingMeasured: 0,
    }));
    this.nodes.forEach((node, i) => {
      node.client = i % c;
    });
    return { connections: c };
  }

  private resetCounters(): void {
    for (const t of this.targets) {
      t.counters = newCounters();
      t.latencies.clear();
      t.lags.clear();
    }
  }

  // ---- sending and answers ------------------------------------------------------------------------

  private openStream(i: number, target: number): StreamHandle {
    const node = this.nodes[i] as SimNode;
    const t = this.targets[target] as Target;
    const stream = t.transport.openStream(
      node.client,
      KEEPALIVE,
      (bytes) => this.onAnswer(i, target, bytes),
      (error) => {
        if (t.streams[i] === stream) t.streams[i] = undefined;
        this.openStreams--;
        if (this.openStreams === 0) this.allStreamsClosed?.();
        if (this.closing || error === undefined) return;
        t.counters.streamFailures++;
        this.failOutstanding(i, target, error);
      },
    );
    t.streams[i] = stream;
    this.openStreams++;
    return stream;
  }

  private openStreams = 0;
  private allStreamsClosed: (() => void) | undefined;

  private send(i: number, target: number, measured: boolean): void {
    const node = this.nodes[i] as SimNode;
    const t = this.targets[target] as Target;
    const seq = ++node.seq;
    const slot = i * RING + (seq & RING_MASK);
    if (this.slotSeq[slot] !== -1) {
      // The answer to a request RING heartbeats ago never came: count it lost.
      const lostTarget = this.targets[this.slotTarget[slot] as number] as Target;
      if (this.complete(slot)) lostTarget.counters.lost++;
    }
    this.slotSeq[slot] = seq;
    this.slotTarget[slot] = target;
    this.slotMeasured[slot] = measured ? 1 : 0;
    this.outstanding++;
    if (measured) {
      t.outstandingMeasured++;
      t.counters.sent++;
    }
    const bytes = renewWithSequence(node.prefix, seq, t.transport.framed);
    this.sendTime[slot] = performance.now();
    if (this.mode === 'stream') {
      (t.streams[i] ?? this.openStream(i, target)).write(bytes);
      return;
    }
    t.transport.unary(node.client, RENEW, bytes, UNARY_DEADLINE_MS, (error, answer) => {
      if (error || answer === undefined) this.onUnaryError(slot, seq, error);
      else this.onAnswer(i, target, answer);
    });
  }

  /** Called (once) when a request completes: lets register() keep a bounded number in flight. */
  private freed: (() => void) | undefined;

  /** Frees a slot; returns whether it was measured. */
  private complete(slot: number): boolean {
    const measured = this.slotMeasured[slot] === 1;
    this.slotSeq[slot] = -1;
    this.outstanding--;
    if (this.freed) {
      const freed = this.freed;
      this.freed = undefined;
      freed();
    }
    if (measured) (this.targets[this.slotTarget[slot] as number] as Target).outstandingMeasured--;
    return measured;
  }

  private onAnswer(i: number, target: number, bytes: Buffer): void {
    const now = performance.now();
    const a = decodeAnswer(bytes, this.scratch);
    const slot = i * RING + (a.sequence & RING_MASK);
    const t = this.targets[target] as Target;
    if (this.slotSeq[slot] !== a.sequence || this.slotTarget[slot] !== target) {
      // An answer to nothing outstanding (a wrong or repeated sequence).
      t.counters.unmatched++;
      return;
    }
    const sentAt = this.sendTime[slot] as number;
    const measuredBySend = this.complete(slot);
    const measured = this.maxMode ? this.maxMeasured && target === this.maxTarget : measuredBySend;
    if (measured) {
      const c = t.counters;
      c.verdicts[a.verdict] = (c.verdicts[a.verdict] ?? 0) + 1;
      const node = this.nodes[i] as SimNode;
      const expected =
        target === ECHO_TARGET ? VERDICT.RENEWED : node.epoch > 0n ? VERDICT.RENEWED : VERDICT.ACKNOWLEDGED;
      if (a.verdict === VERDICT.REFUSED) c.refused++;
      else if (a.verdict !== expected) c.badVerdict++;
      else {
        c.answered++;
        t.latencies.push(now - sentAt);
      }
    }
    if (this.maxMode && target === this.maxTarget) this.sendNextMax();
  }

  private onUnaryError(slot: number, seq: number, error: TransportError | undefined): void {
    if (this.slotSeq[slot] !== seq) return;
    const target = this.slotTarget[slot] as number;
    const measured = this.complete(slot);
    this.countError(target, error, this.maxMode ? this.maxMeasured && target === this.maxTarget : measured);
    if (this.maxMode && target === this.maxTarget) this.sendNextMax();
  }

  private failOutstanding(i: number, target: number, error: TransportError): void {
    for (let k = 0; k < RING; k++) {
      const slot = i * RING + k;
      if (this.slotSeq[slot] === -1 || this.slotTarget[slot] !== target) continue;
      const measured = this.complete(slot);
      this.countError(target, error, this.maxMode ? this.maxMeasured : measured);
    }
  }

  private countError(target: number, error: TransportError | undefined, measured: boolean): void {
    if (!measured) return;
    const c = (this.targets[target] as Target).counters;
    c.errors++;
    const code = error?.code ?? 'no answer';
    c.errorCodes[code] = (c.errorCodes[code] ?? 0) + 1;
  }

  // ---- commands -------------------------------------------------------------------------------

  async register(cmd: { target: number; concurrency: number }): Promise<object> {
    this.maxMode = false;
    this.resetCounters();
    const t = this.targets[cmd.target] as Target;
    const t0 = performance.now();
    // One heartbeat per node, checked like measured ones.
    for (let i = 0; i < this.nodes.length; i++) {
      while (this.outstanding >= cmd.concurrency) await this.slotFreed(1000);
      this.send(i, cmd.target, true);
    }
    await this.drain(30_000);
    const c = t.counters;
    const out = {
      nodes: this.nodes.length,
      ms: performance.now() - t0,
      ok: c.answered,
      failed: c.refused + c.badVerdict + c.errors + c.lost + t.outstandingMeasured,
      errorCodes: c.errorCodes,
      verdicts: c.verdicts,
    };
    this.resetCounters();
    return out;
  }

  async acquire(cmd: { target: number; concurrency: number }): Promise<object> {
    const t0 = performance.now();
    const t = this.targets[cmd.target] as Target;
    const primaries = this.nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.role === ROLE_PRIMARY);
    let granted = 0;
    let failed = 0;
    let graceRetries = 0;
    const problems: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const job = primaries[next++];
        if (job === undefined) return;
        for (let attempt = 0; ; attempt++) {
          const result = await this.acquireOne(t, job.n);
          if (result.ok) {
            granted++;
            break;
          }
          if (result.retryAfterMs !== undefined && attempt < 20) {
            graceRetries++;
            await new Promise((r) => setTimeout(r, (result.retryAfterMs ?? 0) + 20));
            continue;
          }
          failed++;
          if (problems.length < 5) problems.push(result.problem ?? 'unknown');
          break;
        }
        // The primary runs under the new epoch; both nodes report it as the highest they know.
        const secondary = this.nodes[job.i + 1] as SimNode;
        job.n.prefix = renewPrefix(job.n.group, job.n.name, ROLE_PRIMARY, job.n.epoch, job.n.epoch, this.leaseMs);
        secondary.prefix = renewPrefix(secondary.group, secondary.name, ROLE_SECONDARY, 0n, job.n.epoch, this.leaseMs);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, cmd.concurrency) }, () => worker()));
    return { granted, failed, graceRetries, problems, ms: performance.now() - t0 };
  }

  private acquireOne(t: Target, node: SimNode): Promise<{ ok: boolean; retryAfterMs?: number; problem?: string }> {
    const message = acquireRequest(node.group, node.name, node.epoch, this.leaseMs, ++node.seq);
    return new Promise((resolve) => {
      t.transport.unary(
        node.client,
        ACQUIRE,
        t.transport.framed ? frame(message) : message,
        30_000,
        (error, answer) => {
          if (error || answer === undefined) {
            resolve({ ok: false, problem: error?.message ?? 'no answer' });
            return;
          }
          const a = decodeAnswer(answer, { verdict: 0, reason: 0, sequence: 0, retryAfterMs: 0, epoch: 0n }, true);
          if (a.verdict === VERDICT.GRANTED) {
            node.epoch = a.epoch;
            resolve({ ok: true });
          } else if (a.verdict === VERDICT.REFUSED && a.reason === REFUSAL_STARTUP_GRACE) {
            resolve({ ok: false, retryAfterMs: a.retryAfterMs });
          } else {
            resolve({ ok: false, problem: `verdict ${a.verdict} reason ${a.reason}` });
          }
        },
      );
    });
  }

  async run(cmd: {
    startAtWallMs: number;
    segments: Segment[];
    drainMs: number;
    max: boolean;
    inflight: number;
    label: string;
  }): Promise<object> {
    this.resetCounters();
    const t0 = performance.now() + (cmd.startAtWallMs - Date.now());
    const segments = cmd.segments;
    const cpu0 = process.cpuUsage();
    await sleepUntil(t0);
    if (cmd.max) await this.saturate(t0, segments, cmd.inflight);
    else await this.paced(t0, segments);
    const drained = await this.drain(cmd.drainMs);
    const cpu = process.cpuUsage(cpu0);
    const perTarget = this.targets.map((t, k) => {
      const latFile = path.join(this.dir, `lat-${process.pid}-${cmd.label}-${k}.f64`);
      const lat = t.latencies.view();
      fs.writeFileSync(latFile, Buffer.from(lat.buffer, lat.byteOffset, lat.byteLength));
      const lags = Float64Array.from(t.lags.view()).sort();
      const pick = (p: number): number =>
        lags.length
          ? (lags[Math.min(lags.length - 1, Math.max(0, Math.ceil((p / 100) * lags.length) - 1))] as number)
          : 0;
      return {
        ...t.counters,
        // Paced: measured requests still unanswered after the drain. Max: cut off at the end, not counted.
        unanswered: cmd.max ? 0 : t.outstandingMeasured,
        latFile,
        lagMs: { p50: pick(50), p99: pick(99), max: lags.length ? (lags[lags.length - 1] as number) : 0 },
      };
    });
    this.maxMode = false;
    return { nodes: this.nodes.length, drained, cpuSeconds: (cpu.user + cpu.system) / 1e6, targets: perTarget };
  }

  private sendNextMax(): void {
    const i = this.nextNode;
    this.nextNode = (this.nextNode + 1) % this.nodes.length;
    this.send(i, this.maxTarget, false);
  }

  private async saturate(t0: number, segments: readonly Segment[], inflight: number): Promise<void> {
    this.maxMode = true;
    const window = Math.min(inflight, this.nodes.length * (RING / 2));
    for (const seg of segments) {
      await sleepUntil(t0 + seg.fromMs);
      this.maxTarget = seg.target;
      this.maxMeasured = seg.measured;
      for (let k = 0; k < window; k++) this.sendNextMax();
      await sleepUntil(t0 + seg.toMs);
      // What is still in flight completes without a successor.
      this.maxTarget = -1;
      this.maxMeasured = false;
    }
  }

  private paced(t0: number, segments: readonly Segment[]): Promise<void> {
    const n = this.nodes.length;
    const period = this.heartbeatMs;
    const end = t0 + Math.max(...segments.map((s) => s.toMs));
    let idx = 0;
    let round = 0;
    let segIdx = 0;
    return new Promise((resolve) => {
      const step = (): void => {
        const now = performance.now();
        for (;;) {
          const due = t0 + round * period + (this.offsets[idx] as number);
          if (due >= end) {
            resolve();
            return;
          }
          if (due > now) {
            setTimeout(step, Math.max(0, Math.floor(due - now)));
            return;
          }
          while (segIdx < segments.length - 1 && due >= t0 + (segments[segIdx] as Segment).toMs) segIdx++;
          const seg = segments[segIdx] as Segment;
          const measured = seg.measured && due >= t0 + seg.fromMs;
          if (measured) (this.targets[seg.target] as Target).lags.push(now - due);
          this.send(idx, seg.target, measured);
          idx++;
          if (idx === n) {
            idx = 0;
            round++;
          }
        }
      };
      step();
    });
  }

  /** Resolves when a request completes, or after `ms` (a stream that never answers). */
  private slotFreed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.freed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Waits until nothing is outstanding, or `ms`; true when everything was answered. */
  private async drain(ms: number): Promise<boolean> {
    const until = performance.now() + ms;
    while (this.outstanding > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    return this.outstanding === 0;
  }

  async close(): Promise<object> {
    this.closing = true;
    const all: StreamHandle[] = [];
    for (const t of this.targets) for (const stream of t.streams) if (stream !== undefined) all.push(stream);
    // Half-close every stream; whatever has not finished within 2 s is cancelled.
    const closed = new Promise<void>((resolve) => {
      this.allStreamsClosed = resolve;
      if (this.openStreams === 0) resolve();
    });
    for (const stream of all) stream.end();
    await Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 2000))]);
    this.allStreamsClosed = undefined;
    for (const stream of all) stream.cancel();
    for (const t of this.targets) t.transport.close();
    this.targets = [];
    // Forget whatever was outstanding (it belonged to the old connections).
    this.slotSeq.fill(-1);
    this.outstanding = 0;
    this.openStreams = 0;
    this.closing = false;
    return { closedStreams: all.length };
  }
}

async function sleepUntil(t: number): Promise<void> {
  for (;;) {
    const left = t - performance.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, 1000)));
  }
}

function main(): void {
  const generator = new Generator();
  const reply = (id: unknown, body: object): void => {
    process.stdout.write(`${JSON.stringify({ reply: id, ...body })}\n`);
  };
  // Commands run one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(async () => {
      let cmd: { id?: unknown; cmd?: string } & Record<string, unknown>;
      try {
        cmd = JSON.parse(line) as typeof cmd;
      } catch {
        reply(null, { error: `not JSON: ${line.slice(0, 200)}` });
        return;
      }
      try {
        switch (cmd.cmd) {
          case 'init':
            reply(cmd.id, generator.init(cmd as never));
            return;
          case 'connect':
            reply(cmd.id, generator.connect(cmd as never));
            return;
          case 'register':
            reply(cmd.id, await generator.register(cmd as never));
            return;
          case 'acquire':
            reply(cmd.id, await generator.acquire(cmd as never));
            return;
          case 'run':
            reply(cmd.id, await generator.run(cmd as never));
            return;
          case 'close':
            reply(cmd.id, await generator.close());
            return;
          case 'exit':
            reply(cmd.id, {});
            process.exit(0);
            return;
          default:
            reply(cmd.id, { error: `unknown command ${String(cmd.cmd)}` });
        }
      } catch (error) {
        reply(cmd.id, { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    });
  });
  rl.on('close', () => process.exit(0));
}

if (require.main === module) main();
