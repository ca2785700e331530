/**
 * `--sync-cmd` as a real process (design §21.1): /bin/sh -c CMD in its own process group, with
 * WITNESS_GROUP, WITNESS_NODE and WITNESS_ROLE in its environment, killed (the whole group) after
 * `--sync-timeout` or when the node must not sync any more. Its output is kept only as a tail.
 */
import { spawn } from 'node:child_process';
import type { NodeRole } from '../../core/sidecar/types';
import { MAX_OUTPUT_TAIL_BYTES } from '../../wire/sync-report';
import type { SyncCommand, SyncOutcome } from './standby-sync';

export interface ShellSyncSettings {
  readonly command: string;
  readonly timeoutMs: number;
  readonly group: string;
  readonly node: string;
  readonly role: NodeRole;
}

export class ShellSyncCommand implements SyncCommand {
  constructor(private readonly settings: ShellSyncSettings) {}

  run(done: (outcome: SyncOutcome) => void): { cancel(why: string): void } {
    const { command, timeoutMs, group, node, role } = this.settings;
    const tail = new OutputTail(MAX_OUTPUT_TAIL_BYTES);
    let killedBecause = '';
    let settled = false;
    const finish = (outcome: SyncOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(outcome);
    };
    const child = spawn('/bin/sh', ['-c', command], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WITNESS_GROUP: group, WITNESS_NODE: node, WITNESS_ROLE: role },
    });
    const kill = (why: string): void => {
      if (killedBecause !== '' || settled) return;
      killedBecause = why;
      try {
        // The whole group: the shell and whatever it started (rsync, pg_basebackup...).
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => kill(`timed out after ${timeoutMs} ms (--sync-timeout)`), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => tail.add(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.add(chunk));
    child.on('error', (error) =>
      finish({ ok: false, exitCode: -1, outputTail: tail.text(), error: `could not start: ${error.message}` }),
    );
    child.on('close', (code, signal) => {
      // What the command left running in its group (a `&`) must not go on copying after its run.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Nothing left.
      }
      const error = killedBecause !== '' ? killedBecause : code === null ? `killed by ${signal ?? 'a signal'}` : '';
      finish({ ok: code === 0 && error === '', exitCode: code ?? -1, outputTail: tail.text(), error });
    });
    return { cancel: kill };
  }
}

/** The last `limit` bytes of a stream, cut at a character boundary. */
class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - (this.chunks[0] as Buffer).length >= this.limit) {
      this.bytes -= (this.chunks.shift() as Buffer).length;
    }
  }

  text(): string {
    let tail = Buffer.concat(this.chunks);
    if (tail.length > this.limit) tail = tail.subarray(tail.length - this.limit);
    // Skip UTF-8 continuation bytes a cut left at the start.
    let start = 0;
    while (start < tail.length && ((tail[start] as number) & 0xc0) === 0x80) start += 1;
    let text = tail.subarray(start).toString('utf8');
    // Bytes that are not UTF-8 become U+FFFD, which is longer: trim until it fits again.
    while (Buffer.byteLength(text, 'utf8') > this.limit) text = text.slice(1);
    return text;
  }
}
