/** A chaos run's result as text: the summary and the list of failovers. */
import type { ChaosResult } from './chaos-result';
import type { Stat } from './failover-analysis';

export function fmtMs(n: number | null): string {
  return n === null ? '-' : `${Math.round(n)} ms`;
}

function formatStat(s: Stat): string {
  return s.n === 0 ? 'none' : `n=${s.n} p50 ${fmtMs(s.p50)}, max ${fmtMs(s.max)}`;
}

export function formatSummary(r: ChaosResult): string {
  const kinds = Object.entries(r.faultsByKind)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const nodes = Object.entries(r.activationsByNode)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const takeovers = r.failovers.filter((f) => f.kind === 'takeover');
  const handBacks = r.failovers.filter((f) => f.kind === 'hand-back');
  const restarts = r.failovers.filter((f) => f.kind === 'restart');
  const lines = [
    `seed: ${r.seed}`,
    `seconds run: ${(r.ranMs / 1000).toFixed(1)} (planned ${r.seconds})${r.aborted ? ' ABORTED' : ''}`,
    `faults injected: ${r.faultsInjected} (${kinds || 'none'}); link heals with reset ${r.healsWithReset}, without ${r.healsWithoutReset}`,
    `activations: ${r.activations} (${nodes || 'none'}); witness grants: ${r.witnessGrants}; workload self-exits (max-runtime): ${r.workloadSelfExits}`,
    `overlaps (S1): ${r.overlaps.length}`,
    ...r.overlaps.map((o) => `  ${o.text}`),
    `S2 violations: ${r.s2Violations.length}`,
    ...r.s2Violations.map((v) => `  ${v}`),
    `failovers observed: ${takeovers.length} takeover(s): no-workload gap ${formatStat(r.takeoverGap)}; ` +
      `last chaos action -> new workload start ${formatStat(r.takeoverSinceFault)}`,
    `hand-backs: ${handBacks.length}: gap ${formatStat(r.handBackGap)}; same-node restarts: ${restarts.length}`,
    `availability during the schedule: ${(r.availability * 100).toFixed(1)}%; longest stretch with nothing running: ${fmtMs(r.longestOutageMs)}` +
      (r.longestOutageAtMs === null ? '' : ` from +${(r.longestOutageAtMs / 1000).toFixed(2)} s`),
    `failover bound printed by the sidecars: ${r.failoverBoundMs === null ? '?' : `${r.failoverBoundMs} ms`}`,
    r.settle === null
      ? 'settled at the end: not reached'
      : r.settle.settled
        ? `settled at the end: yes: exactly one runs (${r.settle.node}, epoch ${r.settle.epoch}); first ${fmtMs(r.settle.firstOneMs)} after the heal (bound ${r.settle.boundMs} ms), stable at ${fmtMs(r.settle.settledMs)}` +
          (r.settle.note ? `\n  NOTE: ${r.settle.note}` : '')
        : `settled at the end: NO: ${r.settle.note}\n  last seen: ${r.settle.lastObservation}`,
    ...(r.teardownProblems ? [`teardown: ${r.teardownProblems}`] : []),
    ...r.actionErrors.map((e) => `action failed: ${e}`),
    `load average: start ${r.loadAverage.start.join(' ')}, end ${r.loadAverage.end.join(' ')}`,
    `result: ${
      r.ok
        ? 'PASS'
        : r.aborted && r.failures.length === 0
          ? 'ABORTED (interrupted; no violation in the run log so far)'
          : `FAIL: ${r.failures.join('; ')}${r.aborted ? ' (interrupted)' : ''}`
    }`,
    ...(r.keptDir && r.dir ? [`evidence kept in ${r.dir}`] : []),
    `replay: ${r.replay}`,
  ];
  return lines.join('\n');
}

export function formatFailovers(r: ChaosResult): string {
  return r.failovers
    .map(
      (f) =>
        `  +${(f.atMs / 1000).toFixed(2)} s ${f.kind.padEnd(9)} ${f.from}(${f.fromEpoch}) -> ${f.to}(${f.toEpoch}): gap ${Math.round(f.gapMs)} ms` +
        (f.sinceFaultMs === null ? '' : `, ${Math.round(f.sinceFaultMs)} ms after ${f.sinceFault}`) +
        `; ended by ${f.endCause}`,
    )
    .join('\n');
}
