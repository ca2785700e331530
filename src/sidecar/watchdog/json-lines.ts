/**
 * One JSON object a line over a stream socket: the watchdog's hand-over socket (design §9.8), where
 * the sidecar process that adopts a kept run talks to a watchdog it did not spawn, and so has no IPC
 * channel to it. A line longer than MAX_LINE_BYTES ends the connection: nothing of this protocol
 * comes near it.
 */
import type { Socket } from 'node:net';

const MAX_LINE_BYTES = 64 * 1024;

/** Calls `onMessage` with each object read from `socket`; a malformed line or an overlong one ends it. */
export function readJsonLines(socket: Socket, onMessage: (message: Record<string, unknown>) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf('\n');
    while (end >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        socket.destroy();
        return;
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message)) {
        socket.destroy();
        return;
      }
      onMessage(message as Record<string, unknown>);
      end = buffered.indexOf('\n');
    }
    if (buffered.length > MAX_LINE_BYTES) socket.destroy();
  });
}

/** Writes `message` as one line; `written` runs once it is handed to the kernel, or the socket failed. */
export function writeJsonLine(socket: Socket, message: object, written?: (error?: Error) => void): void {
  if (socket.destroyed || !socket.writable) {
    written?.(new Error('the socket is closed'));
    return;
  }
  socket.write(`${JSON.stringify(message)}\n`, (error) => written?.(error ?? undefined));
}
