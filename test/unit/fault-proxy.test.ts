import { expect } from 'chai';
import crypto from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { delay, FaultProxy } from '../support/fault-proxy';
import { freePort } from '../support/processes';

const SILENCE_MS = 300;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `pred()` holds (checked on every `bump`), rejects after timeoutMs. */
class Waitable {
  private readonly pending = new Set<() => void>();

  protected bump(): void {
    for (const check of [...this.pending]) check();
  }

  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        this.pending.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.pending.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.pending.add(check);
    });
  }
}

/** A TCP echo server on 127.0.0.1 that records what it receives and can push data itself. */
class EchoServer extends Waitable {
  readonly sockets = new Set<net.Socket>();
  private chunks: Buffer[] = [];
  accepted = 0;
  closedSockets = 0;

  private constructor(private readonly server: net.Server) {
    super();
    server.on('connection', (socket) => {
      this.accepted += 1;
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        this.chunks.push(chunk);
        socket.write(chunk);
        this.bump();
      });
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.closedSockets += 1;
        this.bump();
      });
      this.bump();
    });
  }

  static async start(): Promise<EchoServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    return new EchoServer(server);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A client socket that records data, end, close and error. */
class TestClient extends Waitable {
  private chunks: Buffer[] = [];
  connected = false;
  ended = false;
  closed = false;
  error: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    super();
    socket.on('connect', () => {
      this.connected = true;
      this.bump();
    });
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bump();
    });
    socket.on('end', () => {
      this.ended = true;
      this.bump();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.bump();
    });
    socket.on('close', () => {
      this.closed = true;
      this.bump();
    });
  }

  /** Starts connecting without waiting (for connections that may be refused). */
  static open(port: number): TestClient {
    return new TestClient(net.connect({ host: '127.0.0.1', port }));
  }

  static async connect(port: number): Promise<TestClient> {
    const client = TestClient.open(port);
    await client.until(() => client.connected || client.closed, 2000, 'connect');
    if (!client.connected) throw new Error(`connect failed: ${String(client.error)}`);
    return client;
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.received.toString('utf8');
  }

  untilText(text: string, timeoutMs = 2000): Promise<void> {
    return this.until(() => this.text.includes(text), timeoutMs, `echo of ${JSON.stringify(text)}`);
  }
}

