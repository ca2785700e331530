/**
 * Carries a fault schedule out against a real cluster: each injection and heal at its planned
 * time (the real processes' timing is not replayed, the schedule is), every action's actual time
 * recorded; then, at the end, the heal of everything.
 */
import { performance } from 'node:perf_hooks';
import { LINKS, timeline, type Cluster, type ProcName } from '../support/cluster';
import type { ChaosResult } from './chaos-result';
import { describeFault, describeHeal, faultLabel, type PlannedFault, type ScheduleEvent } from './fault-plan';

export interface ActionRecord {
  /** Planned ms after the schedule start. */
  planned: number;
  /** Actual ms after the schedule start when the action began. */
  actual: number;
  /** On the tests' timeline (test/support/timeline.ts). */
  t: number;
  /** How long the action itself took (a restart waits for the process to come up). */
  tookMs: number;
  fault: number;
  phase: 'inject' | 'heal' | 'final-heal';
  text: string;
  error?: string;
}

/** Thrown into the run when its AbortSignal fires (SIGINT): the schedule stops where it is. */
export class Aborted extends Error {}

export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted('aborted'));
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Aborted('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Carries out one scheduled action against the cluster. */
async function perform(c: Cluster, fault: PlannedFault, phase: 'inject' | 'heal'): Promise<void> {
  const spec = fault.spec;
  const reset = { reset: fault.resetOnHeal };
  if (phase === 'inject') {
    switch (spec.kind) {
      case 'blackhole':
        return c.blackhole(spec.link);
      case 'refuse':
        return c.cut(spec.link);
      case 'drop':
        return c.proxies[spec.link].setMode(spec.direction === 'forward' ? 'drop-forward' : 'drop-backward');
      case 'delay':
        return c.proxies[spec.link].setMode({ delayMs: spec.ms });
      case 'partition-peer':
        c.proxies['a->b'].setMode(spec.mode);
        c.proxies['b->a'].setMode(spec.mode);
        return;
      case 'isolate':
        return c.isolate(spec.node, spec.mode);
      case 'kill-sidecar':
        return c.kill(spec.node);
      case 'freeze-sidecar':
        return c.freeze(spec.node);
      case 'kill-witness':
        return c.kill('witness');
      case 'freeze-witness':
        return c.freeze('witness');
    }
  }
  switch (spec.kind) {
    case 'blackhole':
    case 'refuse':
    case 'drop':
    case 'delay':
      return c.heal(spec.link, reset);
    case 'partition-peer':
      c.heal('a->b', reset);
      c.heal('b->a', reset);
      return;
    case 'isolate':
      return c.rejoin(spec.node, reset);
    case 'kill-sidecar':
      await c.restart(spec.node);
      return;
    case 'freeze-sidecar':
      return c.thaw(spec.node);
    case 'kill-witness':
      await c.restart('witness', { wipe: spec.wipe });
      return;
    case 'freeze-witness':
      return c.thaw('witness');
  }
}

/** Where driveSchedule counts what it did. */
export type ScheduleTally = Pick<
  ChaosResult,
  'faultsInjected' | 'faultsByKind' | 'healsWithReset' | 'healsWithoutReset' | 'actionErrors'
>;

export interface DriveOptions {
  /** performance.now() at the schedule's start: the planned times count from there. */
  startedAt: number;
  /** The schedule's length (ms): no injection after it, and the drive returns no earlier. */
  endAt: number;
  signal: AbortSignal | undefined;
  say: (line: string) => void;
}

/**
 * Injects and heals as `events` plan, appending each action to `actions`. Rejects with Aborted
 * when `options.signal` fires.
 */
export async function driveSchedule(
  cluster: Cluster,
  events: readonly ScheduleEvent[],
  actions: ActionRecord[],
  tally: ScheduleTally,
  options: DriveOptions,
): Promise<void> {
  const { startedAt, endAt, signal, say } = options;
  const active = new Set<number>();
  for (const ev of events) {
    const now = performance.now() - startedAt;
    if (ev.phase === 'inject' && now > endAt) continue; // late (slow restarts): past the end, inject nothing more
    if (ev.phase === 'heal' && !active.has(ev.fault.id)) continue;
    await abortableSleep(ev.at - now, signal);
    const actual = performance.now() - startedAt;
    const t = timeline();
    const text = ev.phase === 'inject' ? describeFault(ev.fault.spec) : describeHeal(ev.fault);
    const record: ActionRecord = { planned: ev.at, actual, t, tookMs: 0, fault: ev.fault.id, phase: ev.phase, text };
    actions.push(record);
    try {
      await perform(cluster, ev.fault, ev.phase);
    } catch (error) {
      record.error = (error as Error).message.split('\n')[0] ?? String(error);
      tally.actionErrors.push(`#${ev.fault.id} ${ev.phase} ${text}: ${(error as Error).message}`);
    }
    record.tookMs = performance.now() - startedAt - actual;
    if (ev.phase === 'inject') {
      active.add(ev.fault.id);
      tally.faultsInjected += 1;
      const label = faultLabel(ev.fault.spec);
      tally.faultsByKind[label] = (tally.faultsByKind[label] ?? 0) + 1;
    } else {
      active.delete(ev.fault.id);
      if (['blackhole', 'refuse', 'drop', 'partition-peer', 'isolate'].includes(ev.fault.spec.kind)) {
        if (ev.fault.resetOnHeal) tally.healsWithReset += 1;
        else tally.healsWithoutReset += 1;
      }
    }
    say(
      `[+${(actual / 1000).toFixed(2)}s] #${ev.fault.id} ${ev.phase === 'inject' ? 'inject' : 'heal  '} ${text}` +
        (ev.phase === 'inject' ? ` (for ${((ev.fault.until - ev.fault.at) / 1000).toFixed(2)} s)` : '') +
        (record.tookMs > 200 ? ` [took ${Math.round(record.tookMs)} ms]` : '') +
        (record.error ? ` FAILED: ${record.error}` : ''),
    );
  }
  await abortableSleep(endAt - (performance.now() - startedAt), signal);
}

/**
 * Heals everything: SIGCONT every process, every link back to 'pass' (connections reset), restart
 * what is down. Returns the action, recorded as planned at `plannedAt`.
 */
export async function healEverything(
  cluster: Cluster,
  plannedAt: number,
  startedAt: number,
  actionErrors: string[],
): Promise<ActionRecord> {
  const finalT = timeline();
  const finalActual = performance.now() - startedAt;
  const healed: string[] = [];
  for (const name of ['witness', 'a', 'b'] as const) {
    if (cluster.proc(name).running) cluster.proc(name).kill('SIGCONT');
  }
  for (const link of LINKS) {
    if (cluster.proxies[link].mode !== 'pass') {
      healed.push(link);
      cluster.heal(link, { reset: true });
    }
  }
  for (const name of ['witness', 'a', 'b'] as ProcName[]) {
    if (!cluster.proc(name).running) {
      healed.push(`restart ${name}`);
      try {
        await cluster.restart(name);
      } catch (error) {
        actionErrors.push(`final heal: restart ${name}: ${(error as Error).message}`);
      }
    }
  }
  return {
    planned: plannedAt,
    actual: finalActual,
    t: finalT,
    tookMs: performance.now() - startedAt - finalActual,
    fault: 0,
    phase: 'final-heal',
    text: `heal everything (SIGCONT all${healed.length ? `; ${healed.join(', ')}` : '; nothing else was faulted'})`,
  };
}

export function formatActions(actions: readonly ActionRecord[]): string {
  return actions
    .map(
      (a) =>
        `+${(a.actual / 1000).toFixed(3).padStart(8)} s (planned +${(a.planned / 1000).toFixed(2)} s, took ${Math.round(a.tookMs)} ms) ` +
        `#${a.fault} ${a.phase}: ${a.text}${a.error ? ` FAILED: ${a.error}` : ''}`,
    )
    .join('\n');
}
