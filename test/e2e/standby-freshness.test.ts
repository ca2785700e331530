/**
 * Standby freshness (design §21) with real processes: the sidecars run a real `--sync-cmd` (a
 * shell command that fails while a marker file exists), the witness announces a standby that has
 * not synced for --sync-alert-after (through the alerts, to a real webhook) and `witness status`
 * shows the age; with --max-sync-age a stale standby is refused the takeover and granted once it
 * has synced; `witness sync` runs the standby's command once and prints its result.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { sleep, useCluster } from '../support/cluster';
import { coldStart, FAILOVER_LIMIT_MS, steady } from '../support/cluster-steady';
import { operator, STEP_MS } from '../support/operator-commands';
import { spawnNode, type ExitInfo, type TrackedProcess } from '../support/processes';
import { WebhookReceiver } from '../support/webhook-receiver';
import { cleanEnv, connect, deadline, OPEN_REGISTRATION, WITNESS_MAIN } from '../support/witness-process';
import * as grpc from '@grpc/grpc-js';
import type { Cluster } from '../support/cluster';

const SYNC_INTERVAL_MS = 200;
const ALERT_AFTER_MS = 600;
const MAX_SYNC_AGE_MS = 1500;
const DELIVERY_MS = 5000;

/** `witness ARGS` against the cluster's witness, with its exit status. */
async function operatorExit(c: Cluster, args: readonly string[]): Promise<{ p: TrackedProcess; exit: ExitInfo }> {
  const p = spawnNode(WITNESS_MAIN, [...args, '--witness', `127.0.0.1:${c.ports.witness}`], { env: cleanEnv() });
  return { p, exit: await p.runToCompletion(STEP_MS) };
}

