/**
 * `npm run bench:sidecar -- --seconds S [--heartbeat 200ms] [--json]`
 *
 * Footprint of an idle sidecar (issue 5): a witness and two sidecars (direct connections, no
 * proxies), one of them active, at a 200 ms heartbeat. Once the pair is steady (and has settled
 * for a few seconds, so start-up work is over), samples /proc every second for S seconds: CPU%
 * (utime+stime, all threads) and RSS of each sidecar process, RSS split into RssAnon (private to
 * the process) and RssFile (file mappings, mostly the node binary, shared by every node process on
 * the machine); for context also the active side's watchdog, its workload (the test workload,
 * ticking once a second) and the witness.
 *
 * In the same window (unless --floor=false) three "floor" pairs run beside it: plain processes
 * with no logic that make the same gRPC traffic as the two sidecars (test/bench/grpc-floor.ts,
 * against the bench's echo server): one with the sidecar's calls (unary Renew and unary
 * Peer/Heartbeat per heartbeat), one with the witness heartbeat on a KeepAlive stream instead, one
 * with the peer heartbeats on a stream as well. They show what the transport alone costs.
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
    for (const kind of ['unary', 'witness-stream', 'all-streams'] as const) {
      const procs = await startFloorPair(echo.port, heartbeatMs, timeoutMs, kind);
      procs.forEach((p, i) => floors.push({ name: `${labels[kind]} ${i === 0 ? 'a' : 'b'}`, pid: p.pid }));
    }
  }
  const active = await pair.waitFor('one side active', () => pair.steady(), 20_000);
  const standby = active === 'a' ? 'b' : 'a';
  progress(`steady: ${active} active; settling ${Number(flags.settle)} ms, then sampling ${seconds} s`);
  await sleep(Number(flags.settle));
  const watchdogPid = pair.logged(active, 'watchdog started').at(-1)?.watchdogPid as number | undefined;
  const workloadPid = pair
    .intervals()
    .filter((iv) => iv.node === active)
    .at(-1)?.pid;
  const sampled = [
    { name: `sidecar ${active} (active)`, pid: pair.proc(active).pid },
    { name: `sidecar ${standby} (standby)`, pid: pair.proc(standby).pid },
    ...(watchdogPid ? [{ name: `watchdog of ${active}`, pid: watchdogPid }] : []),
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
  const sidecars = usageFigures.processes.slice(0, 2);
  const worst = {
    rssMaxMb: Math.max(...sidecars.map((p) => p.rssMaxMb)),
    rssAnonMaxMb: Math.max(...sidecars.map((p) => p.rssAnonMaxMb ?? NaN)),
    cpuPercent: Math.max(...sidecars.map((p) => p.cpuPercent)),
  };
  const targets = {
    rss: { target: '< 60 MB', measured: worst.rssMaxMb, met: worst.rssMaxMb < 60 },
    cpu: { target: '< 1% of a core', measured: worst.cpuPercent, met: worst.cpuPercent < 1 },
  };
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ bench: 'sidecar', machine, config, processes: usageFigures.processes, machineUsage: usageFigures.machine, stillSteady, worst, targets })}\n`,
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
          'private (RssAnon) max MB',
          'shared files (RssFile) max MB',
        ],
        usageFigures.processes.map(row),
      ),
      '',
      `CPU % is of one core (all threads), over ${seconds} s; the pair ${stillSteady ? 'stayed steady throughout' : 'was NOT steady at the end'}. ` +
        `RssFile is mostly the node binary, shared by every node process on the machine.`,
      `targets (issue 5), worst sidecar: RSS ${fixed(worst.rssMaxMb, 1)} MB (private ${fixed(worst.rssAnonMaxMb, 1)} MB; target < 60 MB: ${targets.rss.met ? 'met' : 'NOT met'}), ` +
        `CPU ${fixed(worst.cpuPercent, 2)}% (target < 1%: ${targets.cpu.met ? 'met' : 'NOT met'})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return 0;
}

if (require.main === module) runScript(main, 60 * 60 * 1000);
