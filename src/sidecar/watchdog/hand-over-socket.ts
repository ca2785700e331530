/**
 * The watchdog's side of a restart that keeps the workload (design §9.8): a Unix socket, mode
 * 0600, on which the next sidecar process of this node finds the run its predecessor kept. The
 * first process to connect is offered the run; once it says 'adopt', its socket is the watchdog's
 * channel. Anyone else is turned away at once, and a process that leaves before adopting leaves the
 * run kept for the next.
 */
import fs from 'node:fs';
import net from 'node:net';
import { readJsonLines, writeJsonLine } from './json-lines';
import type { HandOverOffer, WatchdogReport } from './watchdog-protocol';

/** How long a connected process has to say 'adopt' before the socket is offered to the next one. */
const CANDIDATE_WAIT_MS = 1000;

export interface SocketChannel {
  send(report: WatchdogReport, then?: () => void): void;
}

export interface HandOverParties {
  offer(): HandOverOffer;
  adopted(channel: SocketChannel, stopTimeoutMs: number): void;
  /** The adopter's socket closed. */
  closed(channel: SocketChannel): void;
  command(channel: SocketChannel, message: Record<string, unknown>): void;
}

export class HandOverSocket {
  private server: net.Server | undefined;
  private candidate: net.Socket | undefined;
  private adopter: net.Socket | undefined;
  private closed = false;

  constructor(
    private readonly socketPath: string,
    private readonly parties: HandOverParties,
  ) {}

  /** Listens at the path, replacing a socket file that nothing listens on any more. */
  listen(listening: () => void, failed: (error: Error) => void): void {
    whenPathFree(this.socketPath, (error) => {
      if (error !== undefined) {
        failed(error);
        return;
      }
      const server = net.createServer((socket) => this.connection(socket));
      server.once('error', failed);
      const umask = process.umask(0o177);
      try {
        server.listen(this.socketPath, () => {
          server.off('error', failed);
          this.server = server;
          try {
            fs.chmodSync(this.socketPath, 0o600);
          } catch (chmodError) {
            this.close();
            failed(chmodError as Error);
            return;
          }
          listening();
        });
      } finally {
        process.umask(umask);
      }
    });
  }

  /** Stops listening and removes the socket file; an adopter's connection stays open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.candidate?.destroy();
    if (this.server === undefined) return;
    this.server.close();
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      // Already gone: nothing to clean.
    }
  }

  private connection(socket: net.Socket): void {
    socket.on('error', () => undefined); // 'close' follows
    if (this.closed || this.candidate !== undefined || this.adopter !== undefined) {
      socket.destroy();
      return;
    }
    this.candidate = socket;
    // A process that connects and says nothing must not keep the run from the one that adopts it.
    const silent = setTimeout(() => {
      if (this.candidate === socket) socket.destroy();
    }, CANDIDATE_WAIT_MS);
    const channel: SocketChannel = {
      send: (report, then) => writeJsonLine(socket, report, () => then?.()),
    };
    readJsonLines(socket, (message) => {
      if (this.adopter === socket) {
        this.parties.command(channel, message);
        return;
      }
      const stopTimeoutMs = message.stopTimeoutMs;
      if (message.type !== 'adopt' || typeof stopTimeoutMs !== 'number' || !(stopTimeoutMs >= 0)) {
        socket.destroy();
        return;
      }
      clearTimeout(silent);
      this.adopter = socket;
      this.candidate = undefined;
      this.parties.adopted(channel, stopTimeoutMs);
    });
    socket.on('close', () => {
      if (this.adopter === socket) this.parties.closed(channel);
      else if (this.candidate === socket) this.candidate = undefined;
    });
    writeJsonLine(socket, this.parties.offer());
  }
}

/** Calls back once nothing occupies `socketPath`: a stale socket file is removed, anything else is an error. */
function whenPathFree(socketPath: string, done: (error?: Error) => void): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    done();
    return;
  }
  if (!stat.isSocket()) {
    done(new Error(`${socketPath} exists and is not a socket`));
    return;
  }
  const probe = net.connect(socketPath);
  probe.once('connect', () => {
    probe.destroy();
    done(new Error(`another watchdog listens on ${socketPath}`));
  });
  probe.once('error', () => {
    try {
      fs.unlinkSync(socketPath);
    } catch {
      // Removed meanwhile: just as free.
    }
    done();
  });
}