describe('e2e: standby freshness (--sync-cmd, sync alerts, the freshness gate, sync now)', function () {
  this.timeout(60_000);
  useCluster();
  let dir: string;
  let hooks: WebhookReceiver | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-fresh-'));
  });
  afterEach(async () => {
    await hooks?.close();
    hooks = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Appends a line per run to runs-NODE, fails while fail-NODE exists. */
  const syncArgs =
    (interval = SYNC_INTERVAL_MS) =>
    (): readonly string[] => [
      '--sync-cmd',
      `echo run >> ${dir}/runs-$WITNESS_NODE; echo "pulled by $WITNESS_NODE"; test ! -e ${dir}/fail-$WITNESS_NODE`,
      '--sync-interval',
      `${interval}ms`,
    ];
  const runsOf = (node: string): number => {
    const file = path.join(dir, `runs-${node}`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
  };

  it('a standby whose sync fails past --sync-alert-after raises sync-stale (and its webhook); status shows the age', async () => {
    fs.writeFileSync(path.join(dir, 'fail-b'), '');
    hooks = await WebhookReceiver.start();
    const webhook = hooks;
    const c = await coldStart({
      witnessArgs: [...OPEN_REGISTRATION, '--sync-alert-after', `${ALERT_AFTER_MS}ms`, '--alert-webhook', hooks.url],
      sidecarArgs: syncArgs(),
    });
    await steady(c);
    await c.waitFor('sync-stale for b reaches the webhook', () => webhook.events('sync-stale').length > 0, DELIVERY_MS);
    const [stale] = webhook.events('sync-stale');
    expect(stale?.body.node).to.equal('b');
    expect(stale?.body.rule).to.equal('standby-sync-stale');
    expect(String(stale?.body.message)).to.match(/its last run failed \(exit 1\)/);
    const failing = await operator(c, ['status', '--group', 'g1']);
    const bLine = failing.stdoutLines.find((l) => /^g1\s+b\s/.test(l));
    expect(bLine, failing.stdoutLines.join('\n')).to.match(/never \(last run failed\)$/);
    expect(
      failing.stdoutLines.find((l) => /^g1\s+a\s/.test(l)),
      'the active copy is the source',
    ).to.match(/-$/);

    // The sidecar logs each run, without its output.
    const logged = c.logged('b', 'sync failed')[0];
    expect(logged).to.include({ group: 'g1', node: 'b', exitCode: 1, why: 'exit 1' });
    expect(JSON.stringify(logged)).to.not.include('pulled by');

    // The active copy never syncs.
    const aRuns = runsOf('a');
    const bRuns = runsOf('b');
    await sleep(4 * SYNC_INTERVAL_MS);
    expect(runsOf('a'), 'a runs no sync while active').to.equal(aRuns);
    expect(runsOf('b'), 'b runs its sync every interval').to.be.at.least(bRuns + 2);

    fs.rmSync(path.join(dir, 'fail-b'));
    await c.waitFor('sync-recovered for b', () => webhook.events('sync-recovered').length > 0, DELIVERY_MS);
    const synced = await operator(c, ['status', '--group', 'g1']);
    const age = /(\d+\.\d) s ago$/.exec(synced.stdoutLines.find((l) => /^g1\s+b\s/.test(l)) ?? '');
    expect(age, synced.stdoutLines.join('\n')).to.not.equal(null);
    expect(Number(age?.[1])).to.be.below(2);
    const json = await operator(c, ['status', '--json', '--group', 'g1']);
    const nodes = (JSON.parse(json.stdoutLines[0] ?? '{}') as { nodes: Array<Record<string, unknown>> }).nodes;
    const b = nodes.find((n) => n.node === 'b');
    expect(b?.syncReported).to.equal(true);
    expect(b?.synced).to.equal(true);
    expect(Number(b?.syncAgeMs)).to.be.below(2000);
    // The sidecar's own GetState shows the same report.
    const state = (await c.active()).b;
    expect(state?.sync?.synced).to.equal(true);
    expect(state?.sync?.lastRun?.ok).to.equal(true);
    expect(state?.sync?.lastRun?.outputTail).to.equal('pulled by b\n');
  });

  it('with --max-sync-age, a stale standby is refused the takeover, and granted once it has synced', async () => {
    fs.writeFileSync(path.join(dir, 'fail-b'), '');
    const c = await coldStart({
      failback: 'manual',
      witnessArgs: [...OPEN_REGISTRATION, '--max-sync-age', `${MAX_SYNC_AGE_MS}ms`],
      sidecarArgs: syncArgs(),
    });
    await steady(c);
    await c.kill('a');
    // Well past the failover bound: b asks, and is refused for its stale copy.
    await sleep(FAILOVER_LIMIT_MS + 1500);
    expect(c.intervalsOf('b'), 'b does not take over with a stale copy').to.deep.equal([]);
    const events = await operator(c, ['events', '--json', '--group', 'g1', '--limit', '1000']);
    const refusals = events.stdoutLines
      .map((l) => JSON.parse(l) as { kind: string; node: string; rule: string; message: string })
      .filter((e) => e.kind === 'EVENT_KIND_REFUSED' && e.node === 'b' && e.rule === 'refuse-stale-standby');
    expect(refusals.length, events.stdoutLines.join('\n')).to.be.at.least(1);
    expect(refusals[0]?.message).to.match(/--max-sync-age/);

    fs.rmSync(path.join(dir, 'fail-b'));
    await c.waitFor('b takes over once its sync succeeds', () => c.intervalsOf('b').length > 0, 5000);
    c.assertNoOverlaps();
  });

  it('`witness sync` runs the standby’s command once and prints its result', async () => {
    fs.writeFileSync(path.join(dir, 'fail-b'), '');
    // One scheduled run at the start, then none for an hour: every later run is the operator's.
    const c = await coldStart({ sidecarArgs: syncArgs(3_600_000) });
    await steady(c);
    await c.waitFor('b ran its first scheduled sync', () => runsOf('b') === 1, 3000);
    const aRuns = runsOf('a');

    const { p: failed, exit: failedExit } = await operatorExit(c, ['sync', '--group', 'g1', '--timeout', '5s']);
    expect(failedExit.code, failed.stderrLines.join('\n')).to.equal(1);
    expect(failed.stdoutLines[0]).to.match(/^g1: sync on b failed \(exit 1\) in \d+ ms$/);
    expect(failed.stdoutLines).to.include('pulled by b');
    expect(runsOf('b'), 'exactly one run').to.equal(2);

    fs.rmSync(path.join(dir, 'fail-b'));
    const { p: ok, exit: okExit } = await operatorExit(c, ['sync', '--group', 'g1', '--json']);
    expect(okExit.code, ok.stderrLines.join('\n')).to.equal(0);
    const answer = JSON.parse(ok.stdoutLines[0] ?? '{}') as { node: string; run: Record<string, unknown> };
    expect(answer.node).to.equal('b');
    expect(answer.run.ok).to.equal(true);
    expect(answer.run.exitCode).to.equal(0);
    expect(answer.run.outputTail).to.equal('pulled by b\n');
    expect(Number(answer.run.durationMs)).to.be.below(5000);
    expect(runsOf('b')).to.equal(3);
    expect(runsOf('a'), 'the active node is never asked').to.equal(aRuns);

    // Bad input is INVALID_ARGUMENT naming the field, and runs nothing.
    const clients = connect(`127.0.0.1:${c.ports.witness}`);
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        clients.admin.SyncNow({ group: 'g1', timeoutMs: 3_600_001 }, deadline(), (e) => resolve(e)),
      );
      expect(error?.code).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).to.match(/^timeout_ms: must be at most 3600000/);
    } finally {
      clients.close();
    }
    expect(runsOf('b')).to.equal(3);
  });
});
