/**
 * The next sidecar process's side of a restart that keeps the workload (design §9.8): it looks for
 * the hand-over socket, checks the run offered there is this node's, adopts it, and from then on
 * talks to that watchdog over the socket (AdoptedWatchdog).
 */
import fs from 'node:fs';
import net from 'node:net';
import type { KeptRun } from '../../core/sidecar/types';
import { readJsonLines, writeJsonLine } from './json-lines';
import { killUntilGone, sigkillGroupIfAlive } from './process-group';
import { AdoptedWatchdog } from './watchdog-handle';
import { deadlineFromWire, HANDOVER_VERSION, keptRunFromWire, type WatchdogReport } from './watchdog-protocol';

/** A kept run this process must not adopt, or a watchdog that turned it away: the message says which. */
export class KeptRunRefused extends Error {}

export interface AdoptedRun {
  readonly run: KeptRun;
  readonly workloadPid: number;
  /** The deadline the watchdog enforces (monotonic ms; Infinity: none). */
  readonly deadline: number;
  readonly watchdog: AdoptedWatchdog;
  /** Hands the reports that follow (those already read first) to `deliver`. */
  readonly reports: (deliver: (report: WatchdogReport) => void) => void;
}

const HANDOVER_WAIT_MS = 2000;

/**
 * The run kept at `socketPath` for node `node` of `group`, adopted; undefined when there is none
 * (no socket, nobody listening, or the run ended before it could be adopted). Rejects with
 * KeptRunRefused when a run is kept there that is not this node's or speaks another protocol
 * (the run stays kept), or the watchdog turned this process away.
 */
export function adoptKeptRun(
  socketPath: string,
  who: { group: string; node: string },
  stopTimeoutMs: number,
): Promise<AdoptedRun | undefined> {
  if (!fs.existsSync(socketPath)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let phase: 'offer' | 'first-report' | 'adopted' | 'done' = 'offer';
    let offered: { run: KeptRun; pid: number; watchdogPid: number; deadline: number } | undefined;
    const queued: WatchdogReport[] = [];
    let deliver: ((report: WatchdogReport) => void) | undefined;
    const settle = (outcome: () => void, next: 'adopted' | 'done' = 'done'): void => {
      clearTimeout(late);
      phase = next;
      outcome();
    };
    const refuse = (why: string): void => {
      socket.destroy();
      settle(() => reject(new KeptRunRefused(why)));
    };
    const late = setTimeout(() => refuse(`no answer on ${socketPath} within ${HANDOVER_WAIT_MS} ms`), HANDOVER_WAIT_MS);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Nobody listens on a socket file left behind: no run is kept there.
      if (phase === 'offer' && (error.code === 'ECONNREFUSED' || error.code === 'ENOENT')) {
        settle(() => resolve(undefined));
      }
    });
    socket.on('close', () => {
      if (phase === 'offer') refuse(`the watchdog on ${socketPath} turned this process away (another has its run?)`);
      else if (phase === 'first-report' && offered !== undefined) {
        // It died between the offer and the report: whatever of the workload lives is killed here.
        const pid = offered.pid;
        killUntilGone(
          () => sigkillGroupIfAlive(pid),
          () => settle(() => resolve(undefined)),
        );
      }
    });
    readJsonLines(socket, (message) => {
      if (phase === 'offer') {
        const run = keptRunFromWire(message.run);
        const deadline = deadlineFromWire(message.deadline);
        if (message.type !== 'offer' || message.version !== HANDOVER_VERSION) {
          refuse(
            `the watchdog on ${socketPath} speaks another hand-over protocol (version ${String(message.version)}, this sidecar ${HANDOVER_VERSION})`,
          );
          return;
        }
        if (run === undefined || !isPid(message.pid) || !isPid(message.watchdogPid) || Number.isNaN(deadline)) {
          refuse(`the watchdog on ${socketPath} offered a malformed run`);
          return;
        }
        if (run.group !== who.group || run.node !== who.node) {
          refuse(
            `${socketPath} keeps the run of node ${run.node} of group ${run.group}, not of ${who.node} of ${who.group}: give each sidecar its own --state-dir`,
          );
          return;
        }
        offered = { run, pid: message.pid, watchdogPid: message.watchdogPid, deadline };
        phase = 'first-report';
        writeJsonLine(socket, { type: 'adopt', stopTimeoutMs });
        return;
      }
      const report = message as unknown as WatchdogReport;
      if (phase !== 'first-report' || offered === undefined) {
        if (deliver) deliver(report);
        else queued.push(report);
        return;
      }
      if (report.type === 'running') {
        const found = offered;
        const watchdog = new AdoptedWatchdog(socket, found.watchdogPid);
        settle(
          () =>
            resolve({
              run: found.run,
              workloadPid: found.pid,
              deadline: found.deadline,
              watchdog,
              reports: (to) => {
                deliver = to;
                for (const r of queued.splice(0)) to(r);
              },
            }),
          'adopted',
        );
      } else if (report.type === 'stopped') {
        // The deadline passed before this process came: nothing runs, nothing to adopt.
        socket.end();
        settle(() => resolve(undefined));
      }
    });
  });
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 1;
}
