/**
 * deploy/grafana/failover-witness.json cannot drift from the code: every metric its expressions
 * name is in a real scrape of the witness's or the sidecar's registry, and every query goes to the
 * ${DS_PROMETHEUS} input the importer asks for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Arbiter } from '../../src/core/witness/arbiter';
import type { SidecarView } from '../../src/core/sidecar/types';
import { SidecarMetrics } from '../../src/sidecar/sidecar-metrics';
import { WitnessMetrics } from '../../src/witness/witness-metrics';
import { families } from '../support/scrape';

/** dist/test/unit -> the repository root. */
const DASHBOARD = path.resolve(__dirname, '../../../deploy/grafana/failover-witness.json');
const METRIC = /\bfailover_(?:witness|sidecar)_[a-z0-9_]+\b/g;
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

interface Target {
  readonly expr: string;
  readonly datasource: { readonly uid: string };
}
interface Panel {
  readonly title: string;
  readonly datasource: { readonly uid: string };
  readonly targets: readonly Target[];
}
interface Dashboard {
  readonly __inputs: readonly { readonly name: string; readonly pluginId: string }[];
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly query: { readonly query: string } }[] };
}

const STOPPED: SidecarView = {
  workload: 'stopped',
  epoch: 0n,
  knownEpoch: 0n,
  holding: false,
  peerUp: false,
  witnessUp: false,
  msUntilStop: 0,
  witnessLeaseMs: 0,
  peerLeaseMs: 0,
  lastDecision: '',
  lastRule: '',
  failbackInMs: -1,
};

async function scrapedFamilies(): Promise<Set<string>> {
  const config = { bounds: { rho: 0.01, marginMs: 50 }, defaultLeaseMs: 1000, maxLeaseMs: 2000, maxGroups: 10 };
  const arbiter = new Arbiter(config, { now: 0, generation: 1n, records: [], storeIsNew: true });
  const witness = new WitnessMetrics(arbiter, () => 0);
  const sidecar = new SidecarMetrics('g1', 'a', () => STOPPED);
  const text = (await witness.registry.metrics()) + (await sidecar.registry.metrics());
  return families(text);
}

describe('Grafana dashboard (deploy/grafana/failover-witness.json)', () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const expressions = [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...dashboard.templating.list.map((v) => v.query.query),
  ];

  it('asks for a Prometheus data source as the DS_PROMETHEUS input, and every query uses it', () => {
    expect(dashboard.__inputs).to.deep.include({
      ...dashboard.__inputs[0],
      name: 'DS_PROMETHEUS',
      pluginId: 'prometheus',
    });
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).to.equal('${DS_PROMETHEUS}');
      for (const target of panel.targets) expect(target.datasource.uid, panel.title).to.equal('${DS_PROMETHEUS}');
    }
  });

  it('names only metrics a scrape has (a histogram by its _bucket, _sum or _count series)', async () => {
    const scraped = await scrapedFamilies();
    const named = new Set(expressions.flatMap((expr) => expr.match(METRIC) ?? []));
    expect(named.size, 'the dashboard names metrics').to.be.above(10);
    const missing = [...named].filter((name) => !scraped.has(name) && !scraped.has(name.replace(HISTOGRAM_SERIES, '')));
    expect(missing, 'metrics the dashboard names that no scrape has').to.deep.equal([]);
  });

  it('has a panel for each figure the issue asks for', () => {
    const all = expressions.join('\n');
    for (const metric of [
      'failover_witness_grants_total',
      'failover_witness_refusals_total',
      'failover_witness_renewals_total',
      'failover_witness_rpc_duration_seconds_bucket',
      'failover_witness_store_write_duration_seconds_bucket',
      'failover_witness_groups_held',
      'failover_sidecar_workload_state',
    ]) {
      expect(all, metric).to.include(metric);
    }
  });
});
