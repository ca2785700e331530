/** Admin reads take turns (src/witness/turn-queue.ts): one per event-loop turn, in order, bounded. */
import { expect } from 'chai';
import { TurnQueue } from '../../src/witness/turn-queue';
import { WireError } from '../../src/wire/wire-error';

describe('TurnQueue (Admin reads behind heartbeats)', () => {
  it('runs one task per turn, in order, letting I/O callbacks in between', async () => {
    const queue = new TurnQueue(10);
    const order: string[] = [];
    const done = [1, 2, 3].map((i) => queue.run(() => order.push(`read ${i}`)));
    // Something that arrives while the reads wait (as a heartbeat would) runs before the later ones.
    setImmediate(() => order.push('between'));
    await Promise.all(done);
    expect(order[0]).to.equal('read 1');
    expect(order.indexOf('between')).to.be.lessThan(order.indexOf('read 3'));
    expect(order.filter((o) => o.startsWith('read'))).to.deep.equal(['read 1', 'read 2', 'read 3']);
  });

  it('refuses a read past the bound RESOURCE_EXHAUSTED, and passes a task’s error on', async () => {
    const queue = new TurnQueue(2);
    const first = queue.run(() => 1);
    const second = queue.run(() => {
      throw new Error('broken');
    });
    const error = await queue.run(() => 3).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WireError);
    expect((error as WireError).kind).to.equal('resource-exhausted');
    expect(await first).to.equal(1);
    expect(await second.catch((e: Error) => e.message)).to.equal('broken');
  });
});
