/**
 * `witness status` and `witness events` as an operator runs them, against a real pair (a witness,
 * two sidecars, their workloads): they show who holds the group, and a failover as it happens.
 */
import { expect } from 'chai';
import { type Cluster, useCluster } from '../support/cluster';
import { coldStart, steady } from '../support/cluster-steady';
import { spawnNode } from '../support/processes';
import { cleanEnv, WITNESS_MAIN } from '../support/witness-process';

interface StatusLine {
  group: string;
  holder: string;
  epoch: string;
  nodes: { node: string; holds: boolean }[];
}

const STEP_MS = 10_000;

function operator(c: Cluster, args: readonly string[]) {
  return spawnNode(WITNESS_MAIN, [...args, '--witness', `127.0.0.1:${c.ports.witness}`], { env: cleanEnv() });
}

async function status(c: Cluster, extra: readonly string[] = []): Promise<StatusLine[]> {
  const p = operator(c, ['status', '--json', ...extra]);
  const exit = await p.runToCompletion(STEP_MS);
  expect(exit.code, p.output(20)).to.equal(0);
  return p.stdoutLines.map((l) => JSON.parse(l) as StatusLine);
}

describe('e2e: witness status and witness events show a failover', function () {
  this.timeout(40_000);
  useCluster();

  it('status names the holder before and after; events --follow prints the grant to b as it happens', async function () {
    const c = await coldStart();
    await steady(c);
    const [before] = await status(c);
    expect(before).to.include({ holder: 'a' });
    expect(before!.nodes.find((n) => n.node === 'a')?.holds).to.equal(true);
    const text = operator(c, ['status']);
    expect((await text.runToCompletion(STEP_MS)).code).to.equal(0);
    expect(text.stdoutLines[0]).to.match(
      /^GROUP\s+NODE\s+ROLE\s+HOLDS\s+EPOCH\s+LAST HEARD\s+LEASE LEFT\s+MAINTENANCE\s+FAILBACK$/,
    );
    expect(
      text.stdoutLines.find((l) => /\ba\s+primary\s+yes\b/.test(l)),
      text.output(10),
    ).to.not.equal(undefined);

    const follow = operator(c, ['events', '--follow', '--json', '--limit', '1000']);
    // The grant to a, from the history, comes first.
    await follow.waitForLine((l) => l.includes('"EVENT_KIND_GRANTED"') && l.includes('"node":"a"'), STEP_MS);
    c.proc('a').kill('SIGKILL');
    const grant = await follow.waitForLine(
      (l) => l.includes('"EVENT_KIND_GRANTED"') && l.includes('"node":"b"'),
      STEP_MS,
    );
    const event = JSON.parse(grant) as { rule: string; holder: string; epoch: string; id: string };
    expect(event).to.include({ rule: 'grant-new-epoch', holder: 'b' });
    expect(BigInt(event.epoch) > BigInt(before!.epoch)).to.equal(true);
    follow.kill('SIGTERM');

    const [after] = await status(c, ['--group', before!.group]);
    expect(after).to.include({ holder: 'b', epoch: event.epoch });
    const events = operator(c, ['events', '--limit', '1000']);
    expect((await events.runToCompletion(STEP_MS)).code).to.equal(0);
    expect(
      events.stdoutLines.some((l) => /\bgranted\b.*\bnode b\b.*\bholder b\b/.test(l)),
      events.output(10),
    ).to.equal(true);
    c.assertNoOverlaps();
  });

  it('a witness that cannot be reached is exit status 1 naming it; a bad option is 2 naming the key', async function () {
    const c = await coldStart();
    const unreachable = spawnNode(WITNESS_MAIN, ['status', '--witness', '127.0.0.1:1'], { env: cleanEnv() });
    expect((await unreachable.runToCompletion(STEP_MS)).code).to.equal(1);
    expect(unreachable.stderrLines.join('\n')).to.match(/ListGroups at 127\.0\.0\.1:1 failed: UNAVAILABLE/);
    const bad = operator(c, ['events', '--limit', '5000']);
    expect((await bad.runToCompletion(STEP_MS)).code).to.equal(2);
    expect(bad.stderrLines.join('\n')).to.match(/limit \(--limit\)/);
  });
});
