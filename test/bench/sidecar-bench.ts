/**
 * `npm run bench:sidecar -- --seconds S [--heartbeat 200ms] [--json]`
 *
 * Footprint of an idle sidecar (issue 5): a witness and two sidecars (direct connections, no
 * proxies), one of them active, at a 200 ms heartbeat. Once the pair is steady (and has settled
 * for a few seconds, so start-up work is over), samples /proc every second for S seconds: CPU%
 * (utime+stime, all threads) and RSS of each sidecar process, RSS split into RssAnon (private to
 * the process) and RssFile (file mappings, mostly the node binary, shared by every node process on
 * the machine), Pss and Private (Private_Clean + Private_Dirty) from /proc/PID/smaps_rollup; the
 * same for each side's watchdog, and per pair member (a sidecar and its watchdog) the sums (issue 13
 * item 5: a member under 1% of a core and 30 MB private); for context also the active side's
 * workload (the test workload, ticking once a second) and the witness.
 *
 * In the same window (unless --floor=false) three "floor" pairs run beside it: plain processes
 * with no logic that make the same gRPC traffic as the two sidecars (test/bench/grpc-floor.ts,
 * against the bench's echo server): one with the sidecar's calls (unary Renew and unary
 * Peer/Heartbeat per heartbeat), one with the witness heartbeat on a KeepAlive stream instead, one
 * with the peer heartbeats on a stream as well. They show what the transport alone costs. Beside
 * them, a node process with no work at all (`setInterval(() => {}, 1000)`): what any node process
 * costs, the floor under the watchdog.
 */
import path from 'node:path';
import { listenPort } from '../support/cluster';
import { spawnTracked, type TrackedProcess } from '../support/processes';
import { cleanEnv } from '../support/witness-process';
import {
  fixed,
  machineInfo,
  onCleanup,
  parseFlags,
  ProcSampler,
  progress,
  runScript,
  sleep,
  table,
  usage,
  type FlagSpec,
  type ProcessUsage,
} from './common';
import { Pair } from './pair';

const SPEC: Record<string, FlagSpec> = {
  seconds: { kind: 'number', default: 60, min: 1, help: 'Seconds sampled.' },
  heartbeat: { kind: 'duration', default: '200ms', min: 10, help: "The sidecars' --heartbeat." },
  lease: { kind: 'duration', default: '2s', min: 100, help: 'Lease of the witness and the sidecars.' },
  timeout: { kind: 'duration', default: '1s', help: "The sidecars' --timeout." },
  'stop-timeout': { kind: 'duration', default: '1s', help: "The sidecars' --stop-timeout." },
  settle: { kind: 'duration', default: '3s', help: 'Steady time before sampling starts.' },
  floor: {
    kind: 'boolean',
    default: true,
    help: 'Also run the plain grpc-js floor pairs in the same window (--floor=false: not).',
  },
  'node-options': {
    kind: 'string',
    help: 'Extra node options for the two sidecar processes, space-separated (e.g. "--max-semi-space-size=1"), to try V8 settings.',
  },
  profile: {
    kind: 'string',
    help: 'Directory: run both sidecars with node --cpu-prof there (stopped with SIGTERM at the end).',
  },
  json: { kind: 'boolean', help: 'Print one JSON object instead of the table.' },
  help: { kind: 'boolean', help: 'Print this help.' },
};

const ECHO_SCRIPT = path.join(__dirname, 'echo-server.js');
const FLOOR_SCRIPT = path.join(__dirname, 'grpc-floor.js');

async function startListening(
  script: string,
  args: (port: number) => string[],
  ready: RegExp,
  name: string,
): Promise<{ proc: TrackedProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await listenPort();
    const proc = spawnTracked(process.execPath, [script, ...args(port)], {
      name,
      stdin: 'pipe',
      env: cleanEnv(),
      maxLines: 200,
    });
    try {
      await proc.waitForLine(ready, 15_000, { stream: 'stdout' });
      return { proc, port };
    } catch (error) {
      await proc.stop(2000);
      if (attempt >= 3) throw error;
    }
  }
}

type FloorKind = 'unary' | 'witness-stream' | 'all-streams';

