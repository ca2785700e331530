/** One schedule's configuration as text, for the report and the replay. */
import { type LinkPlan, PARTY_NAMES, type Plan } from './plan';
import type { ReplicaPlan } from './plan-replicas';

export function describePlan(plan: Plan): string[] {
  const s = plan.primary;
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
  const lines = [
    `settings: heartbeat ${s.heartbeatMs}ms, timeout ${s.timeoutMs}ms, lease ${s.leaseMs}ms, peer lease ${s.peerLeaseMs}ms, ` +
      `stop timeout ${s.stopTimeoutMs}ms, rho ${s.bounds.rho}, margin ${s.bounds.marginMs}ms, failback ${s.failback} ` +
      `(delay ${s.failbackDelayMs}ms), max restarts ${s.maxRestarts}, backoff ${s.restartBackoffMs}ms, cooldown ${s.failureCooldownMs}ms`,
    `witness: max lease ${plan.witness.maxLeaseMs}ms, default ${plan.witness.defaultLeaseMs}ms, rho ${plan.witness.bounds.rho}, ` +
      `margin ${plan.witness.bounds.marginMs}ms; writes up to ${plan.writeDelayMaxMs.toFixed(2)}ms`,
    `clocks: rho actual ${pct(plan.rhoActual)}, rates P ${plan.clockRates[0].toFixed(5)} S ${plan.clockRates[1].toFixed(5)} ` +
      `W ${plan.clockRates[2].toFixed(5)}; call deadline ${plan.callDeadlineMs}ms; rejected configs ${plan.rejectedConfigs}`,
    `faults (${plan.faultPhaseMs}ms): ${[...plan.faults].join(', ') || 'none'}; probe: ${plan.probe}`,
  ];
  for (const [kind, e] of Object.entries(plan.episodes)) {
    lines.push(`  ${kind}: every ~${Math.round(e.meanGapMs)}ms for ~${Math.round(e.meanLengthMs)}ms`);
  }
  if (plan.faults.has('witness-wipe'))
    lines.push(`  witness crash wipes the store with p=${plan.wipeProbability.toFixed(2)}`);
  if (plan.faults.has('crash-on-write'))
    lines.push(`  a durable write crashes the witness with p=${plan.crashOnWriteProbability.toFixed(2)}`);
  if (plan.lateAnswerProbability > 0)
    lines.push(
      `  an answer is held to just under its deadline, then its caller isolated, p=${plan.lateAnswerProbability.toFixed(3)}`,
    );
  if (plan.answerAcrossRunProbability > 0)
    lines.push(
      `  an answer to a run that ended is held past the next start, then its caller isolated, p=${plan.answerAcrossRunProbability.toFixed(2)}`,
    );
  if (plan.answerPastDeadlineProbability > 0)
    lines.push(
      `  an answer is held past its call's deadline (no failure at the deadline), p=${plan.answerPastDeadlineProbability.toFixed(3)}`,
    );
  if (plan.atTheBounds !== undefined)
    lines.push(
      `  at the bounds (${plan.atTheBounds}): whole stop budgets, the primary's timers a full margin late, rho at its extremes`,
    );
  if (plan.timerLateMs > 0) lines.push(`  sidecar and watchdog timers fire up to ${plan.timerLateMs}ms late`);
  if (plan.quickRestartProbability > 0)
    lines.push(`  a crashed witness is back within 10ms with p=${plan.quickRestartProbability.toFixed(2)}`);
  if (plan.shorterRestartLeaseMs !== undefined)
    lines.push(`  every other witness restart has the longest lease ${plan.shorterRestartLeaseMs}ms`);
  if (plan.crashAfterOpenProbability > 0)
    lines.push(
      `  a restarted witness crashes again within 5ms of opening with p=${plan.crashAfterOpenProbability.toFixed(2)}`,
    );
  if (plan.isolationCrashesWitnessProbability > 0)
    lines.push(
      `  an isolation of a node also crashes the witness with p=${plan.isolationCrashesWitnessProbability.toFixed(2)}` +
        (plan.longIsolationWithWitnessCrash ? ', and then lasts 1-3 leases' : ''),
    );
  if (plan.forgetAfterMs > 0)
    lines.push(
      `  the witness forgets a group nobody holds or was heard from for ${plan.forgetAfterMs}ms (--forget-after)`,
    );
  if (plan.wallStepBackProbability > 0)
    lines.push(
      `  a restart finds the witness's wall clock stepped back to about its last open with p=${plan.wallStepBackProbability.toFixed(2)}`,
    );
  if (plan.restartLeaseMs !== undefined)
    lines.push(
      `  a restart that keeps the workload brings --lease down to ${plan.restartLeaseMs}ms for later processes`,
    );
  if (plan.faults.has('write-failure'))
    lines.push(`  a durable write fails (disk full) with p=${plan.writeFailProbability.toFixed(2)}`);
  if (plan.embedded) lines.push('  the workload is embedded in the sidecar process (library form): no watchdog');
  if (plan.faults.has('workload-crash'))
    lines.push(`  workload crashes by itself after ~${Math.round(plan.workloadMeanLifeMs)}ms`);
  lines.push(
    `  workload start up to ${plan.startDelayMaxMs.toFixed(1)}ms, stop up to ${plan.stopTimeMaxMs.toFixed(1)}ms, ` +
      `ignores SIGTERM p=${plan.ignoreSigtermProbability.toFixed(2)}`,
  );
  if (plan.replicas !== undefined) lines.push(...describeReplicas(plan.replicas));
  const links: string[] = [];
  for (let from = 0; from < 3; from += 1) {
    for (let to = 0; to < 3; to += 1) {
      if (from === to) continue;
      const l = plan.links[from * 3 + to] as LinkPlan;
      links.push(
        `${PARTY_NAMES[from]}->${PARTY_NAMES[to]} ${l.baseDelayMs.toFixed(2)}+${l.jitterMs.toFixed(2)}ms` +
          (l.loss > 0 ? ` loss ${pct(l.loss)}` : '') +
          (l.duplication > 0 ? ` dup ${pct(l.duplication)}` : '') +
          (l.duplication > 0 && l.lateDuplicateMs > 0 ? ` (late up to ${Math.round(l.lateDuplicateMs)}ms)` : '') +
          (l.spike > 0 ? ` reorder ${pct(l.spike)}~${Math.round(l.spikeMeanMs)}ms` : ''),
      );
    }
  }
  lines.push(`links: ${links.join('; ')}`);
  return lines;
}

function describeReplicas(r: ReplicaPlan): string[] {
  const rates = r.otherRates.map((rate) => rate.toFixed(5)).join(', ');
  const episodes = (['etcdCut', 'pause', 'split'] as const).flatMap((kind) => {
    const e = r[kind];
    return e === undefined
      ? []
      : [`    ${kind}: every ~${Math.round(e.meanGapMs)}ms for ~${Math.round(e.meanLengthMs)}ms`];
  });
  return [
    `  witness replicas over etcd: ${r.otherRates.length + 1} (rates after the first: ${rates}), election TTL ${r.ttlMs}ms, ` +
      `etcd rate ${r.etcdRate.toFixed(5)}, delay to etcd up to ${r.etcdDelayMaxMs.toFixed(1)}ms, ` +
      `${r.zones ? 'S prefers the second replica' : 'one order for both'}, probe every ${Math.round(r.probeEveryMs)}ms`,
    ...episodes,
  ];
}
