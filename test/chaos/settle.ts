/**
 * The end of a chaos run: once every fault is healed, the pair must settle, exactly one workload
 * running, the same process, for STABLE_MS, as both the run log and the sidecars' GetState say.
 */
import { performance } from 'node:perf_hooks';
import { Cluster, LEASE_MS, TIMEOUT_MS, timeline } from '../support/cluster';

/** Exactly one workload process must run this long, unchanged, for the pair to count as settled. */
export const STABLE_MS = 2 * LEASE_MS;
/** Slack on top of the computed settle bound: process scheduling on a loaded CI machine, polling. */
export const SETTLE_SLACK_MS = 2000;
/** A run-log interval counts as running if it ticked this recently (20 ms ticks). */
const TICK_FRESH_MS = 1000;

export interface SettleResult {
  settled: boolean;
  /** From the end of the heal-all to the first moment exactly one workload ran (ms). */
  firstOneMs: number | null;
  /** From the end of the heal-all to the settled state (stable for STABLE_MS) (ms). */
  settledMs: number | null;
  node: string | null;
  epoch: string | null;
  /** The bound on the first "exactly one" (ms after the heal-all). */
  boundMs: number;
  note: string | null;
  lastObservation: string;
}

interface OneActive {
  /** Exactly one ticking workload in the run log, and nobody else says it is active. */
  candidate: { node: string; pid: number; epoch: string | null } | null;
  /** Both sidecars answered GetState and exactly the candidate's node says it is active and running. */
  confirmed: boolean;
  /** Something contradicts "exactly one" (two or no workloads ticking, two active, none active). */
  broken: boolean;
  text: string;
}

async function observeOne(c: Cluster): Promise<OneActive> {
  const view = await c.active();
  const now = timeline();
  const ticking = c
    .intervals()
    .filter((iv) => iv.endedBy === 'last-tick' && now - (iv.lastTick ?? iv.start) < TICK_FRESH_MS);
  const desc =
    `state: a=${view.a ? `${view.a.workload}${view.a.active ? ' active' : ''} epoch ${view.a.epoch}` : 'no answer'}, ` +
    `b=${view.b ? `${view.b.workload}${view.b.active ? ' active' : ''} epoch ${view.b.epoch}` : 'no answer'}; ` +
    `ticking workloads: [${ticking.map((iv) => `${iv.node}/pid ${iv.pid}/epoch ${iv.epoch}`).join(', ')}]`;
  if (ticking.length !== 1 || view.active.length > 1)
    return { candidate: null, confirmed: false, broken: true, text: desc };
  const iv = ticking[0]!;
  const bothAnswered = view.a !== undefined && view.b !== undefined;
  if (bothAnswered && view.active.length === 0) return { candidate: null, confirmed: false, broken: true, text: desc };
  if (view.active.length === 1 && view.active[0] !== iv.node)
    return { candidate: null, confirmed: false, broken: true, text: desc };
  const st = iv.node === 'a' ? view.a : iv.node === 'b' ? view.b : undefined;
  const confirmed =
    bothAnswered &&
    view.active.length === 1 &&
    st !== undefined &&
    st.workload === 'WORKLOAD_PHASE_RUNNING' &&
    st.epoch === iv.epoch;
  return { candidate: { node: iv.node ?? '?', pid: iv.pid, epoch: iv.epoch }, confirmed, broken: false, text: desc };
}

/**
 * After the heal-all: waits for exactly one workload to run (the bound: the failover bound, a
 * restarted witness's start-up grace, two peer timeouts for connections to come back without a
 * reset (keepalive), and SETTLE_SLACK_MS), then for it to stay the same process for STABLE_MS.
 * With auto fail-back a secondary that runs is expected to hand back to the primary after the
 * fail-back delay; if it has not by `handBackBy`, the pair still counts as settled (exactly one
 * runs) and the summary notes the missing hand-back.
 */
export async function settle(
  c: Cluster,
  options: { failoverBoundMs: number; failback: 'auto' | 'manual'; failbackDelayMs: number },
): Promise<SettleResult> {
  const restartGraceMs = LEASE_MS * 1.01 + 50;
  const boundMs = Math.ceil(options.failoverBoundMs + restartGraceMs + 2 * TIMEOUT_MS + SETTLE_SLACK_MS);
  const handBackMs =
    options.failback === 'auto' ? options.failbackDelayMs + options.failoverBoundMs + SETTLE_SLACK_MS : 0;
  const t0 = performance.now();
  let firstOne: number | null = null;
  let stable: { pid: number; since: number } | null = null;
  let last = '';
  for (;;) {
    const obs = await observeOne(c);
    const now = performance.now() - t0;
    last = obs.text;
    if (obs.broken) stable = null;
    if (obs.candidate !== null) {
      if (firstOne === null && obs.confirmed) firstOne = now;
      if (stable === null || stable.pid !== obs.candidate.pid) stable = { pid: obs.candidate.pid, since: now };
      const isStable = obs.confirmed && now - stable.since >= STABLE_MS;
      const handBackDue = firstOne !== null && now >= firstOne + handBackMs + STABLE_MS;
      if (isStable && (obs.candidate.node === 'a' || options.failback === 'manual' || handBackDue)) {
        return {
          settled: true,
          firstOneMs: firstOne,
          settledMs: now,
          node: obs.candidate.node,
          epoch: obs.candidate.epoch,
          boundMs,
          note:
            obs.candidate.node !== 'a' && options.failback === 'auto'
              ? `the secondary still runs ${Math.round(now - (firstOne ?? now))} ms after the pair settled: no hand-back to the primary within fail-back delay + failover bound + slack`
              : null,
          lastObservation: last,
        };
      }
    }
    const deadline =
      firstOne === null ? boundMs : Math.max(boundMs, firstOne + handBackMs) + 2 * STABLE_MS + SETTLE_SLACK_MS;
    if (now > deadline) {
      return {
        settled: false,
        firstOneMs: firstOne,
        settledMs: null,
        node: null,
        epoch: null,
        boundMs,
        note:
          firstOne === null
            ? `no single active workload within ${boundMs} ms of the heal`
            : `exactly one ran ${Math.round(firstOne)} ms after the heal, but it did not stay stable for ${STABLE_MS} ms within ${Math.round(deadline)} ms`,
        lastObservation: last,
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
