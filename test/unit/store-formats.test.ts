/**
 * The witness store's group records as bytes (src/witness/store/store-formats.ts): each form the
 * store has ever written is read back as it was meant, and written again byte for byte, so a change
 * to a checksum or a field cannot silently turn an existing data directory into "corrupt" or a
 * readmission (the texts below were written by the code of 1f355d1 and of 55409c2).
 */
import { expect } from 'chai';
import type { DurableGroup } from '../../src/core/witness/types';
import { formatGroup, parseGroup } from '../../src/witness/store/store-formats';
import { StoreCorruptError } from '../../src/witness/store/witness-store';

const FORMS: ReadonlyArray<{ name: string; text: string; record: DurableGroup }> = [
  {
    name: 'group/1: holder and epoch only',
    text: '{"group":"orders","holder":"a","epoch":"42","checksum":"4afa07ffc5d62aa4bb15df65405644f4bd01d69ada46c01b1c37635acca99105"}',
    record: { group: 'orders', holder: 'a', epoch: 42n },
  },
  {
    name: 'group/2: maintenance and a switchover',
    text: '{"group":"orders","holder":"a","epoch":"42","maintenance":["b"],"switchoverEpoch":"42","checksum":"994ae496d084af17b2d98014280a161589502fa9177a20435e804506d348c4de"}',
    record: { group: 'orders', holder: 'a', epoch: 42n, maintenance: ['b'], switchoverEpoch: 42n },
  },
  {
    name: "group/3: the group's fail-back policy",
    text: '{"group":"orders","holder":"","epoch":"7","maintenance":[],"switchoverEpoch":"0","failback":"manual","checksum":"4acabc20e7e11a3053fd2bc19144e45f1b3254b7e0d242c3e5a0de929eb753ba"}',
    record: { group: 'orders', holder: '', epoch: 7n, maintenance: [], switchoverEpoch: 0n, failback: 'manual' },
  },
  {
    name: 'group/4: removed nodes',
    text: '{"group":"orders","holder":"a","epoch":"42","maintenance":[],"switchoverEpoch":"0","removed":["b"],"checksum":"11a29cb63596c29a20c6a048b1e3e29ba70f6d9634a172bda13078fe0f1b86c0"}',
    record: { group: 'orders', holder: 'a', epoch: 42n, maintenance: [], switchoverEpoch: 0n, removed: ['b'] },
  },
];

describe('store formats: every group record form, byte for byte', () => {
  for (const form of FORMS) {
    it(`${form.name}: read as written, and written again the same`, () => {
      const read = parseGroup('g-orders.json', 'orders', form.text);
      expect(read).to.deep.equal(form.record);
      expect(formatGroup(read)).to.equal(form.text);
    });
  }

  it('a group/4 record without its removed list fails its checksum (no readmission by editing the file)', () => {
    const text = FORMS[3]!.text.replace(',"removed":["b"]', '');
    expect(() => parseGroup('g-orders.json', 'orders', text)).to.throw(StoreCorruptError, /checksum/);
  });
});
