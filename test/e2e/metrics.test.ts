/**
 * design §19 with real processes: a witness and a pair of sidecars, each with --metrics-listen on
 * a port the kernel picks (read from its "metrics listening" line). Every scrape passes `promtool
 * check metrics` with no lint problem, and the figures follow a failover (kill -9 of the active
 * sidecar): the witness counts one grant more, the sidecar that took over reports its workload
 * running and, under --health-active-only, becomes ready.
 */
import { expect } from 'chai';
import { type Cluster, LEASE_MS, type ProcName, useCluster } from '../support/cluster';
import { coldStart, steady } from '../support/cluster-steady';
import { promtoolCheck, requirePromtool } from '../support/require-promtool';
import { httpGet, sample, scrape } from '../support/scrape';
import { OPEN_REGISTRATION } from '../support/witness-process';

const METRICS = ['--metrics-listen', '127.0.0.1:0'];
const GRANTS = 'failover_witness_grants_total';
const RUNNING = ['failover_sidecar_workload_state', 'state="running"'] as const;

function metricsPort(c: Cluster, name: ProcName): number {
  const lines = c.logged(name, 'metrics listening');
  const port = Number(lines[lines.length - 1]?.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${name} logged no metrics port:\n${c.output(20)}`);
  return port;
}

function expectLintClean(name: string, text: string): void {
  const { status, problems } = promtoolCheck(text);
  expect(problems, `promtool check metrics on ${name}'s /metrics`).to.equal('');
  expect(status, `promtool check metrics exit status on ${name}'s /metrics`).to.equal(0);
}

describe('metrics (design §19): /metrics, /readyz of a witness and a sidecar pair', function () {
  before(function () {
    requirePromtool(this);
  });

  describe('kill -9 of the active sidecar', function () {
    useCluster();
    it('every scrape lints clean; the grants counter rises and the sidecar that took over reports running', async function () {
      const c = await coldStart({
        witnessArgs: [...OPEN_REGISTRATION, ...METRICS],
        sidecarArgs: () => [...METRICS, '--health-active-only', 'true'],
      });
      await steady(c);
      const ports = { witness: metricsPort(c, 'witness'), a: metricsPort(c, 'a'), b: metricsPort(c, 'b') };
      // The steady state can be reached before a's first renewal: a running node renews a third of a
      // usable lease after its grant (design §4.6), so one lease is the bound on the first renewal.
      await c.waitFor(
        'the witness counts a renewal of a',
        async () =>
          (sample(await scrape(ports.witness), 'failover_witness_renewals_total', 'verdict="renewed"') ?? 0) > 0,
        LEASE_MS,
      );

      const witness = await scrape(ports.witness);
      const [a, b] = [await scrape(ports.a), await scrape(ports.b)];
      for (const [name, text] of [
        ['witness', witness],
        ['a', a],
        ['b', b],
      ] as const)
        expectLintClean(name, text);

      const grantsBefore = sample(witness, GRANTS, 'rule="grant-new-epoch"');
      // Once, or more when b started first on a busy machine and handed the group back.
      expect(grantsBefore, 'the cold start granted the group').to.be.at.least(1);
      expect(sample(witness, 'failover_witness_groups')).to.equal(1);
      expect(sample(witness, 'failover_witness_nodes')).to.equal(2);
      expect(sample(witness, 'failover_witness_groups_held')).to.equal(1);
      expect(sample(witness, 'failover_witness_renewals_total', 'verdict="renewed"')).to.be.above(0);
      // Sidecars renew on KeepAlive streams (design §4.5), each message timed.
      expect(sample(witness, 'failover_witness_rpc_duration_seconds_count', 'method="KeepAlive"')).to.be.above(0);
      expect(sample(witness, 'failover_witness_store_write_duration_seconds_count', 'result="ok"')).to.be.above(0);
      expect(sample(a, ...RUNNING, 'node="a"', 'group="g1"'), "a's workload runs").to.equal(1);
      expect(sample(a, 'failover_sidecar_holding')).to.equal(1);
      expect(sample(b, ...RUNNING), "b's workload does not run").to.equal(0);
      expect(sample(b, 'failover_sidecar_workload_state', 'state="stopped"')).to.equal(1);
      const epochBefore = sample(a, 'failover_sidecar_epoch_sequence') ?? Number.NaN;

      expect(await httpGet(ports.witness, '/readyz')).to.deep.equal({ status: 200, body: 'ready\n' });
      expect(await httpGet(ports.a, '/readyz')).to.deep.equal({ status: 200, body: 'ready\n' });
      expect(await httpGet(ports.b, '/readyz')).to.deep.equal({
        status: 503,
        body: 'the workload is stopped, not running (--health-active-only)\n',
      });
      expect((await httpGet(ports.b, '/healthz')).status).to.equal(200);

      c.proc('a').kill('SIGKILL');
      await c.waitFor('b runs the workload', () => c.intervalsOf('b').length > 0, 5000);
      await c.waitFor(
        'b reports its workload running',
        async () => sample(await scrape(ports.b), ...RUNNING) === 1,
        2000,
      );

      const after = await scrape(ports.witness);
      const bAfter = await scrape(ports.b);
      expectLintClean('witness after the failover', after);
      expectLintClean('b after the failover', bAfter);
      expect(sample(after, GRANTS, 'rule="grant-new-epoch"'), 'one grant more: b').to.equal(
        (grantsBefore ?? Number.NaN) + 1,
      );
      expect(sample(bAfter, 'failover_sidecar_holding')).to.equal(1);
      expect(sample(bAfter, 'failover_sidecar_epoch_sequence')).to.be.above(epochBefore);
      expect(sample(bAfter, 'failover_sidecar_decisions_total', 'action="start"')).to.equal(1);
      expect(sample(bAfter, 'failover_sidecar_witness_rpc_duration_seconds_count', 'method="Acquire"')).to.be.above(0);
      expect(await httpGet(ports.b, '/readyz')).to.deep.equal({ status: 200, body: 'ready\n' });
    });
  });
});
