/** The figures of `bench:pairs` (test/bench/pairs-bench.ts) and their tables. */
import os from 'node:os';
import { fixed, ms, table, type Distribution, type MachineUsage, type ProcessUsage } from './common';

export interface EchoFigures {
  command: string;
  nodes: number;
  /** The generators' heartbeat that gives the sidecars' renewals/s. */
  heartbeatMs: number;
  witness: ServerUnderGenerator;
  echo: ServerUnderGenerator;
  /** The sidecars' renewal latency over the echo server's, at the same renewals/s. */
  p50VsEcho: number;
  p99VsEcho: number;
}

export interface ServerUnderGenerator {
  achievedPerSec: number;
  latencyMs: Distribution;
  errors: number;
  cpuPercent: number;
  cpuUsPerRenewal: number;
  generatorsCpuPercent: number;
  othersPercentOfCore: number;
}

export interface StepFigures {
  groups: number;
  hosts: number;
  started: number;
  /** The slowest host's time to start all its sidecars. */
  startMs: number;
  /** From the first start to every primary holding; null: not within --settle. */
  heldAfterMs: number | null;
  held: { atStart: number; min: number; end: number };
  secondaryActiveMax: number;
  bothActiveMax: number;
  overlaps: number;
  overlapSamples: string[];
  activationsInWindow: { primary: number; secondary: number };
  witnessMode: 'unary' | 'stream';
  renewalsPerSec: number;
  renewalErrors: Record<string, number>;
  renewLatencyMs: Distribution;
  peerHeartbeatsPerSec: number;
  peerErrors: Record<string, number>;
  peerLatencyMs: Distribution;
  witnessUsage: ProcessUsage;
  witnessCpuUsPerRenewal: number;
  hostUsage: ProcessUsage[];
  hostsCpuPercent: number;
  /** Host CPU per group: µs of CPU per second (10,000 = 1% of a core). */
  hostsCpuUsPerGroupSecond: number;
  hostsRssMb: number;
  /** The hosts' V8 heap in use at the end of the window, per sidecar. */
  heapKbPerSidecar: number;
  machine: MachineUsage;
  measuredSeconds: number;
  closeMs: number;
  closeFailed: number;
  warnings: Record<string, number>;
  warningSamples: string[];
  echo: EchoFigures | undefined;
}

const TARGET_GROUPS = 5000;
const TARGET_P99_RATIO = 1.5;

const count = (errors: Record<string, number>): number => Object.values(errors).reduce((a, b) => a + b, 0);

