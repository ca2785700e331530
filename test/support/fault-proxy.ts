/**
 * A byte-transparent TCP proxy on 127.0.0.1 for injecting network faults between real processes
 * (the traffic is gRPC over HTTP/2, so nothing is parsed or rewritten; only bytes are forwarded,
 * delayed or discarded).
 *
 * Modes (settable at any time with `setMode`):
 * - `'pass'`: forward both ways.
 * - `'refuse'`: existing connections are reset (RST on both sides); new connections are accepted and
 *   reset at once, so the peer sees ECONNRESET (gRPC reports UNAVAILABLE, as for a refusal).
 * - `'blackhole'`: every connection stays open and new ones are accepted (but not connected to the
 *   target), yet nothing is delivered in either direction and no FIN/RST is passed on: bytes, FINs
 *   and resets are discarded silently, like a cut cable. Nothing is buffered.
 * - `'drop-forward'` / `'drop-backward'`: one-way loss. Bytes (and FIN/RST) from client->target,
 *   resp. target->client, are discarded while the other direction flows; connections stay open.
 * - `{ delayMs }` (see `delay(ms)`): every chunk, FIN and RST is delayed by `delayMs` in both
 *   directions, order preserved. Buffering is bounded: a source socket is paused while more than
 *   MAX_QUEUED_BYTES wait in its direction (TCP back-pressure then slows the sender).
 *
 * Recovery semantics (chosen and fixed): faults stick to the connections that lived through them.
 * A direction that was lost on a connection (by `'blackhole'` or a `'drop-*'` mode) stays lost for
 * that connection's lifetime, also after `setMode('pass')`: resuming it would hand the peer an
 * HTTP/2 byte stream with a hole in it, and a real connection after a long cut is dead as well.
 * Such connections stay silently open until a peer gives up (e.g. gRPC keepalive), `close()`, or
 * `resetConnections()`. Connections accepted after the switch back to `'pass'` work normally.
 * Delay never kills a connection: switching from a delay back to `'pass'` keeps everything flowing.
 *
 * Only loopback targets (127.0.0.0/8 or "localhost") are accepted.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export type Direction = 'forward' | 'backward';

export type FaultMode =
  'pass' | 'refuse' | 'blackhole' | 'drop-forward' | 'drop-backward' | { readonly delayMs: number };

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

export interface FaultProxyStats {
  /** Connections accepted by the proxy (in any mode). */
  accepted: number;
  /** Connections currently tracked (open on at least one side). */
  open: number;
  /** Bytes written to the far side, per direction (forward = client->target). */
  forwardedBytes: Record<Direction, number>;
  /** Bytes discarded by the fault, per direction. */
  discardedBytes: Record<Direction, number>;
}