describe('FaultProxy', () => {
  let echo: EchoServer;
  let proxy: FaultProxy;
  const clients: TestClient[] = [];

  const client = async (): Promise<TestClient> => {
    const c = await TestClient.connect(proxy.port);
    clients.push(c);
    return c;
  };

  /** A connection through the proxy that is known to echo. */
  const echoingClient = async (): Promise<TestClient> => {
    const c = await client();
    c.socket.write('hello');
    await c.untilText('hello');
    return c;
  };

  beforeEach(async () => {
    echo = await EchoServer.start();
    proxy = await FaultProxy.start({ host: '127.0.0.1', port: echo.port });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await proxy.close();
    await proxy.close(); // closing twice is safe
    await echo.close();
  });

  it('pass: forwards bytes both ways unchanged (1 MiB of random data)', async () => {
    const c = await client();
    const payload = crypto.randomBytes(1024 * 1024);
    c.socket.write(payload);
    await c.until(() => c.received.length >= payload.length, 5000, '1 MiB echo');
    expect(c.received.equals(payload)).to.equal(true);
    expect(echo.received.equals(payload)).to.equal(true);
    expect(proxy.stats().forwardedBytes).to.deep.equal({ forward: payload.length, backward: payload.length });
  });

  it('listens on a given port', async () => {
    const port = await freePort();
    const fixed = await FaultProxy.start({ host: '127.0.0.1', port: echo.port }, port);
    try {
      expect(fixed.port).to.equal(port);
      const c = await TestClient.connect(port);
      clients.push(c);
      c.socket.write('fixed');
      await c.untilText('fixed');
    } finally {
      await fixed.close();
    }
  });

  it('refuse: resets existing connections and new ones', async () => {
    const old = await echoingClient();
    proxy.setMode('refuse');
    await old.until(() => old.closed, 2000, 'existing connection to close');
    await echo.until(() => echo.sockets.size === 0, 2000, 'target side to close');

    const fresh = TestClient.open(proxy.port);
    clients.push(fresh);
    fresh.socket.on('connect', () => fresh.socket.write('anyone?'));
    await fresh.until(() => fresh.closed, 2000, 'new connection to be reset');
    expect(fresh.received.length).to.equal(0);
    expect(fresh.error?.message ?? 'closed').to.match(/ECONNRESET|EPIPE|ECONNREFUSED|closed/);
    expect(echo.received.toString()).to.equal('hello');
  });

  it('blackhole: an existing connection stays open but nothing gets through, not even a close', async () => {
    const c = await echoingClient();
    const acceptedBefore = echo.accepted;
    proxy.setMode('blackhole');
    c.socket.write('ping');
    for (const s of echo.sockets) s.write('unsolicited');
    await sleep(SILENCE_MS);
    expect(c.text).to.equal('hello');
    expect(echo.received.toString()).to.equal('hello');
    // The target closing its side must not reach the client either (no FIN, no RST).
    for (const s of echo.sockets) s.destroy();
    await sleep(SILENCE_MS);
    expect(c.ended, 'client saw end').to.equal(false);
    expect(c.closed, 'client saw close').to.equal(false);
    expect(c.error).to.equal(null);
    expect(echo.accepted).to.equal(acceptedBefore);
    expect(proxy.stats().discardedBytes.forward).to.equal(4);
  });

  it('blackhole: new connections are accepted, get nothing and stay open', async () => {
    proxy.setMode('blackhole');
    const c = await client();
    c.socket.write('ping');
    await sleep(SILENCE_MS);
    expect(c.received.length).to.equal(0);
    expect(c.closed || c.ended).to.equal(false);
    expect(echo.accepted, 'target saw a connection').to.equal(0);
  });

  it('blackhole then pass: new connections echo; connections that lived through the cut stay dead', async () => {
    const old = await echoingClient();
    proxy.setMode('blackhole');
    const during = await client();
    proxy.setMode('pass');
    const fresh = await client();
    fresh.socket.write('again');
    await fresh.untilText('again');
    old.socket.write('old');
    during.socket.write('during');
    await sleep(SILENCE_MS);
    expect(old.text).to.equal('hello');
    expect(during.received.length).to.equal(0);
    expect(old.closed || during.closed).to.equal(false);
    expect(echo.received.toString()).to.equal('helloagain');
  });

  it('drop-forward: client->target bytes vanish while target->client flows', async () => {
    const c = await echoingClient();
    proxy.setMode('drop-forward');
    c.socket.write('lost');
    await sleep(SILENCE_MS);
    expect(echo.received.toString()).to.equal('hello');
    expect(c.text).to.equal('hello');
    expect(echo.sockets.size).to.equal(1);
    for (const s of echo.sockets) s.write('from-target');
    await c.untilText('from-target');
    expect(c.closed || c.ended).to.equal(false);
  });

  it('drop-forward: a new connection reaches the target but its bytes do not', async () => {
    proxy.setMode('drop-forward');
    const c = await client();
    await echo.until(() => echo.accepted === 1, 2000, 'target to accept');
    c.socket.write('lost');
    await sleep(SILENCE_MS);
    expect(echo.received.length).to.equal(0);
    for (const s of echo.sockets) s.write('from-target');
    await c.untilText('from-target');
  });

  it('drop-backward: the target receives but the client gets nothing back', async () => {
    const c = await echoingClient();
    proxy.setMode('drop-backward');
    c.socket.write('one-way');
    await echo.until(() => echo.received.toString() === 'helloone-way', 2000, 'target to receive');
    await sleep(SILENCE_MS);
    expect(c.text).to.equal('hello');
    expect(c.closed || c.ended).to.equal(false);
    expect(proxy.stats().discardedBytes.backward).to.equal('one-way'.length);
  });

  it('delay: every chunk is delayed in both directions, order preserved', async () => {
    const c = await echoingClient();
    const ms = 150;
    proxy.setMode(delay(ms));
    const t0 = performance.now();
    c.socket.write('x');
    await c.untilText('hellox', 3000);
    const rtt = performance.now() - t0;
    expect(rtt).to.be.at.least(2 * ms - 2);

    const parts = Array.from({ length: 10 }, (_, i) => `<${i}>`);
    for (const part of parts) {
      c.socket.write(part);
      await sleep(5);
    }
    await c.untilText(parts.join(''), 3000);
    expect(echo.received.toString()).to.equal('hellox' + parts.join(''));
  });

  it('delay then pass: data sent under the delay is not overtaken by later data', async () => {
    const c = await echoingClient();
    proxy.setMode(delay(200));
    c.socket.write('first|');
    await sleep(20);
    proxy.setMode('pass');
    c.socket.write('second');
    await c.untilText('first|second', 3000);
    expect(c.text).to.equal('hellofirst|second');
  });

  it('resetConnections() resets live connections; new ones still work', async () => {
    const old = await echoingClient();
    proxy.resetConnections();
    await old.until(() => old.closed, 2000, 'reset');
    const fresh = await echoingClient();
    expect(fresh.closed).to.equal(false);
  });

  it('close() stops listening and destroys connections', async () => {
    const c = await echoingClient();
    const port = proxy.port;
    await proxy.close();
    await c.until(() => c.closed, 2000, 'client to close');
    const late = TestClient.open(port);
    clients.push(late);
    await late.until(() => late.closed, 2000, 'connection refused');
    expect(late.connected).to.equal(false);
    expect(late.error?.message).to.match(/ECONNREFUSED/);
  });

  it('forwards only to loopback addresses', async () => {
    for (const host of ['10.0.0.1', '0.0.0.0', '::1', 'example.com']) {
      let failed = false;
      try {
        const p = await FaultProxy.start({ host, port: echo.port });
        await p.close();
      } catch (err) {
        failed = /127\.0\.0\.0\/8/.test((err as Error).message);
      }
      expect(failed, host).to.equal(true);
    }
  });
});
