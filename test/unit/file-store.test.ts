import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_EPOCH } from '../../src/core/epoch';
import type { DurableGroup, DurableWrite } from '../../src/core/witness/types';
import { FileStore } from '../../src/witness/store/file-store';
import { StoreCorruptError, StorePreconditionError } from '../../src/witness/store/witness-store';
import { rejection } from '../support/rejection';

const CLOCK_MS = 1_700_000_000_123;
const OPEN = { longestLeaseMs: 2_000 };

/** The write of a group's first record. */
const first = (record: DurableGroup): DurableWrite => ({ record, expected: 'absent' });
/** The write of a group's record over the one before it. */
const over = (before: DurableGroup, record: DurableGroup): DurableWrite => ({
  record,
  expected: { holder: before.holder, epoch: before.epoch },
});

describe('FileStore', () => {
  let root: string;
  let dataDir: string;
  const opened: FileStore[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'file-store-'));
    dataDir = join(root, 'data');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await chmod(dataDir, 0o755).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  function store(wallClockMs = CLOCK_MS): FileStore {
    const s = new FileStore(dataDir, { wallClockMs: () => wallClockMs });
    opened.push(s);
    return s;
  }

  async function writeAndClose(records: DurableGroup[]): Promise<void> {
    const s = store();
    await s.open(OPEN);
    for (const record of records) await s.put(first(record));
    await s.close();
  }

  const groupFile = (group: string): string => join(dataDir, 'groups', `g-${group}.json`);

  it('creates the data directory and takes the generation from the injected wall clock', async () => {
    const contents = await store().open(OPEN);
    expect(contents.generation).to.equal(170_000_000_012n);
    expect(contents.records).to.deep.equal([]);
    const meta = JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8'));
    expect(meta.generation).to.equal('170000000012');
  });

  it('returns what was put after a reopen, epochs exact as bigint', async () => {
    const records: DurableGroup[] = [
      { group: 'a', holder: 'node-1', epoch: MAX_EPOCH },
      { group: 'b', holder: '', epoch: MAX_EPOCH - 1n },
      { group: 'c', holder: 'node-2', epoch: 2n ** 53n + 1n },
      { group: 'd', holder: 'node-1', epoch: 0n },
    ];
    await writeAndClose(records);
    const contents = await store(CLOCK_MS + 60_000).open(OPEN);
    expect(contents.records).to.deep.equal(records);
    for (const record of contents.records) expect(typeof record.epoch).to.equal('bigint');
  });

  it('opens a higher generation every time, above every recorded epoch, never ahead of the wall clock', async () => {
    await writeAndClose([{ group: 'a', holder: 'n', epoch: 1n }]);
    // Same wall clock: one generation up, after waiting the 10 ms for the wall clock to reach it.
    const again = store();
    expect((await again.open(OPEN)).generation).to.equal(170_000_000_013n);
    await again.close();
    // Much later: the wall clock's generation.
    const later = store(CLOCK_MS + 3_600_000);
    expect((await later.open(OPEN)).generation).to.equal(170_000_360_012n);
    await later.put(first({ group: 'b', holder: 'n', epoch: (170_000_900_000n << 23n) + 5n }));
    await later.close();
    // A recorded epoch of a later generation (a store that was ahead) lifts the next open above it.
    const contents = await store(CLOCK_MS + 3_600_000).open(OPEN);
    expect(contents.generation).to.equal(170_000_900_001n);
    expect(contents.wallClockBehindMs).to.equal((170_000_900_001 - 170_000_360_012) * 10);
  });

  it('lands puts for one group in call order', async () => {
    const s = store();
    await s.open(OPEN);
    const puts: Promise<void>[] = [];
    const g = (i: number): DurableGroup => ({ group: 'g', holder: `node-${i}`, epoch: BigInt(i) });
    const other = (i: number): DurableGroup => ({ group: 'other', holder: 'x', epoch: BigInt(100 - i) });
    // Each put expects the one before it: checked at its turn, it holds only in call order.
    for (let i = 1; i <= 50; i++) {
      puts.push(s.put(i === 1 ? first(g(i)) : over(g(i - 1), g(i))));
      puts.push(s.put(i === 1 ? first(other(i)) : over(other(i - 1), other(i))));
    }
    await Promise.all(puts);
    await s.close();
    const { records } = await store().open(OPEN);
    expect(records).to.deep.equal([
      { group: 'g', holder: 'node-50', epoch: 50n },
      { group: 'other', holder: 'x', epoch: 50n },
    ]);
  });

  it('refuses a truncated group file with a StoreCorruptError naming it', async () => {
    await writeAndClose([{ group: 'a', holder: 'node-1', epoch: 42n }]);
    const text = await readFile(groupFile('a'), 'utf8');
    await truncate(groupFile('a'), Math.floor(text.length / 2));
    const err = await rejection(store().open(OPEN));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).file).to.equal(groupFile('a'));
    expect(err.message).to.contain(groupFile('a'));
  });

  it('refuses a record whose checksum does not match', async () => {
    await writeAndClose([{ group: 'a', holder: 'node-1', epoch: 42n }]);
    const record = JSON.parse(await readFile(groupFile('a'), 'utf8'));
    await writeFile(groupFile('a'), JSON.stringify({ ...record, epoch: '41' }));
    const err = await rejection(store().open(OPEN));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain(groupFile('a')).and.to.contain('checksum');
  });

  it("keeps operators' intent (maintenance, a switchover's epoch) across a reopen; a record without it keeps its first form", async () => {
    const records: DurableGroup[] = [
      { group: 'a', holder: 'node-1', epoch: 42n, maintenance: ['node-2', 'node-0'], switchoverEpoch: 42n },
      { group: 'b', holder: '', epoch: 7n },
    ];
    await writeAndClose(records);
    expect(Object.keys(JSON.parse(await readFile(groupFile('b'), 'utf8')))).to.deep.equal([
      'group',
      'holder',
      'epoch',
      'checksum',
    ]);
    const { records: read } = await store(CLOCK_MS + 60_000).open(OPEN);
    expect(read).to.deep.equal([{ ...records[0], maintenance: ['node-0', 'node-2'] }, records[1]]);
    // The intent is under the checksum: taking a node out of maintenance by hand is corruption.
    const record = JSON.parse(await readFile(groupFile('a'), 'utf8'));
    await writeFile(groupFile('a'), JSON.stringify({ ...record, maintenance: ['node-0'] }));
    const err = await rejection(store(CLOCK_MS + 120_000).open(OPEN));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain('checksum');
  });

  it("keeps a group's fail-back policy across a reopen, under the checksum", async () => {
    const records: DurableGroup[] = [
      { group: 'a', holder: 'node-1', epoch: 42n, failback: 'manual' },
      { group: 'b', holder: '', epoch: 7n, maintenance: ['node-0'], switchoverEpoch: 0n, failback: 'auto' },
    ];
    await writeAndClose(records);
    const { records: read } = await store(CLOCK_MS + 60_000).open(OPEN);
    expect(read).to.deep.equal([
      { group: 'a', holder: 'node-1', epoch: 42n, maintenance: [], switchoverEpoch: 0n, failback: 'manual' },
      records[1],
    ]);
    const record = JSON.parse(await readFile(groupFile('a'), 'utf8'));
    await writeFile(groupFile('a'), JSON.stringify({ ...record, failback: 'auto' }));
    const err = await rejection(store(CLOCK_MS + 120_000).open(OPEN));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain('checksum');
  });

  it('keeps the removed nodes across a reopen, under the checksum; an empty removed list is corruption', async () => {
    const records: DurableGroup[] = [
      { group: 'a', holder: 'node-1', epoch: 42n, removed: ['node-2', 'node-0'] },
      {
        group: 'b',
        holder: '',
        epoch: 7n,
        maintenance: ['node-0'],
        switchoverEpoch: 0n,
        failback: 'auto',
        removed: ['node-1'],
      },
    ];
    await writeAndClose(records);
    const { records: read } = await store(CLOCK_MS + 60_000).open(OPEN);
    expect(read).to.deep.equal([
      { group: 'a', holder: 'node-1', epoch: 42n, maintenance: [], switchoverEpoch: 0n, removed: ['node-0', 'node-2'] },
      records[1],
    ]);
    const record = JSON.parse(await readFile(groupFile('a'), 'utf8'));
    // Readmitting a node by editing the file is corruption.
    await writeFile(groupFile('a'), JSON.stringify({ ...record, removed: ['node-0'] }));
    const tampered = await rejection(store(CLOCK_MS + 120_000).open(OPEN));
    expect(tampered).to.be.instanceOf(StoreCorruptError);
    expect(tampered.message).to.contain('checksum');
    await writeFile(groupFile('a'), JSON.stringify({ ...record, removed: [] }));
    const empty = await rejection(store(CLOCK_MS + 180_000).open(OPEN));
    expect(empty).to.be.instanceOf(StoreCorruptError);
    expect(empty.message).to.contain('removed');
  });

  it('refuses an epoch of 2^63 or more even with a matching checksum', async () => {
    await writeAndClose([{ group: 'a', holder: 'node-1', epoch: 42n }]);
    const epoch = (2n ** 63n).toString();
    // Recomputed the way the store does, so only the range check can refuse it.
    const checksum = createHash('sha256')
      .update(JSON.stringify(['group/1', 'a', 'node-1', epoch]))
      .digest('hex');
    await writeFile(groupFile('a'), JSON.stringify({ group: 'a', holder: 'node-1', epoch, checksum }));
    const err = await rejection(store().open(OPEN));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain('is not an integer in [0, 2^63)');
  });

  it('refuses a file whose group does not match its name', async () => {
    await writeAndClose([{ group: 'a', holder: 'node-1', epoch: 42n }]);
    await writeFile(groupFile('b'), await readFile(groupFile('a')));
    const err = await rejection(store().open(OPEN));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).file).to.equal(groupFile('b'));
  });

  it('refuses group files without store.json instead of starting a new generation', async () => {
    await writeAndClose([{ group: 'a', holder: 'node-1', epoch: 42n }]);
    await rm(join(dataDir, 'store.json'));
    const err = await rejection(store().open(OPEN));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain(join(dataDir, 'store.json'));
  });

  it('drops a temp file left by a crash mid-put and keeps the last durable record', async () => {
    await writeAndClose([{ group: 'a', holder: 'node-1', epoch: 42n }]);
    await writeFile(`${groupFile('a')}.tmp`, '{"group":"a","hol');
    await writeFile(join(dataDir, 'store.json.tmp'), '{');
    const { records } = await store().open(OPEN);
    expect(records).to.deep.equal([{ group: 'a', holder: 'node-1', epoch: 42n }]);
    expect(await readdir(join(dataDir, 'groups'))).to.deep.equal(['g-a.json']);
    expect((await readdir(dataDir)).sort()).to.deep.equal(['groups', 'store.json', 'witness.lock']);
  });

  it('keeps the group ids "." and ".." as files inside the groups directory', async () => {
    await writeAndClose([
      { group: '.', holder: 'n1', epoch: 7n },
      { group: '..', holder: 'n2', epoch: 8n },
    ]);
    expect((await readdir(join(dataDir, 'groups'))).sort()).to.deep.equal(['g-...json', 'g-..json']);
    const { records } = await store().open(OPEN);
    expect(records).to.deep.equal([
      { group: '.', holder: 'n1', epoch: 7n },
      { group: '..', holder: 'n2', epoch: 8n },
    ]);
  });

  it('lets close wait for a put in flight, and rejects puts after close', async () => {
    const s = store();
    await s.open(OPEN);
    const inFlight = s.put(first({ group: 'a', holder: 'node-1', epoch: 1n }));
    await s.close();
    expect(JSON.parse(await readFile(groupFile('a'), 'utf8')).epoch).to.equal('1');
    await inFlight;
    const err = await rejection(
      s.put(over({ group: 'a', holder: 'node-1', epoch: 1n }, { group: 'a', holder: 'node-1', epoch: 2n })),
    );
    expect(err.message).to.contain('closed');
    expect(JSON.parse(await readFile(groupFile('a'), 'utf8')).epoch).to.equal('1');
  });

  it('rejects puts with an epoch outside [0, 2^63) or an invalid group id', async () => {
    const s = store();
    await s.open(OPEN);
    await rejection(s.put(first({ group: 'a', holder: 'n', epoch: MAX_EPOCH + 1n })));
    await rejection(s.put(first({ group: 'a', holder: 'n', epoch: -1n })));
    await rejection(s.put(first({ group: 'a/b', holder: 'n', epoch: 1n })));
    await rejection(s.put(first({ group: '', holder: 'n', epoch: 1n })));
    expect(await readdir(join(dataDir, 'groups'))).to.deep.equal([]);
  });

  it('names the path when the data directory is a file', async () => {
    await writeFile(dataDir, 'not a directory');
    const err = await rejection(store().open(OPEN));
    expect(err).to.not.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain(dataDir).and.to.contain('not a directory');
  });

  it('names the path when the data directory is not writable', async function () {
    if (process.getuid?.() === 0) {
      // root writes through any mode bits: use a read-only filesystem (sysfs) instead.
      const readOnly = '/sys/witness-data-test';
      const err = await rejection(new FileStore(readOnly).open(OPEN));
      expect(err.message).to.contain(readOnly);
      return;
    }
    await writeAndClose([]);
    await chmod(dataDir, 0o555);
    const err = await rejection(store().open(OPEN));
    expect(err.message).to.contain(dataDir).and.to.contain('not writable');
  });

  describe('a put with a precondition', () => {
    const granted = { group: 'a', holder: 'node-1', epoch: 42n };
    const stale = { group: 'a', holder: 'node-2', epoch: 42n };

    async function preconditionError(write: Promise<void>): Promise<StorePreconditionError> {
      const err = await rejection(write);
      expect(err).to.be.instanceOf(StorePreconditionError);
      return err as StorePreconditionError;
    }

    it('is refused, naming group, expected and found, when the record changed, and leaves the file as it was', async () => {
      const s = store();
      await s.open(OPEN);
      await s.put(first(granted));
      const before = await readFile(groupFile('a'), 'utf8');
      // A second writer that still believes the group has no record.
      const err = await preconditionError(s.put(first(stale)));
      expect(err).to.include({ group: 'a', expected: 'absent' });
      expect(err.found).to.deep.equal({ holder: 'node-1', epoch: 42n });
      expect(err.message).to.contain('group a').and.to.contain('no record').and.to.contain('holder node-1 at epoch 42');
      // One that believes an older record.
      const older = { group: 'a', holder: '', epoch: 41n };
      await preconditionError(s.put(over(older, { ...stale, epoch: 43n })));
      expect(await readFile(groupFile('a'), 'utf8')).to.equal(before);
      await s.put(over(granted, { group: 'a', holder: '', epoch: 42n }));
      expect(JSON.parse(await readFile(groupFile('a'), 'utf8')).holder).to.equal('');
    });

    it('expecting a record that does not exist is refused and creates no file', async () => {
      const s = store();
      await s.open(OPEN);
      const err = await preconditionError(s.put(over(granted, stale)));
      expect(err.found).to.equal('absent');
      expect(await readdir(join(dataDir, 'groups'))).to.deep.equal([]);
    });

    it('is checked against the records loaded at open, and a forgotten group expects none again', async () => {
      await writeAndClose([granted]);
      const s = store(CLOCK_MS + 60_000);
      await s.open(OPEN);
      await preconditionError(s.put(first(stale)));
      await s.put(over(granted, stale));
      await s.forget('a');
      await preconditionError(s.put(over(stale, granted)));
      await s.put(first(granted));
    });
  });

  const storedGeneration = async (): Promise<bigint> =>
    BigInt((JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8')) as { generation: string }).generation);

  it('resolves a generation raise only once store.json holds it, also when raises overlap', async () => {
    const s = store();
    const { generation } = await s.open(OPEN);
    const high = s.raiseGeneration(generation + 7n);
    const low = s.raiseGeneration(generation + 3n);
    await low;
    expect((await storedGeneration()) >= generation + 3n).to.equal(true);
    await high;
    expect(await storedGeneration()).to.equal(generation + 7n);
  });

  it('writes a raise again after one that failed, instead of taking memory for the disk', async () => {
    const s = store();
    const { generation } = await s.open(OPEN);
    // A directory where the temp file must go makes the rewrite of store.json fail (EISDIR).
    await mkdir(join(dataDir, 'store.json.tmp'));
    await rejection(s.raiseGeneration(generation + 5n));
    expect(await storedGeneration()).to.equal(generation);
    await rm(join(dataDir, 'store.json.tmp'), { recursive: true });
    await s.raiseGeneration(generation + 5n);
    expect(await storedGeneration()).to.equal(generation + 5n);
  });
});
