/**
 * The load generator's two ways of speaking gRPC (bench:witness --client):
 *
 * - `http2` (default): gRPC framing written directly on node:http2 client streams (HTTP/2 POST to
 *   /witness.v1.Witness/Method, content-type application/grpc, te: trailers, 5-byte length-prefixed
 *   messages, grpc-status in the trailers, grpc-timeout for unary deadlines). The same bytes on the
 *   wire as any gRPC client, at a fraction of grpc-js's per-message client cost, so that the load
 *   generator, which shares the cores with the server it measures, takes less of them.
 * - `grpc-js`: @grpc/grpc-js clients (the sidecar's own client library), one channel per connection.
 *
 * Messages are handed over already encoded (see wire.ts); `framed` says whether the transport wants
 * them with the 5-byte gRPC prefix (http2) or without (grpc-js frames them itself).
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';

export interface TransportError {
  /** The gRPC status name (DEADLINE_EXCEEDED, UNAVAILABLE...) or a transport failure. */
  code: string;
  message: string;
}

export interface StreamHandle {
  write(bytes: Buffer): void;
  /** Half-close; the server ends the stream. */
  end(): void;
  cancel(): void;
}

export interface Transport {
  readonly framed: boolean;
  openStream(
    conn: number,
    path: string,
    onMessage: (bytes: Buffer) => void,
    onClose: (error?: TransportError) => void,
  ): StreamHandle;
  unary(
    conn: number,
    path: string,
    bytes: Buffer,
    deadlineMs: number,
    done: (error: TransportError | undefined, answer?: Buffer) => void,
  ): void;
  close(): void;
}

const identity = (b: Buffer): Buffer => b;

export class GrpcJsTransport implements Transport {
  readonly framed = false;
  private readonly clients: grpc.Client[];

  constructor(address: string, connections: number) {
    this.clients = Array.from(
      { length: connections },
      () =>
        new grpc.Client(address, grpc.credentials.createInsecure(), {
          // One TCP connection per channel (the global pool would share one between equal channels).
          'grpc.use_local_subchannel_pool': 1,
          'grpc.enable_retries': 0,
        }),
    );
  }

  openStream(
    conn: number,
    path: string,
    onMessage: (bytes: Buffer) => void,
    onClose: (error?: TransportError) => void,
  ): StreamHandle {
    const stream = (this.clients[conn] as grpc.Client).makeBidiStreamRequest<Buffer, Buffer>(
      path,
      identity,
      identity,
      {},
    );
    let closed = false;
    stream.on('data', onMessage);
    stream.on('error', (error: grpc.ServiceError) => {
      if (closed) return;
      closed = true;
      onClose({ code: grpc.status[error.code] ?? String(error.code), message: error.message });
    });
    stream.on('status', (status: grpc.StatusObject) => {
      if (closed) return;
      closed = true;
      onClose(
        status.code === grpc.status.OK
          ? undefined
          : { code: grpc.status[status.code] ?? String(status.code), message: status.details },
      );
    });
    return {
      write: (bytes) => stream.write(bytes),
      end: () => stream.end(),
      cancel: () => stream.cancel(),
    };
  }