/** Bytes that may wait in one direction of one connection before its source is paused. */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** The mode that delays every chunk by `ms` in both directions (order preserved). */
export function delay(ms: number): FaultMode {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay must be >= 0 ms, got ${ms}`);
  return { delayMs: ms };
}

/** Normalises and checks a target host: only 127.0.0.0/8 (or "localhost") is allowed. */
export function loopbackHost(host: string): string {
  const h = host === 'localhost' ? '127.0.0.1' : host;
  if (net.isIPv4(h) && h.startsWith('127.')) return h;
  throw new Error(`FaultProxy only forwards to 127.0.0.0/8, not ${JSON.stringify(host)}`);
}

function describeMode(mode: FaultMode): string {
  return typeof mode === 'string' ? mode : `delay(${mode.delayMs}ms)`;
}

function checkMode(mode: FaultMode): FaultMode {
  if (typeof mode === 'string') {
    const known = ['pass', 'refuse', 'blackhole', 'drop-forward', 'drop-backward'];
    if (!known.includes(mode)) throw new Error(`unknown fault mode ${JSON.stringify(mode)}`);
    return mode;
  }
  return delay(mode.delayMs);
}

/** Whether `mode` lets traffic in `dir` through. */
function flows(mode: FaultMode, dir: Direction): boolean {
  if (typeof mode !== 'string') return true;
  switch (mode) {
    case 'pass':
      return true;
    case 'refuse':
    case 'blackhole':
      return false;
    case 'drop-forward':
      return dir !== 'forward';
    case 'drop-backward':
      return dir !== 'backward';
  }
}

function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

type Item =
  { kind: 'data'; due: number; chunk: Buffer } | { kind: 'end'; due: number } | { kind: 'reset'; due: number };

/** One direction of one connection: source socket -> (delay queue) -> destination socket. */
class Pipe {
  private queue: Item[] = [];
  private queuedBytes = 0;
  private lastDue = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingForDrain = false;
  dead = false;

  constructor(
    private readonly proxy: FaultProxy,
    readonly dir: Direction,
    private readonly source: () => net.Socket | null,
    private readonly dest: () => net.Socket | null,
  ) {}

  push(item: { kind: 'data'; chunk: Buffer } | { kind: 'end' } | { kind: 'reset' }): void {
    if (this.dead) {
      if (item.kind === 'data') this.proxy.countDiscarded(this.dir, item.chunk.length);
      return;
    }
    const delayMs = this.proxy.delayMs;
    if (delayMs === 0 && this.queue.length === 0) {
      this.deliver(item);
      return;
    }
    const due = Math.max(performance.now() + delayMs, this.lastDue);
    this.lastDue = due;
    this.queue.push({ ...item, due });
    if (item.kind === 'data') {
      this.queuedBytes += item.chunk.length;
      if (this.queuedBytes > MAX_QUEUED_BYTES) this.source()?.pause();
    }
    this.schedule();
  }

  /** Marks this direction lost for good: discards what waits and keeps the source draining. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    for (const item of this.queue) {
      if (item.kind === 'data') this.proxy.countDiscarded(this.dir, item.chunk.length);
    }
    this.stop();
    this.source()?.resume();
  }

  stop(): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.waitingForDrain = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer || !head) return;
    const wait = Math.max(0, Math.ceil(head.due - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = performance.now();
    let head = this.queue[0];
    while (head && head.due <= now) {
      this.queue.shift();
      if (head.kind === 'data') this.queuedBytes -= head.chunk.length;
      this.deliver(head);
      head = this.queue[0];
    }
    this.maybeResume();
    this.schedule();
  }

  private deliver(item: { kind: 'data'; chunk: Buffer } | { kind: 'end' } | { kind: 'reset' }): void {
    if (this.dead) {
      if (item.kind === 'data') this.proxy.countDiscarded(this.dir, item.chunk.length);
      return;
    }
    const dest = this.dest();
    if (!dest || dest.destroyed) return;
    if (item.kind === 'reset') {
      resetSocket(dest);
      return;
    }
    if (item.kind === 'end') {
      dest.end();
      return;
    }
    this.proxy.countForwarded(this.dir, item.chunk.length);
    if (!dest.write(item.chunk) && !this.waitingForDrain) {
      this.waitingForDrain = true;
      this.source()?.pause();
      dest.once('drain', () => {
        this.waitingForDrain = false;
        this.maybeResume();
      });
    }
  }

  private maybeResume(): void {
    if (!this.waitingForDrain && this.queuedBytes <= MAX_QUEUED_BYTES) this.source()?.resume();
  }
}

/** One proxied connection: the accepted client socket and (unless blackholed) the target socket. */
class Link {
  readonly forward: Pipe;
  readonly backward: Pipe;
  upstream: net.Socket | null = null;
  private torn = false;

  constructor(
    private readonly proxy: FaultProxy,
    readonly client: net.Socket,
  ) {
    this.forward = new Pipe(
      proxy,
      'forward',
      () => this.client,
      () => this.upstream,
    );
    this.backward = new Pipe(
      proxy,
      'backward',
      () => this.upstream,
      () => this.client,
    );
    this.wire(client, this.forward);
  }

  connect(target: ProxyTarget): void {
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    this.upstream = upstream;
    this.wire(upstream, this.backward);
  }

  /** Data, FIN and errors read from `socket` go through `pipe` to the other side. */
  private wire(socket: net.Socket, pipe: Pipe): void {
    let sawError = false;
    socket.on('data', (chunk: Buffer) => pipe.push({ kind: 'data', chunk }));
    socket.on('end', () => pipe.push({ kind: 'end' }));
    socket.on('error', () => {
      sawError = true;
    });
    socket.on('close', () => {
      if (!this.torn && sawError) pipe.push({ kind: 'reset' });
      this.maybeForget();
    });
  }

  private maybeForget(): void {
    const upstreamGone = !this.upstream || this.upstream.destroyed;
    if (!this.client.destroyed || !upstreamGone) return;
    // Both sides are gone: nothing queued can be delivered any more.
    this.forward.stop();
    this.backward.stop();
    this.proxy.forget(this);
  }

  applyMode(mode: FaultMode): void {
    if (!flows(mode, 'forward')) this.forward.kill();
    if (!flows(mode, 'backward')) this.backward.kill();
  }

  /** Tears both sides down: with RST when `reset`, else a plain destroy. */
  teardown(reset: boolean): void {
    this.torn = true;
    this.forward.stop();
    this.backward.stop();
    for (const socket of [this.client, this.upstream]) {
      if (!socket) continue;
      if (reset) resetSocket(socket);
      else socket.destroy();
    }
    this.proxy.forget(this);
  }
}

export class FaultProxy {
  private modeValue: FaultMode = 'pass';
  private readonly links = new Set<Link>();
  private closing: Promise<void> | null = null;
  private readonly counters: FaultProxyStats = {
    accepted: 0,
    open: 0,
    forwardedBytes: { forward: 0, backward: 0 },
    discardedBytes: { forward: 0, backward: 0 },
  };

  private constructor(
    private readonly server: net.Server,
    readonly target: ProxyTarget,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /**
   * Starts a proxy listening on 127.0.0.1:`listenPort` (0 = an ephemeral port) that forwards to
   * `target` (loopback only). Starts in `'pass'` mode.
   */
  static async start(target: ProxyTarget, listenPort = 0): Promise<FaultProxy> {
    const host = loopbackHost(target.host);
    if (!Number.isInteger(target.port) || target.port <= 0 || target.port > 65535) {
      throw new RangeError(`bad target port ${target.port}`);
    }
    const server = net.createServer({ allowHalfOpen: true });
    const proxy = new FaultProxy(server, { host, port: target.port });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: listenPort, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    return proxy;
  }

  /** The port the proxy listens on (127.0.0.1). */
  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('FaultProxy is not listening');
    return address.port;
  }

  /** `{ host: '127.0.0.1', port }` of the proxy, handy for a client config. */
  get address(): ProxyTarget {
    return { host: '127.0.0.1', port: this.port };
  }

  get mode(): FaultMode {
    return this.modeValue;
  }

  /** @internal current per-chunk delay (0 unless in a delay mode). */
  get delayMs(): number {
    return typeof this.modeValue === 'string' ? 0 : this.modeValue.delayMs;
  }

  /** Switches the fault mode; applies to existing and new connections at once. */
  setMode(mode: FaultMode): void {
    const next = checkMode(mode);
    this.modeValue = next;
    if (next === 'refuse') {
      for (const link of [...this.links]) link.teardown(true);
      return;
    }
    for (const link of this.links) link.applyMode(next);
  }

  /** Resets (RST) every current connection without changing the mode. */
  resetConnections(): void {
    for (const link of [...this.links]) link.teardown(true);
  }

  stats(): FaultProxyStats {
    return {
      accepted: this.counters.accepted,
      open: this.links.size,
      forwardedBytes: { ...this.counters.forwardedBytes },
      discardedBytes: { ...this.counters.discardedBytes },
    };
  }

  toString(): string {
    return `FaultProxy(127.0.0.1:${this.closing ? '-' : this.port} -> ${this.target.host}:${this.target.port}, ${describeMode(this.modeValue)})`;
  }

  /** Stops listening and destroys every connection. Safe to call any number of times. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        for (const link of [...this.links]) link.teardown(false);
        this.server.close(() => resolve());
      });
    }
    return this.closing;
  }

  /** @internal */
  countForwarded(dir: Direction, bytes: number): void {
    this.counters.forwardedBytes[dir] += bytes;
  }

  /** @internal */
  countDiscarded(dir: Direction, bytes: number): void {
    this.counters.discardedBytes[dir] += bytes;
  }

  /** @internal */
  forget(link: Link): void {
    this.links.delete(link);
  }

  private accept(client: net.Socket): void {
    this.counters.accepted += 1;
    client.on('error', () => undefined);
    if (this.closing || this.modeValue === 'refuse') {
      resetSocket(client);
      return;
    }
    client.setNoDelay(true);
    const link = new Link(this, client);
    this.links.add(link);
    link.applyMode(this.modeValue);
    // A blackholed connection never reaches the target (nothing would get through anyway).
    if (this.modeValue !== 'blackhole') link.connect(this.target);
  }
}
