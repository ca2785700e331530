/**
 * The faults that hold an answer back at its caller (sidecar-links.ts `call`): the late answer,
 * the answer across a run, and the cut-off that follows them. Each decides, when an answer
 * arrives, whether it lands now or later, and returns whether it took the answer over.
 */
import { PARTY_NAMES } from './plan';
import type { LinkContext, RunMark } from './sidecar-links';

/**
 * The late-answer fault (drawn with `isolate`): an answer that arrived is held back until just
 * under the call's deadline, and then the caller is cut off from both others for one to three
 * leases. Where a lease is counted from the answer's arrival instead of the request's sending, the
 * node runs on a lease longer than the grantor's hold while nothing can tell it otherwise.
 * Half the time it lands sooner, right after the caller starts a new run (if it does before the
 * deadline): an answer to a request of the run before, which must not keep the new one going
 * (SAFETY 2). Either way it lands within the call's deadline, as a real transport allows.
 */
export function lateAnswer(c: LinkContext, deadline: number, deliver: () => void): boolean {
  const w = c.world;
  const p = w.plan.lateAnswerProbability;
  if (w.healed || p <= 0 || !w.fault.chance(p)) return false;
  const at = deadline - w.fault.range(0.01, 1);
  if (at <= w.t || at >= w.plan.faultPhaseMs) return false;
  let landed = false;
  const land = (): void => {
    if (landed || w.t > at) return;
    landed = true;
    deliver();
    isolateCaller(c, 'right after a late answer');
  };
  w.at(at, land);
  if (w.fault.chance(0.5)) c.afterNextStart(land);
  return true;
}

/**
 * The answer across a run (drawn with `isolate`): an answer to a request sent during a run that
 * has ended by the time it arrives (the workload stops, or has stopped and may start again) is
 * held until right after the caller's next start, if that comes before the call's deadline, and
 * then the caller is cut off from both others. It carries a lease for the run that ended, which
 * must not keep the new one going (SAFETY 2): where the peer lease outlasts the witness lease,
 * the new run would outlive the witness's hold, and the peer, which heard the old run stop and
 * so dropped its promise, takes over. The late answer above reaches this case only rarely.
 */
export function heldAcrossRun(c: LinkContext, sentDuring: RunMark, deadline: number, deliver: () => void): boolean {
  const w = c.world;
  const p = w.plan.answerAcrossRunProbability;
  // Held no longer than the fault phase, like the late answer: the quiet tail has no faults.
  if (w.healed || p <= 0 || !sentDuring.running || deadline >= w.plan.faultPhaseMs) return false;
  const now = c.currentRun();
  if (now.run === sentDuring.run && now.running) return holdUntilRunEnds(c, sentDuring, deadline, deliver);
  if (!w.fault.chance(p)) return false;
  const land = (): void => {
    if (w.t > deadline) return;
    deliver();
    isolateCaller(c, 'right after an answer held across its run');
  };
  if (now.run !== sentDuring.run && now.running) land();
  else c.afterNextStart(land);
  return true;
}

/**
 * At the bounds (plan.ts, `across-run`), an answer that arrives while its run goes on is now and
 * then held until that run ends, if it ends before the call's deadline, and then past the next
 * start as above; if the deadline comes first, it lands just before it. An answer arrives a round
 * trip after its request, so otherwise only a run that ends within a round trip of a heartbeat
 * leaves an answer to carry across.
 */
function holdUntilRunEnds(c: LinkContext, sentDuring: RunMark, deadline: number, deliver: () => void): boolean {
  const w = c.world;
  if (w.plan.atTheBounds !== 'across-run' || !w.fault.chance(HOLD_UNTIL_RUN_ENDS)) return false;
  let settled = false;
  const once = (fn: () => void) => (): void => {
    if (settled) return;
    settled = true;
    fn();
  };
  const lastMoment = deadline - Math.min(1, (deadline - w.t) / 2);
  w.at(lastMoment, once(deliver));
  c.afterRunEnds(
    once(() => {
      if (!heldAcrossRun(c, sentDuring, deadline, deliver)) deliver();
    }),
  );
  return true;
}

/** How often an answer is held until its run ends, at the bounds (`holdUntilRunEnds`). */
const HOLD_UNTIL_RUN_ENDS = 0.3;