export function renderPairs(uptime: string, config: Record<string, unknown>, results: readonly StepFigures[]): string {
  const lines = [
    `bench:pairs  ${JSON.stringify(config)}`,
    `machine: ${os.cpus().length} cores; at start: ${uptime}`,
    '',
  ];
  lines.push('real sidecars (both of each group in the hosts) against one witness:');
  lines.push(
    table(
      [
        'groups',
        'held min/end',
        'overlaps',
        'takeovers',
        'mode',
        'renew/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'renew err',
        'peer hb/s',
        'peer err',
        'witness CPU %',
        'µs/renewal',
        'hosts CPU %',
        'host µs/group/s',
        'hosts RSS MB',
        'heap KB/sidecar',
        'other CPU %',
      ],
      results.map((s) => [
        String(s.groups),
        `${s.held.min}/${s.held.end}`,
        String(s.overlaps + s.bothActiveMax),
        String(s.activationsInWindow.primary + s.activationsInWindow.secondary),
        s.witnessMode,
        fixed(s.renewalsPerSec, 0),
        ms(s.renewLatencyMs.p50),
        ms(s.renewLatencyMs.p99),
        ms(s.renewLatencyMs.max),
        String(count(s.renewalErrors)),
        fixed(s.peerHeartbeatsPerSec, 0),
        String(count(s.peerErrors)),
        fixed(s.witnessUsage.cpuPercent, 0),
        fixed(s.witnessCpuUsPerRenewal, 1),
        fixed(s.hostsCpuPercent, 0),
        fixed(s.hostsCpuUsPerGroupSecond, 0),
        fixed(s.hostsRssMb, 0),
        fixed(s.heapKbPerSidecar, 0),
        fixed(s.machine.othersPercentOfCore, 0),
      ]),
    ),
  );
  for (const s of results) {
    const held =
      s.heldAfterMs === null
        ? `NOT all held within --settle (${s.held.atStart})`
        : `all held after ${(s.heldAfterMs / 1000).toFixed(1)} s`;
    lines.push(
      `  ${s.groups}: ${s.started} sidecars started in ${(s.startMs / 1000).toFixed(1)} s, ${held}; closed in ${(s.closeMs / 1000).toFixed(1)} s`,
    );
    if (count(s.renewalErrors) + count(s.peerErrors) > 0)
      lines.push(
        `    call errors (gRPC codes): renew ${JSON.stringify(s.renewalErrors)}, peer ${JSON.stringify(s.peerErrors)}`,
      );
    if (Object.keys(s.warnings).length > 0) lines.push(`    sidecar warnings: ${JSON.stringify(s.warnings)}`);
    if (s.overlaps + s.bothActiveMax > 0) lines.push(`    !!! BOTH ACTIVE: ${s.overlapSamples.join('; ')}`);
  }
  const compared = results.filter((s) => s.echo !== undefined);
  if (compared.length > 0) {
    lines.push('', 'the same renewals/s from the load generators (bench:witness, same run, after each step):');
    lines.push(
      table(
        [
          'groups',
          'nodes @ heartbeat',
          'server',
          'renew/s',
          'p50 ms',
          'p99 ms',
          'errors',
          'CPU %',
          'µs/renewal',
          'gen CPU %',
          'other CPU %',
        ],
        compared.flatMap((s) => {
          const e = s.echo as EchoFigures;
          return (['witness', 'echo'] as const).map((name) => [
            String(s.groups),
            `${e.nodes} @ ${e.heartbeatMs} ms`,
            name,
            fixed(e[name].achievedPerSec, 0),
            ms(e[name].latencyMs.p50),
            ms(e[name].latencyMs.p99),
            String(e[name].errors),
            fixed(e[name].cpuPercent, 0),
            fixed(e[name].cpuUsPerRenewal, 1),
            fixed(e[name].generatorsCpuPercent, 0),
            fixed(e[name].othersPercentOfCore, 0),
          ]);
        }),
      ),
    );
  }
  lines.push('', 'targets (issue 13):');
  const best = [...results].reverse().find((s) => s.held.min === s.groups && s.overlaps + s.bothActiveMax === 0);
  const rows = [
    [
      `>= ${TARGET_GROUPS} groups held, no overlap`,
      best === undefined ? 'none held' : `${best.groups} held`,
      best !== undefined && best.groups >= TARGET_GROUPS ? 'yes' : 'NO',
    ],
    ...compared.map((s) => [
      `${s.groups} groups: renewal p99 sidecars/echo <= ${TARGET_P99_RATIO}`,
      `${fixed(s.echo?.p99VsEcho, 2)} (${ms(s.renewLatencyMs.p99)} vs ${ms(s.echo?.echo.latencyMs.p99)} ms)`,
      (s.echo?.p99VsEcho ?? NaN) <= TARGET_P99_RATIO ? 'yes' : 'NO',
    ]),
  ];
  lines.push(table(['what', 'measured', 'met'], rows));
  lines.push(
    '\n"held": the primary active, running and holding at the witness (min over one-second samples). "overlaps": both ' +
      'sidecars of a group active at once (a failure). "takeovers": activations in the measured window (0 when every ' +
      'group stays put). Latency: in the sidecars, from the call handed to grpc-js to its answer. CPU % is of one core; ' +
      '"other CPU %" is the rest of the machine (processes not started by this run).',
  );
  return lines.join('\n');
}
