/**
 * The sidecar logs its links falling silent and coming back (design §18), with real processes: a
 * standby whose peer link is cut says so within a timeout and a heartbeat, and again when the link
 * heals; the same for the witness.
 */
import { expect } from 'chai';
import { HEARTBEAT_MS, TIMEOUT_MS, useCluster } from '../support/cluster';
import { coldStart, steady } from '../support/cluster-steady';

/** A timeout and a heartbeat, with room for a loaded machine. */
const NOTICE_MS = 4 * (TIMEOUT_MS + HEARTBEAT_MS);

describe('e2e: the sidecar logs a link lost and regained', function () {
  this.timeout(30_000);
  useCluster();

  it('b logs peer-lost, then peer-regained; witness-lost, then witness-regained; each once', async function () {
    const c = await coldStart();
    await steady(c);
    expect(c.logged('b', 'peer-lost'), 'nothing lost yet').to.have.length(0);
    c.blackhole('a->b');
    c.blackhole('b->a');
    await c.waitFor('b logs peer-lost', () => c.logged('b', 'peer-lost').length > 0, NOTICE_MS);
    const lost = c.logged('b', 'peer-lost')[0]!;
    expect(lost).to.include({ group: 'g1', node: 'b', why: 'the peer has not been heard within the timeout' });
    c.heal('a->b', { reset: true });
    c.heal('b->a', { reset: true });
    await c.waitFor('b logs peer-regained', () => c.logged('b', 'peer-regained').length > 0, NOTICE_MS);
    c.blackhole('b->witness');
    await c.waitFor('b logs witness-lost', () => c.logged('b', 'witness-lost').length > 0, NOTICE_MS);
    c.heal('b->witness', { reset: true });
    await c.waitFor('b logs witness-regained', () => c.logged('b', 'witness-regained').length > 0, NOTICE_MS);
    for (const change of ['peer-lost', 'peer-regained', 'witness-lost', 'witness-regained']) {
      expect(c.logged('b', change), change).to.have.length(1);
    }
    c.assertNoOverlaps();
  });
});
