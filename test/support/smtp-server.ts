/**
 * A real SMTP server on loopback for the alert tests: Debian's python3-aiosmtpd, whose default
 * handler prints every message it accepts. Each mail's Subject is recorded with the time the test
 * read it, on the cluster's timeline.
 */
import net from 'node:net';
import type { OsTool } from './require-tool';
import { freePort, spawnTracked, type TrackedProcess } from './processes';
import { timeline } from './cluster';

/** Debian's interpreter, which the package is for (a python3 earlier on PATH may lack it). */
const PYTHON = process.env.SMTP_PYTHON ?? '/usr/bin/python3';

export const AIOSMTPD: OsTool = {
  name: 'python3-aiosmtpd',
  probe: [PYTHON, '-c', 'import aiosmtpd'],
  why:
    `the alert tests mail through a real SMTP server on loopback, and ${PYTHON} cannot import aiosmtpd: ` +
    'install it with apt-get install python3-aiosmtpd (or point SMTP_PYTHON at a python3 that has it)',
};

export interface ReceivedMail {
  readonly subject: string;
  readonly to: string;
  readonly at: number;
}

export class SmtpServer {
  readonly mails: ReceivedMail[] = [];

  private constructor(
    readonly port: number,
    readonly process: TrackedProcess,
  ) {}

  static async start(): Promise<SmtpServer> {
    const port = await freePort();
    const proc = spawnTracked(PYTHON, ['-u', '-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`], { name: 'aiosmtpd' });
    const server = new SmtpServer(port, proc);
    let partial = '';
    let headers: string[] | undefined;
    proc.child.stdout?.on('data', (chunk: string | Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('---------- MESSAGE FOLLOWS')) headers = [];
        else if (headers !== undefined && line === '') {
          server.mails.push(mailOf(headers));
          headers = undefined;
        } else if (headers !== undefined && /^[ \t]/.test(line) && headers.length > 0) {
          // A folded header (RFC 5322 2.2.3): long subjects continue on the next line.
          headers[headers.length - 1] += line.replace(/^[ \t]+/, ' ');
        } else headers?.push(line);
      }
    });
    await waitForPort(port, proc);
    return server;
  }

  async stop(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.process.waitForExit(5000);
  }
}

function mailOf(headers: readonly string[]): ReceivedMail {
  const header = (name: string): string =>
    headers
      .find((line) => line.startsWith(`${name}: `))
      ?.slice(name.length + 2)
      .trim() ?? '';
  return { subject: header('Subject'), to: header('To'), at: timeline() };
}

async function waitForPort(port: number, proc: TrackedProcess): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`aiosmtpd did not listen on 127.0.0.1:${port}\n${proc.output(20)}`);
}
