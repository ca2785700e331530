/**
 * `--on-event` (design §18.4) with real processes: each sidecar runs the operator's command for
 * its events, with the event in the environment, in the order they happened, a fail-back announced
 * before it happens.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { useCluster } from '../support/cluster';
import { coldStart, FAILOVER_LIMIT_MS, steady } from '../support/cluster-steady';

const FAILBACK_DELAY_MS = 2000;

describe('e2e: the sidecar runs --on-event for its events', function () {
  this.timeout(60_000);
  useCluster();
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-on-event-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Each node's events as the command saw them: "event role epoch rule". */
  function eventsOf(node: string): string[] {
    const file = path.join(dir, `events-${node}`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }

  it('a takeover and a fail-back, each event once, with role, epoch and rule; the fail-back announced first', async () => {
    const record = `echo "$WITNESS_EVENT $WITNESS_GROUP $WITNESS_ROLE $WITNESS_EPOCH $WITNESS_RULE" >> ${dir}/events-$WITNESS_NODE`;
    const c = await coldStart({
      failback: 'auto',
      failbackDelay: `${FAILBACK_DELAY_MS}ms`,
      sidecarArgs: () => ['--on-event', record],
    });
    await steady(c);
    const aEpoch = c.intervalsOf('a')[0]!.epoch;
    await c.waitFor('a ran --on-event for its start', () => eventsOf('a').length >= 2, 5000);
    expect(eventsOf('a').slice(0, 2)).to.deep.equal([
      `start g1 primary ${aEpoch} start-on-grant`,
      `workload-running g1 primary ${aEpoch} `,
    ]);

    await c.kill('a');
    await c.waitFor('b takes over', () => c.intervalsOf('b').length > 0, FAILOVER_LIMIT_MS + 2000);
    const bEpoch = c.intervalsOf('b')[0]!.epoch;
    await c.waitFor(
      'b ran --on-event for its start',
      () => eventsOf('b').some((e) => e.startsWith('workload-running')),
      5000,
    );
    const b = eventsOf('b');
    const at = (prefix: string): number => b.findIndex((e) => e.startsWith(prefix));
    expect(at('peer-lost g1 secondary'), b.join('\n')).to.be.at.least(0);
    expect(b[at('start')]).to.equal(`start g1 secondary ${bEpoch} start-on-grant`);
    expect(at('peer-lost')).to.be.below(at('start'));
    expect(at('start')).to.be.below(at('workload-running'));

    await c.restart('a');
    await c.waitFor('a runs again (fail-back)', () => c.intervalsOf('a').length > 1, FAILBACK_DELAY_MS + 10_000);
    await c.waitFor(
      'a ran --on-event for its second start',
      () => eventsOf('a').filter((e) => e.startsWith('start')).length > 1,
      5000,
    );
    const a = eventsOf('a');
    const scheduled = a.findIndex((e) => e.startsWith('failback-scheduled g1 primary'));
    const restarted = a.findIndex((e, i) => i > 1 && e.startsWith('start g1 primary'));
    expect(scheduled, a.join('\n')).to.be.at.least(2);
    expect(scheduled, 'announced before it starts').to.be.below(restarted);
    expect(
      a.filter((e) => e.startsWith('failback-scheduled')),
      'once',
    ).to.have.length(1);
    expect(c.logged('a', 'failback-scheduled')[0]?.why).to.match(/asks for the group back in \d+ ms/);
    c.assertNoOverlaps();
  });
});