/** Two floor processes talking to each other and to `echoPort` (see grpc-floor.ts). */
async function startFloorPair(
  echoPort: number,
  heartbeatMs: number,
  timeoutMs: number,
  kind: FloorKind,
): Promise<TrackedProcess[]> {
  const [pa, pb] = [await listenPort(), await listenPort()];
  const args = (node: string, listen: number, peer: number) => [
    '--listen',
    `127.0.0.1:${listen}`,
    '--peer',
    `127.0.0.1:${peer}`,
    '--witness',
    `127.0.0.1:${echoPort}`,
    '--heartbeat',
    String(heartbeatMs),
    '--timeout',
    String(timeoutMs),
    '--witness-rpc',
    kind === 'unary' ? 'unary' : 'stream',
    '--peer-rpc',
    kind === 'all-streams' ? 'stream' : 'unary',
    '--node',
    node,
  ];
  const procs = [
    spawnTracked(process.execPath, [FLOOR_SCRIPT, ...args('a', pa, pb)], {
      name: `floor ${kind} a`,
      stdin: 'pipe',
      env: cleanEnv(),
    }),
    spawnTracked(process.execPath, [FLOOR_SCRIPT, ...args('b', pb, pa)], {
      name: `floor ${kind} b`,
      stdin: 'pipe',
      env: cleanEnv(),
    }),
  ];
  await Promise.all(procs.map((p) => p.waitForLine(/"msg":"floor listening"/, 15_000, { stream: 'stdout' })));
  return procs;
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), SPEC);
  if (flags.help) {
    process.stdout.write(
      `${usage('npm run bench:sidecar -- [options]', 'RSS and CPU of an idle pair of sidecars.', SPEC)}\n`,
    );
    return 0;
  }
  const seconds = Number(flags.seconds);
  const heartbeatMs = Number(flags.heartbeat);
  const leaseMs = Number(flags.lease);
  const timeoutMs = Number(flags.timeout);
  const nodeOptions =
    typeof flags['node-options'] === 'string' ? flags['node-options'].split(/\s+/).filter(Boolean) : [];
  const profileDir = typeof flags.profile === 'string' ? path.resolve(flags.profile) : undefined;
  const machine = machineInfo();
  progress(`machine: ${machine.cpus} cores (${machine.model}), node ${machine.node}; ${machine.uptime}`);
  const pair = await Pair.start({
    leaseMs,
    heartbeatMs,
    timeoutMs,
    stopTimeoutMs: Number(flags['stop-timeout']),
    proxies: false,
    tickMs: 1000,
    execArgv: (name) =>
      name === 'witness'
        ? []
        : [
            ...nodeOptions,
            ...(profileDir
              ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `sidecar-${name}.cpuprofile`]
              : []),
          ],
  });
  onCleanup(async () => {
    await pair.teardown();
  });
  const floors: { name: string; pid: number }[] = [];
  if (flags.floor !== false) {
    const echo = await startListening(
      ECHO_SCRIPT,
      (port) => ['--listen', `127.0.0.1:${port}`],
      /"msg":"echo listening"/,
      'echo',
    );
    const labels: Record<FloorKind, string> = {
      unary: 'floor: unary Renew + unary Peer (as the sidecar)',
      'witness-stream': 'floor: KeepAlive stream + unary Peer',
      'all-streams': 'floor: KeepAlive stream + peer stream',
    };
    // What any node process costs, whatever it runs: the floor under the watchdog.
    const idleNode = spawnTracked(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      name: 'floor: idle node',
      stdin: 'pipe',
      env: cleanEnv(),
    });
    floors.push({ name: "floor: node -e 'setInterval(() => {}, 1000)'", pid: idleNode.pid });
    for (const kind of ['unary', 'witness-stream', 'all-streams'] as const) {
      const procs = await startFloorPair(echo.port, heartbeatMs, timeoutMs, kind);
      procs.forEach((p, i) => floors.push({ name: `${labels[kind]} ${i === 0 ? 'a' : 'b'}`, pid: p.pid }));
    }
  }
  const active = await pair.waitFor('one side active', () => pair.steady(), 20_000);
  const standby = active === 'a' ? 'b' : 'a';
  progress(`steady: ${active} active; settling ${Number(flags.settle)} ms, then sampling ${seconds} s`);
  await sleep(Number(flags.settle));
  const watchdogPid = (node: 'a' | 'b'): number | undefined =>
    pair.logged(node, 'watchdog started').at(-1)?.watchdogPid as number | undefined;
  const members = [
    { name: `${active} (active)`, sidecar: pair.proc(active).pid, watchdog: watchdogPid(active) },
    { name: `${standby} (standby)`, sidecar: pair.proc(standby).pid, watchdog: watchdogPid(standby) },
  ];
  const workloadPid = pair
    .intervals()
    .filter((iv) => iv.node === active)
    .at(-1)?.pid;
  const sampled = [
    ...members.map((m) => ({ name: `sidecar ${m.name}`, pid: m.sidecar })),
    ...members.flatMap((m) => (m.watchdog ? [{ name: `watchdog of ${m.name}`, pid: m.watchdog }] : [])),
    ...(workloadPid ? [{ name: `workload of ${active} (node, ticks 1/s)`, pid: workloadPid }] : []),
    { name: 'witness', pid: pair.proc('witness').pid },
    ...floors,
  ];
  const sampler = new ProcSampler(sampled, 1000);
  sampler.start();
  await sleep(seconds * 1000);
  const usageFigures = sampler.stop();
  const stillSteady = (await pair.steady()) === active;
  if (profileDir) {
    // A profile is written when the process exits by itself: stop the sidecars with SIGTERM.
    await Promise.all((['a', 'b'] as const).map((n) => pair.proc(n).stop(10_000)));
    progress(
      `CPU profiles in ${profileDir} (node dist/test/bench/profile-summary.js FILE --after-ms MS to skip the start)`,
    );
  }
  const config = {
    seconds,
    heartbeatMs,
    leaseMs,
    timeoutMs,
    stopTimeoutMs: Number(flags['stop-timeout']),
    sidecarNodeOptions: nodeOptions.join(' ') || undefined,
  };
  const memberFigures = members.map((m) => memberUsage(m.name, m.sidecar, m.watchdog, usageFigures.processes));
  const worst = {
    cpuPercent: Math.max(...memberFigures.map((m) => m.cpuPercent)),
    privateMaxMb: Math.max(...memberFigures.map((m) => m.privateMaxMb)),
  };
  const targets = {
    cpu: { target: '< 1% of a core', measured: worst.cpuPercent, met: worst.cpuPercent < 1 },
    private: { target: '< 30 MB', measured: worst.privateMaxMb, met: worst.privateMaxMb < 30 },
  };
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ bench: 'sidecar', machine, config, processes: usageFigures.processes, members: memberFigures, machineUsage: usageFigures.machine, stillSteady, worst, targets })}\n`,
    );
  } else {
    const row = (p: ProcessUsage): string[] => [
      p.name,
      String(p.pid),
      fixed(p.cpuPercent, 2),
      fixed(p.cpuPeakPercent, 1),
      fixed(p.rssEndMb, 1),
      fixed(p.rssMaxMb, 1),
      fixed(p.rssAnonMaxMb, 1),
      fixed(p.rssFileMaxMb, 1),
      fixed(p.privateMaxMb, 1),
      fixed(p.pssMaxMb, 1),
    ];
    const lines = [
      `bench:sidecar  ${JSON.stringify(config)}`,
      `machine: ${machine.cpus} cores, ${machine.model}; at start: ${machine.uptime}`,
      '',
      table(
        [
          'process',
          'pid',
          'CPU % mean',
          'CPU % peak 1 s',
          'RSS end MB',
          'RSS max MB',
          'RssAnon max MB',
          'RssFile max MB',
          'Private max MB',
          'Pss max MB',
        ],
        [...usageFigures.processes.map(row), ...memberFigures.map(row)],
      ),
      '',
      `CPU % is of one core (all threads), over ${seconds} s; the pair ${stillSteady ? 'stayed steady throughout' : 'was NOT steady at the end'}. ` +
        `RssFile is mostly the node binary, shared by every node process on the machine. ` +
        `Private = Private_Clean + Private_Dirty; Pss counts each shared page divided among its processes. ` +
        `A member row sums its sidecar and watchdog (memory: the sum of each one's max).`,
      `rest of the machine ("other"): ${fixed(usageFigures.machine.othersPercentOfCore, 1)}% of a core; load average ${usageFigures.machine.loadavgStart} -> ${usageFigures.machine.loadavgEnd}`,
      `targets (issue 13 item 5), worst member (sidecar + watchdog): CPU ${fixed(worst.cpuPercent, 2)}% (< 1%: ${targets.cpu.met ? 'met' : 'NOT met'}), ` +
        `private ${fixed(worst.privateMaxMb, 1)} MB (< 30 MB: ${targets.private.met ? 'met' : 'NOT met'})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return 0;
}

/** A pair member: its sidecar and watchdog together (CPU means add up; memory: the sum of each one's max). */
function memberUsage(
  name: string,
  sidecarPid: number,
  watchdogPid: number | undefined,
  processes: readonly ProcessUsage[],
): ProcessUsage & { privateMaxMb: number } {
  const parts = processes.filter((p) => p.pid === sidecarPid || p.pid === watchdogPid);
  const sum = (pick: (p: ProcessUsage) => number | undefined): number =>
    parts.reduce((total, p) => total + (pick(p) ?? NaN), 0);
  return {
    name: `member ${name}: sidecar + watchdog${watchdogPid === undefined ? ' (no watchdog seen)' : ''}`,
    pid: sidecarPid,
    cpuPercent: sum((p) => p.cpuPercent),
    cpuPeakPercent: NaN,
    rssStartMb: sum((p) => p.rssStartMb),
    rssEndMb: sum((p) => p.rssEndMb),
    rssMaxMb: sum((p) => p.rssMaxMb),
    rssAnonMaxMb: sum((p) => p.rssAnonMaxMb),
    rssFileMaxMb: sum((p) => p.rssFileMaxMb),
    pssMaxMb: sum((p) => p.pssMaxMb),
    privateMaxMb: sum((p) => p.privateMaxMb),
  };
}

if (require.main === module) runScript(main, 60 * 60 * 1000);
