/**
 * One chaos run (design §3 and §13): a real cluster (test/support/cluster.ts: a
 * witness, sidecar a (primary) and sidecar b (secondary), each running the logging test workload
 * under its watchdog, a FaultProxy on every directed link), the fault schedule of a seed
 * (fault-plan.ts) carried out against it (fault-driver.ts), everything healed, the pair's settling
 * awaited (settle.ts), the cluster stopped, then the complete run log checked: S1 (no two workload
 * run intervals overlap), S2 (safety-checks.ts), no workload outliving its killed sidecar
 * (Cluster.teardown). A failing run keeps its directory (run log, every process's output, the
 * schedule and a merged timeline).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDuration } from '../../src/config/duration';
import { Cluster, timeline } from '../support/cluster';
import { killAllTracked } from '../support/processes';
import { findOverlaps, formatOverlaps, formatTimeline, type Overlap, type RunInterval } from '../support/run-intervals';
import { fmtMs, formatSummary } from './chaos-report';
import type { ChaosResult } from './chaos-result';
import { analyseFailovers, measureOutages, stat } from './failover-analysis';
import { Aborted, driveSchedule, formatActions, healEverything, type ActionRecord } from './fault-driver';
import { formatPlan, planSchedule, scheduleEvents } from './fault-plan';
import { formatMerged, mergedTimeline } from './merged-timeline';
import { checkEpochs, checkGrants } from './safety-checks';
import { settle } from './settle';

export interface ChaosOptions {
  seconds: number;
  seed: number;
  maxActive?: number;
  failback?: 'auto' | 'manual';
  failbackDelay?: string;
  /** Keep the cluster directory also when the run passes. */
  keep?: boolean;
  /** Echo every process's output to stderr. */
  echo?: boolean;
  witnessLogLevel?: string;
  /** Progress lines (each action as it happens). Default: none. */
  progress?: (line: string) => void;
  /** Abort the schedule (SIGINT): everything is still killed and the run log still checked. */
  signal?: AbortSignal;
}

export function replayCommand(
  seconds: number,
  seed: number,
  maxActive = 2,
  failback: 'auto' | 'manual' = 'auto',
): string {
  const extra =
    (maxActive !== 2 ? ` --max-faults ${maxActive}` : '') + (failback !== 'auto' ? ` --failback ${failback}` : '');
  return `npm run chaos -- --seconds ${seconds} --seed ${seed}${extra}`;
}

