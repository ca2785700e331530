/**
 * The next sidecar process's side of a restart that keeps the workload (design §9.8): it looks for
 * the hand-over socket, checks the run offered there is this node's, adopts it, and from then on
 * talks to that watchdog over the socket (AdoptedWatchdog). The supervisor deals with what it
 * finds: a run adopted, nothing kept, or a watchdog that does not answer.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { KeptRun } from '../../core/sidecar/types';
import { readJsonLines, writeJsonLine } from './json-lines';
import { AdoptedWatchdog } from './watchdog-handle';
import { deadlineFromWire, HANDOVER_VERSION, keptRunFromWire, type WatchdogReport } from './watchdog-protocol';

/** A kept run this process must not adopt (another node's, another protocol): a configuration error. */
export class KeptRunRefused extends Error {}

/** Another process is being offered the run right now: two sidecars for one node. */
export class KeptRunBusy extends Error {}

export interface AdoptedRun {
  readonly run: KeptRun;
  readonly runId: string;
  readonly workloadPid: number;
  /** The deadline the watchdog enforces (monotonic ms; Infinity: none). */
  readonly deadline: number;
  readonly watchdog: AdoptedWatchdog;
  /** Hands the reports that follow (those already read first) to `deliver`, from the next turn on. */
  readonly reports: (deliver: (report: WatchdogReport) => void) => void;
}

/**
 * adopted; nothing (no socket, nobody listening on it, or the run ended before it could be
 * adopted); unresponsive (it takes the connection but offers nothing in time, or goes silent after
 * 'adopt': a frozen or wedged watchdog, whose workload nobody enforces any more).
 */
export type KeptRunSearch =
  | { readonly found: 'adopted'; readonly adopted: AdoptedRun }
  | { readonly found: 'nothing' }
  | { readonly found: 'unresponsive' };

const OFFER_WAIT_MS = 2000;
/** After 'adopt', a watchdog that is stopping the run answers once it has stopped: its stop timeout and this. */
const STOPPED_SLACK_MS = 2000;

/**
 * Looks for the run kept at `socketPath` for node `who.node` of `who.group` and adopts it. Rejects
 * with KeptRunRefused when a run is kept there that is not this node's or speaks another protocol
 * (the run stays kept), and KeptRunBusy when another process is being offered it.
 */
export function adoptKeptRun(
  socketPath: string,
  who: { group: string; node: string },
  stopTimeoutMs: number,
): Promise<KeptRunSearch> {
  if (!fs.existsSync(socketPath)) return Promise.resolve({ found: 'nothing' });
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let phase: 'offer' | 'first-report' | 'done' = 'offer';
    let offered: (Omit<AdoptedRun, 'watchdog' | 'reports'> & { watchdogPid: number }) | undefined;
    const queued: WatchdogReport[] = [];
    let deliver: ((report: WatchdogReport) => void) | undefined;
    let timer = setTimeout(() => settle({ found: 'unresponsive' }), OFFER_WAIT_MS);
    const settle = (outcome: KeptRunSearch | Error): void => {
      if (phase === 'done') return;
      clearTimeout(timer);
      const adopted = typeof outcome === 'object' && 'found' in outcome && outcome.found === 'adopted';
      phase = 'done';
      if (!adopted) socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Nobody listens on a socket file left behind: no run is kept there, or its watchdog died.
      if (phase === 'offer' && (error.code === 'ECONNREFUSED' || error.code === 'ENOENT')) settle({ found: 'nothing' });
    });
    socket.on('close', () => {
      if (phase === 'offer')
        settle(
          new KeptRunBusy(
            `the watchdog on ${socketPath} turned this process away: another process is being offered its run`,
          ),
        );
      // Gone between the offer and its first report: whatever of the workload lives, nobody enforces.
      else if (phase === 'first-report') settle({ found: 'unresponsive' });
    });
    readJsonLines(socket, (message) => {
      if (phase === 'offer') {
        const run = keptRunFromWire(message.run);
        const deadline = deadlineFromWire(message.deadline);
        if (message.type !== 'offer' || message.version !== HANDOVER_VERSION) {
          settle(
            new KeptRunRefused(
              `the watchdog on ${socketPath} speaks another hand-over protocol (version ${String(message.version)}, this sidecar ${HANDOVER_VERSION})`,
            ),
          );
          return;
        }
        const stopWait = message.stopTimeoutMs;
        if (
          run === undefined ||
          !isPid(message.pid) ||
          !isPid(message.watchdogPid) ||
          Number.isNaN(deadline) ||
          typeof message.runId !== 'string' ||
          typeof stopWait !== 'number' ||
          !(stopWait >= 0)
        ) {
          settle(new KeptRunRefused(`the watchdog on ${socketPath} offered a malformed run`));
          return;
        }
        if (run.group !== who.group || run.node !== who.node) {
          settle(
            new KeptRunRefused(
              `${socketPath} keeps the run of node ${run.node} of group ${run.group}, not of ${who.node} of ${who.group}: give each sidecar its own --state-dir`,
            ),
          );
          return;
        }
        offered = { run, runId: message.runId, workloadPid: message.pid, watchdogPid: message.watchdogPid, deadline };
        phase = 'first-report';
        clearTimeout(timer);
        timer = setTimeout(() => settle({ found: 'unresponsive' }), stopWait + STOPPED_SLACK_MS);
        writeJsonLine(socket, { type: 'adopt', stopTimeoutMs });
        return;
      }
      const report = message as unknown as WatchdogReport;
      if (phase !== 'first-report' || offered === undefined) {
        if (deliver) deliver(report);
        else queued.push(report);
        return;
      }
      if (report.type === 'stopped') {
        // The deadline passed before this process came: nothing runs, nothing to adopt.
        settle({ found: 'nothing' });
      } else if (report.type === 'running') {
        const { watchdogPid, ...found } = offered;
        const watchdog = new AdoptedWatchdog(socket, watchdogPid);
        const reports = (to: (r: WatchdogReport) => void): void => {
          // From the next turn on: the caller subscribes to the supervisor's events meanwhile.
          setImmediate(() => {
            deliver = to;
            for (const r of queued.splice(0)) to(r);
          });
        };
        settle({ found: 'adopted', adopted: { ...found, watchdog, reports } });
      }
    });
  });
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 1;
}