  unary(
    conn: number,
    path: string,
    bytes: Buffer,
    deadlineMs: number,
    done: (error: TransportError | undefined, answer?: Buffer) => void,
  ): void {
    (this.clients[conn] as grpc.Client).makeUnaryRequest<Buffer, Buffer>(
      path,
      identity,
      identity,
      bytes,
      { deadline: Date.now() + deadlineMs },
      (error, answer) => {
        if (error) done({ code: grpc.status[error.code] ?? String(error.code), message: error.message });
        else done(undefined, answer);
      },
    );
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

/** Splits a byte stream into gRPC length-prefixed messages. */
class FrameReader {
  private pending: Buffer | undefined;

  constructor(private readonly onMessage: (bytes: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let off = 0;
    while (buf.length - off >= 5) {
      const len = buf.readUInt32BE(off + 1);
      if (buf.length - off - 5 < len) break;
      this.onMessage(buf.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    if (off < buf.length) {
      buf = buf.subarray(off);
      this.pending = Buffer.from(buf);
    }
  }
}

function statusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

export class Http2Transport implements Transport {
  readonly framed = true;
  private readonly sessions: (http2.ClientHttp2Session | undefined)[];

  constructor(
    private readonly address: string,
    connections: number,
  ) {
    this.sessions = new Array<http2.ClientHttp2Session | undefined>(connections);
  }

  private session(conn: number): http2.ClientHttp2Session {
    let s = this.sessions[conn];
    if (s === undefined || s.closed || s.destroyed) {
      const created = http2.connect(`http://${this.address}`, {
        // Many streams per connection, each with a little data in flight.
        maxSessionMemory: 256,
        peerMaxConcurrentStreams: 1 << 20,
      });
      created.on('error', () => undefined); // reported on each stream
      created.on('close', () => {
        if (this.sessions[conn] === created) this.sessions[conn] = undefined;
      });
      this.sessions[conn] = created;
      s = created;
    }
    return s;
  }

  private request(conn: number, path: string, extra: http2.OutgoingHttpHeaders = {}): http2.ClientHttp2Stream {
    return this.session(conn).request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra },
      { endStream: false },
    );
  }

  openStream(
    conn: number,
    path: string,
    onMessage: (bytes: Buffer) => void,
    onClose: (error?: TransportError) => void,
  ): StreamHandle {
    const req = this.request(conn, path);
    const reader = new FrameReader(onMessage);
    let status: number | undefined;
    let message = '';
    const headers = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) {
        status = Number(h['grpc-status']);
        message = String(h['grpc-message'] ?? '');
      }
    };
    req.on('response', headers);
    req.on('trailers', headers);
    req.on('data', (chunk: Buffer) => reader.push(chunk));
    let failure: string | undefined;
    req.on('error', (error: Error) => {
      failure = error.message;
    });
    req.on('close', () => {
      if (status === 0) onClose();
      else if (status !== undefined) onClose({ code: statusName(status), message });
      else onClose({ code: 'UNAVAILABLE', message: failure ?? `stream closed (rst ${req.rstCode})` });
    });
    return {
      write: (bytes) => {
        if (!req.closed && !req.destroyed) req.write(bytes);
      },
      end: () => {
        if (!req.closed && !req.destroyed) req.end();
      },
      cancel: () => {
        if (!req.destroyed) req.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  unary(
    conn: number,
    path: string,
    bytes: Buffer,
    deadlineMs: number,
    done: (error: TransportError | undefined, answer?: Buffer) => void,
  ): void {
    const req = this.request(conn, path, { 'grpc-timeout': `${deadlineMs}m` });
    let answer: Buffer | undefined;
    let status: number | undefined;
    let message = '';
    let finished = false;
    const finish = (error: TransportError | undefined, value?: Buffer): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(error, value);
    };
    const timer = setTimeout(() => {
      finish({ code: 'DEADLINE_EXCEEDED', message: `no answer within ${deadlineMs} ms` });
      if (!req.destroyed) req.close(http2.constants.NGHTTP2_CANCEL);
    }, deadlineMs);
    const reader = new FrameReader((m) => {
      answer = m;
    });
    const headers = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) {
        status = Number(h['grpc-status']);
        message = String(h['grpc-message'] ?? '');
      }
    };
    req.on('response', headers);
    req.on('trailers', headers);
    req.on('data', (chunk: Buffer) => reader.push(chunk));
    let failure: string | undefined;
    req.on('error', (error: Error) => {
      failure = error.message;
    });
    req.on('close', () => {
      if (status === 0 && answer !== undefined) finish(undefined, answer);
      else if (status !== undefined) finish({ code: statusName(status), message });
      else finish({ code: 'UNAVAILABLE', message: failure ?? `stream closed (rst ${req.rstCode})` });
    });
    req.end(bytes);
  }

  close(): void {
    for (const s of this.sessions) s?.close();
    this.sessions.fill(undefined);
  }
}