/**
 * Runs one chaos schedule against one real cluster; resolves with the result (never leaves a
 * process behind: the cluster is torn down, every process SIGKILLed by PID, also on errors).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const seconds = options.seconds;
  const seed = options.seed >>> 0;
  const maxActive = options.maxActive ?? 2;
  const failback = options.failback ?? 'auto';
  const failbackDelay = options.failbackDelay ?? '2s';
  const failbackDelayMs = parseDuration(failbackDelay);
  const say = options.progress ?? (() => undefined);
  const plan = planSchedule({ seconds, seed, maxActive });
  const events = scheduleEvents(plan);
  const result: ChaosResult = {
    seed,
    seconds,
    ranMs: 0,
    aborted: false,
    faultsInjected: 0,
    faultsByKind: {},
    healsWithReset: 0,
    healsWithoutReset: 0,
    activations: 0,
    activationsByNode: {},
    overlaps: [],
    s2Violations: [],
    witnessGrants: 0,
    failovers: [],
    takeoverGap: stat([]),
    takeoverSinceFault: stat([]),
    handBackGap: stat([]),
    longestOutageMs: 0,
    longestOutageAtMs: null,
    availability: 0,
    workloadSelfExits: 0,
    failoverBoundMs: null,
    settle: null,
    teardownProblems: null,
    actionErrors: [],
    errors: [],
    evidence: [],
    dir: null,
    keptDir: false,
    replay: replayCommand(seconds, seed, maxActive, failback),
    loadAverage: { start: os.loadavg().map((x) => Math.round(x * 100) / 100), end: [] },
    ok: false,
    failures: [],
  };
  say(`chaos: seed ${seed}, ${seconds} s, ${plan.length} faults planned; replay: ${result.replay}`);

  let c: Cluster | undefined;
  const actions: ActionRecord[] = [];
  let scheduleT0 = performance.now();
  let scheduleT0Timeline = timeline();
  try {
    c = await Cluster.start({ failback, failbackDelay, witnessLogLevel: options.witnessLogLevel, echo: options.echo });
    result.dir = c.dir;
    const bound = c.logs('a').find((l) => typeof l.failoverBoundMs === 'number')?.failoverBoundMs;
    result.failoverBoundMs = typeof bound === 'number' ? bound : null;
    say(
      `chaos: cluster in ${c.dir}: witness :${c.ports.witness}, a :${c.ports.a}, b :${c.ports.b}; ` +
        `failover bound ${String(result.failoverBoundMs)} ms`,
    );
    // A cold start with everything up (scenario 1): a runs; b hears a and the witness.
    const cluster = c;
    await cluster.waitFor(
      'cold start: a runs its workload and b hears a and the witness',
      async () => {
        const v = await cluster.active();
        return v.a?.workload === 'WORKLOAD_PHASE_RUNNING' && v.b?.peerReachable === true && v.b.witnessReachable;
      },
      8000,
    );

    scheduleT0 = performance.now();
    scheduleT0Timeline = timeline();
    await driveSchedule(cluster, events, actions, result, {
      startedAt: scheduleT0,
      endAt: seconds * 1000,
      signal: options.signal,
      say,
    });
    result.ranMs = performance.now() - scheduleT0;

    const finalHeal = await healEverything(cluster, seconds * 1000, scheduleT0, result.actionErrors);
    actions.push(finalHeal);
    say(`[+${(finalHeal.actual / 1000).toFixed(2)}s] final heal: ${finalHeal.text}; waiting for a settled pair`);
    result.settle = await settle(cluster, {
      failoverBoundMs: result.failoverBoundMs ?? 1300,
      failback,
      failbackDelayMs,
    });
    say(
      result.settle.settled
        ? `chaos: settled: exactly one runs (${result.settle.node}, epoch ${result.settle.epoch}); first ${fmtMs(result.settle.firstOneMs)} after the heal`
        : `chaos: NOT settled: ${result.settle.note}; last seen: ${result.settle.lastObservation}`,
    );
  } catch (error) {
    if (error instanceof Aborted) {
      result.aborted = true;
      result.ranMs = performance.now() - scheduleT0;
      say('chaos: aborted; stopping the cluster');
    } else {
      result.errors.push((error as Error).stack ?? String(error));
      result.ranMs = performance.now() - scheduleT0;
    }
  } finally {
    if (c !== undefined) {
      try {
        await c.teardown({ keepDir: true });
      } catch (error) {
        result.teardownProblems = (error as Error).message;
      }
    } else {
      await killAllTracked(5000).catch((error: unknown) => result.errors.push(String(error)));
    }
  }

  result.loadAverage.end = os.loadavg().map((x) => Math.round(x * 100) / 100);
  if (c === undefined) {
    result.failures.push(`the cluster did not start: ${result.errors.join('\n')}`);
    return result;
  }

  // ---- checks on the complete run log -------------------------------------------------------------
  let intervals: RunInterval[] = [];
  try {
    intervals = c.intervals();
  } catch (error) {
    result.errors.push(`run log unreadable: ${(error as Error).message}`);
  }
  const overlaps: Overlap[] = findOverlaps(intervals);
  result.overlaps = overlaps.map((o) => ({
    text: `${formatOverlaps([o])} (at +${((o.from - scheduleT0Timeline) / 1000).toFixed(3)} s of the schedule)`,
    overlapMs: o.overlapMs,
    atMs: o.from - scheduleT0Timeline,
  }));
  result.s2Violations = checkEpochs(intervals);
  const grants = checkGrants(c);
  result.witnessGrants = grants.grants;
  result.s2Violations.push(...grants.problems);
  result.activations = intervals.length;
  for (const iv of intervals)
    result.activationsByNode[iv.node ?? '?'] = (result.activationsByNode[iv.node ?? '?'] ?? 0) + 1;
  try {
    result.workloadSelfExits = (fs.readFileSync(c.runLog, 'utf8').match(/"signal":"max-runtime"/g) ?? []).length;
  } catch {
    // no run log
  }
  result.failovers = analyseFailovers(c, intervals, actions, scheduleT0Timeline);
  const takeovers = result.failovers.filter((f) => f.kind === 'takeover');
  result.takeoverGap = stat(takeovers.map((f) => f.gapMs));
  result.takeoverSinceFault = stat(takeovers.flatMap((f) => (f.sinceFaultMs === null ? [] : [f.sinceFaultMs])));
  result.handBackGap = stat(result.failovers.filter((f) => f.kind === 'hand-back').map((f) => f.gapMs));
  const outages = measureOutages(intervals, scheduleT0Timeline, result.ranMs);
  result.longestOutageMs = outages.longestOutageMs;
  result.longestOutageAtMs = outages.longestOutageAtMs;
  result.availability = outages.availability;

  if (result.overlaps.length > 0)
    result.failures.push(`S1: ${result.overlaps.length} overlap(s) of workload run intervals`);
  if (result.s2Violations.length > 0) result.failures.push(`S2: ${result.s2Violations.length} violation(s)`);
  if (result.teardownProblems !== null) result.failures.push(`teardown: ${result.teardownProblems.split('\n')[0]}`);
  if (result.actionErrors.length > 0) result.failures.push(`${result.actionErrors.length} chaos action(s) failed`);
  if (result.errors.length > 0) result.failures.push(`run error: ${result.errors[0]!.split('\n')[0]}`);
  if (!result.aborted && (result.settle === null || !result.settle.settled)) {
    result.failures.push(`not settled after the heal: ${result.settle?.note ?? 'the run did not get that far'}`);
  }
  result.ok = result.failures.length === 0 && !result.aborted;

  // ---- evidence --------------------------------------------------------------------------------
  const merged = mergedTimeline(c, intervals, actions);
  if (!result.ok || options.keep) {
    result.keptDir = true;
    const write = (name: string, text: string): void => {
      try {
        fs.writeFileSync(path.join(c!.dir, name), text);
      } catch {
        // best effort
      }
    };
    write('chaos-summary.txt', formatSummary(result));
    write('chaos-result.json', JSON.stringify(result, null, 2));
    write('chaos-schedule.txt', formatPlan(plan) + '\n\nexecuted:\n' + formatActions(actions));
    write(
      'chaos-timeline.txt',
      `t0 = schedule start (${new Date(scheduleT0Timeline).toISOString()})\n` +
        formatMerged(merged, scheduleT0Timeline),
    );
    write('chaos-intervals.txt', formatTimeline(intervals, { width: 100 }));
    write('output.txt', c.output(20_000));
  } else {
    fs.rmSync(c.dir, { recursive: true, force: true });
  }
  if (!result.ok) {
    // The part of the merged timeline that matters, for the report.
    const windows: [number, number][] = overlaps.map((o) => [o.from - 3000, o.to + 1000]);
    if (windows.length === 0) windows.push([scheduleT0Timeline + result.ranMs - 3000, Infinity]);
    result.evidence.push(
      ...windows
        .slice(0, 3)
        .map(
          ([from, to]) =>
            `timeline (t0 = schedule start; the whole run in chaos-timeline.txt):\n` +
            formatMerged(merged, scheduleT0Timeline, from, to, 160),
        ),
    );
  }
  return result;
}