/** Cuts the calling node off from both others, silently, for one to three leases. */
function isolateCaller(c: LinkContext, why: string): void {
  const w = c.world;
  if (w.healed) return;
  const others = [0, 1, 2].filter((party) => party !== c.from);
  const lease = Math.max(w.plan.primary.leaseMs, w.plan.primary.peerLeaseMs);
  c.network.cut(
    others.flatMap((o) => [c.from * 3 + o, o * 3 + c.from]),
    'silent',
    w.fault.range(1, 3) * lease,
    `isolate ${PARTY_NAMES[c.from]} ${why}`,
  );
}

/** What an answer held past its deadline lands on: the caller's next start, its run's end, or a time drawn. */
export type PastDeadlineLanding = 'next-start' | 'run-end' | 'drawn-time';
const CUES = ['next-start', 'run-end', 'drawn-time'] as const satisfies readonly PastDeadlineLanding[];

const LANDING_TEXT: Record<PastDeadlineLanding, string> = {
  'next-start': 'right after a later start',
  'run-end': 'right after its run ended',
  'drawn-time': 'at a time drawn',
};

export function emptyPastDeadlineCounts(): Record<PastDeadlineLanding, number> {
  return { 'next-start': 0, 'run-end': 0, 'drawn-time': 0 };
}

/** How much later than its deadline an answer past it may land at the most, in leases. */
const PAST_DEADLINE_LEASES = 3;

/**
 * Answers past the deadline (drawn with `reorder`): a transport without firm deadlines, which the
 * core's contract allows (its unit and property tests drive it over one: `enforceDeadlines: false`
 * in test/support/harness-network.ts, where an answer slower than its deadline still comes, and
 * the call fails at its deadline only when a message of it was lost). Now and then an answer
 * that arrived within its deadline is held past it instead: the call does not fail at the
 * deadline, and the answer lands up to three leases later, within the fault phase: a third at a
 * time drawn, a third right after the caller's next start past the deadline (an answer to a
 * request of a run before: an older Acquire's grant, a renewal under an earlier epoch), a third
 * right after the caller's run ends past the deadline (a renewal that outlives its run), those
 * two three leases later at the latest, if no start or end comes by then; half the time
 * the caller is then cut off from both others, so that whatever lease the answer gave is all it
 * runs on. A call whose request or answer was lost still fails at its deadline: only an answer
 * that exists is late.
 */
export function answerPastDeadline(
  c: LinkContext,
  what: string,
  deadline: number,
  deliver: (how: PastDeadlineLanding) => void,
): boolean {
  const w = c.world;
  const p = w.plan.answerPastDeadlineProbability;
  if (w.healed || p <= 0 || w.t > deadline || !w.fault.chance(p)) return false;
  const lease = Math.max(w.plan.primary.leaseMs, w.plan.primary.peerLeaseMs);
  const cue = w.fault.pick(CUES);
  // An answer that waits for a start or an end waits as long as any may; never into the quiet tail.
  const leases = cue === 'drawn-time' ? w.fault.range(0.01, PAST_DEADLINE_LEASES) : PAST_DEADLINE_LEASES;
  const latest = Math.min(deadline + leases * lease, w.plan.faultPhaseMs - 1);
  if (latest <= deadline) return false;
  const cutOff = w.fault.chance(0.5);
  let landed = false;
  const land = (how: PastDeadlineLanding): void => {
    if (landed) return;
    landed = true;
    if (w.trace.on1)
      w.trace.log(
        1,
        `${PARTY_NAMES[c.from]}`,
        `the answer to its ${what} lands ${LANDING_TEXT[how]}, past its deadline`,
      );
    deliver(how);
    if (cutOff) isolateCaller(c, 'right after an answer past its deadline');
  };
  w.at(latest, () => land('drawn-time'));
  if (cue === 'drawn-time') return true;
  const wait = cue === 'next-start' ? c.afterNextStart : c.afterRunEnds;
  // A start or an end within the deadline is not the one: the answer waits for the next.
  const onCue = (): void => {
    if (landed) return;
    if (w.t <= deadline) wait(onCue);
    else land(cue);
  };
  wait(onCue);
  return true;
}
