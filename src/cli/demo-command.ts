/**
 * `witness demo`: a witness, two sidecars and a small workload on this machine, real processes of
 * this same build, walked through a failover and a hand-back (./demo/walk-through.ts). Whatever
 * happens (success, a failed step, Ctrl-C, SIGTERM, the overall time limit), every process it
 * started is stopped and its directory removed (unless --keep) before it returns.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DemoConfig } from '../config/demo-config';
import { DemoProcesses } from './demo/demo-processes';
import { Timeline } from './demo/demo-timeline';
import { walkThrough } from './demo/walk-through';

/** The whole walk-through takes about 15 s; past this something is wrong, and waiting on helps nobody. */
const DEMO_LIMIT_MS = 90_000;
/** Lines of each log shown when the demo fails. */
const LOG_TAIL_LINES = 5;
/** This CLI's entry point (this file runs compiled, from dist/src/cli), so npx runs the same build. */
const MAIN = path.join(__dirname, 'main.js');

/** Ctrl-C or SIGTERM: no step failed. */
class DemoInterrupted extends Error {
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

export async function runDemo(config: DemoConfig, out: (line: string) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-demo-'));
  const processes = new DemoProcesses(dir, [process.execPath, MAIN]);
  const timeline = new Timeline(out);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => controller.abort(new DemoInterrupted(signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const limit = setTimeout(
    () => controller.abort(new Error(`the demo took longer than ${DEMO_LIMIT_MS / 1000} s`)),
    DEMO_LIMIT_MS,
  );
  out('witness demo: a witness, two sidecars (a primary, b secondary) and a small workload, on loopback.');
  out(
    `Every process's log, and the witness's store, are in ${dir}${config.keep === 'true' ? '' : ' (removed at the end)'}.`,
  );
  out('Epochs are fencing tokens (WITNESS_EPOCH): a store generation in the high bits, a counter below.');
  out('');
  let failure: unknown;
  try {
    const result = await walkThrough({ dir, processes, timeline, signal: controller.signal });
    const [a, b, again] = result.epochs;
    timeline.step(`Done. Who ran, under which epoch (each above the one before, so a stale writer is refused):`);
    timeline.step(`   a under ${a}; b under ${b} after the failover (${result.failoverMs} ms);`);
    timeline.step(`   a under ${again} after the hand-back (${result.handBackMs} ms).`);
  } catch (error) {
    failure = error;
  } finally {
    clearTimeout(limit);
    timeline.step(`Stopping every process the demo started: pids ${processes.pids().join(' ')}`);
    const left = await processes.stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (left.length > 0) {
      // Said even after an interruption: processes left running are the one thing to act on.
      failure = new Error(`could not stop pids ${left.join(' ')}`);
    } else {
      timeline.step('Every process has stopped.');
    }
    // Interrupted, the user knows why it stopped; failed, the logs are the only account of why.
    if (failure !== undefined && !(failure instanceof DemoInterrupted)) showLogTails(dir, out);
    if (config.keep === 'true') {
      timeline.step(`Kept ${dir} (logs, the witness's store).`);
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (failure instanceof DemoInterrupted) throw new Error(`demo ${failure.message}; it stopped everything it started`);
  if (failure !== undefined) {
    const hint = config.keep === 'true' ? '' : ' (witness demo --keep keeps every log)';
    const why = failure instanceof Error ? failure.message : String(failure);
    throw new Error(`demo failed: ${why}${hint}`);
  }
}

/** The end of each process's log, for a failed demo: the directory is about to go. */
function showLogTails(dir: string, out: (line: string) => void): void {
  for (const name of fs.readdirSync(dir).filter((file) => file.endsWith('.log'))) {
    const lines = fs.readFileSync(path.join(dir, name), 'utf8').trimEnd().split('\n');
    out(`--- the last lines of ${name} ---`);
    for (const line of lines.slice(-LOG_TAIL_LINES)) out(line);
  }
}
