/**
 * The supervisor's hold on a watchdog: one it spawned (an IPC channel to its child), or one it
 * adopted with the run a previous sidecar process kept (design §9.8: the hand-over socket). Both
 * take the same commands and send the same reports; only a spawned one takes new starts, since a
 * watchdog that kept a run exits once that run has stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import path from 'node:path';
import { writeJsonLine } from './json-lines';
import type { WatchdogCommand, WatchdogReport } from './watchdog-protocol';

/** Absolute path of the compiled watchdog script. */
export const WATCHDOG_SCRIPT = path.join(__dirname, 'watchdog-main.js');

export interface WatchdogListener {
  report(watchdog: WatchdogHandle, report: WatchdogReport): void;
  /** It exited (spawned) or its socket closed (adopted), after its last report was handled. */
  gone(watchdog: WatchdogHandle, code: number | null, signal: NodeJS.Signals | null): void;
}

export interface WatchdogHandle {
  readonly pid: number | undefined;
  /** Commands can reach it. */
  readonly connected: boolean;
  /** It may be sent a start: a watchdog this process spawned. */
  readonly takesStarts: boolean;
  send(command: WatchdogCommand, failed: (error: Error | null) => void): void;
  /** Closes the channel: an idle watchdog exits then, an active one stops its workload first. */
  disconnect(): void;
  kill(signal: NodeJS.Signals): void;
}

export class SpawnedWatchdog implements WatchdogHandle {
  readonly takesStarts = true;
  private readonly child: ChildProcess;

  /** Throws when no process could be spawned. */
  constructor(listener: WatchdogListener) {
    const child = spawn(process.execPath, [WATCHDOG_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (child.pid === undefined) {
      child.on('error', () => undefined);
      throw new Error(`WorkloadSupervisor: could not spawn the watchdog (${WATCHDOG_SCRIPT})`);
    }
    this.child = child;
    child.on('message', (m: WatchdogReport) => listener.report(this, m));
    // Handle its exit once the IPC channel has closed too, so after its last report. ('close' is
    // not emitted when this side disconnected the channel first.)
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      let done = false;
      const handle = (): void => {
        if (done) return;
        done = true;
        clearTimeout(fallback);
        listener.gone(this, code, signal);
      };
      const fallback = setTimeout(handle, 500);
      if (child.connected) child.once('disconnect', () => setImmediate(handle));
      else setImmediate(handle);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get connected(): boolean {
    return this.child.connected && this.child.exitCode === null && this.child.signalCode === null;
  }

  onError(listener: (error: Error) => void): void {
    this.child.on('error', listener);
  }

  send(command: WatchdogCommand, failed: (error: Error | null) => void): void {
    if (this.child.connected) this.child.send(command, failed);
  }

  disconnect(): void {
    if (this.child.connected) this.child.disconnect();
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** A watchdog found on the hand-over socket, its run adopted (kept-run-link.ts connects it). */
export class AdoptedWatchdog implements WatchdogHandle {
  readonly takesStarts = false;

  constructor(
    private readonly socket: Socket,
    readonly pid: number,
  ) {}

  /** Reports from now on go to `listener`; the socket's close is the watchdog's end. */
  attach(listener: WatchdogListener, reports: (deliver: (report: WatchdogReport) => void) => void): void {
    reports((report) => listener.report(this, report));
    const gone = (): void => listener.gone(this, null, null);
    if (this.socket.destroyed) setImmediate(gone);
    else this.socket.once('close', () => setImmediate(gone));
  }

  get connected(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(command: WatchdogCommand, failed: (error: Error | null) => void): void {
    writeJsonLine(this.socket, command, (error) => failed(error ?? null));
  }

  disconnect(): void {
    this.socket.end();
  }

  kill(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // Gone already: its socket's close tells the supervisor.
    }
  }
}
