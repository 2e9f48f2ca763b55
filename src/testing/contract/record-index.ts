/**
 * The per-index listing of the record level: `SaveRecordOptions.index` files a record, and
 * `listByIndex` lists the ids filed under one index key, in id order, a page at a time. Runs when
 * the store offers it (or `index` says so); a record store without it must still check `index`.
 */
import { describe, expect, it } from 'vitest';
import { type IndexedRecordStore, type RecordStore, isIndexedStore, isRecordStore } from '../../internal.js';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext, IndexSwitches, RecordLevelSwitches } from './types.js';

export function recordIndexTests(t: ContractContext, options: RecordLevelSwitches & IndexSwitches): void {
  describe('record level: per-index listing', () => {
    const recordLevel = () => (options.recordLevel ?? isRecordStore(t.store)) && isRecordStore(t.store);
    const indexed = () => recordLevel() && (options.index ?? isIndexedStore(t.store as RecordStore));
    const rec = (): IndexedRecordStore => {
      const s = t.store;
      if (!isRecordStore(s) || !isIndexedStore(s)) throw new Error('store does not offer listByIndex');
      return s;
    };
    const when = (title: string, fn: () => Promise<void>) =>
      it(title, async (ctx) => {
        if (!indexed()) ctx.skip();
        await fn();
      });
    const exp = () => t.clock.now() + MINUTE;
    /** A fresh index key per test, so stores shared between tests never mix them. */
    const key = (label: string) => `ix.${label}.${t.id('k')}`;
    async function all(index: string, limit = 100): Promise<string[]> {
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const res = await rec().listByIndex(index, cursor === undefined ? { limit } : { limit, cursor });
        expect(res.ids.length).toBeLessThanOrEqual(limit);
        ids.push(...res.ids);
        if (res.cursor === undefined) return ids;
        cursor = res.cursor;
      }
      throw new Error('listByIndex never ended');
    }

    when('lists exactly the records filed under an index, in id order', async () => {
      const [x, y, z] = [key('x'), key('y'), key('z')];
      const a = t.id('a');
      const b = t.id('b');
      const c = t.id('c');
      const d = t.id('d');
      await rec().saveRecord(b, { n: 1 }, { expiresAt: exp(), index: x });
      await rec().saveRecord(a, { n: 1 }, { expiresAt: exp(), index: x });
      await rec().saveRecord(c, { n: 1 }, { expiresAt: exp(), index: y });
      await rec().saveRecord(d, { n: 1 }, { expiresAt: exp() });
      expect(await all(x)).toEqual([a, b].sort());
      expect(await all(y)).toEqual([c]);
      expect(await all(z)).toEqual([]);
    });

    when('a save without index keeps an existing record filed; one with another index moves it', async () => {
      const [x, y] = [key('x'), key('y')];
      const a = t.id('a');
      const v1 = await rec().saveRecord(a, { n: 1 }, { expiresAt: exp(), index: x });
      const v2 = await rec().saveRecord(a, { n: 2 }, { expiresAt: exp(), ifVersion: v1 });
      await rec().saveRecord(a, { n: 3 }, { expiresAt: exp() });
      expect(await all(x)).toEqual([a]);
      await rec().saveRecord(a, { n: 4 }, { expiresAt: exp(), index: y });
      expect(await all(x)).toEqual([]);
      expect(await all(y)).toEqual([a]);
      expect(v2).not.toBe(v1);
    });

    when('a refused conditional write files nothing', async () => {
      const [x, y] = [key('x'), key('y')];
      const a = t.id('a');
      const v1 = await rec().saveRecord(a, { n: 1 }, { expiresAt: exp(), index: x });
      await expectCode(rec().saveRecord(a, { n: 2 }, { expiresAt: exp(), ifVersion: `${v1}x`, index: y }), 'conflict');
      await expectCode(rec().saveRecord(a, { n: 2 }, { expiresAt: exp(), ifAbsent: true, index: y }), 'conflict');
      await expectCode(rec().saveRecord(t.id('absent'), { n: 2 }, { expiresAt: exp(), ifVersion: v1, index: y }), 'conflict');
      expect(await all(x)).toEqual([a]);
      expect(await all(y)).toEqual([]);
    });

    when('a deleted record leaves its index, and is not filed again when re-created without one', async () => {
      const x = key('x');
      const [a, b] = [t.id('a'), t.id('b')];
      await rec().saveRecord(a, { n: 1 }, { expiresAt: exp(), index: x });
      const vb = await rec().saveRecord(b, { n: 1 }, { expiresAt: exp(), index: x });
      expect(await rec().deleteRecord(a)).toBe(true);
      expect(await rec().deleteRecord(b, { ifVersion: vb })).toBe(true);
      expect(await all(x)).toEqual([]);
      await rec().saveRecord(a, { n: 2 }, { expiresAt: exp() });
      expect(await all(x)).toEqual([]);
    });

    when('expired records stay listed until cleanupExpired removes them from the index', async () => {
      const x = key('x');
      const [live, dead] = [t.id('live'), t.id('dead')];
      await rec().saveRecord(live, { n: 1 }, { expiresAt: t.clock.now() + 10 * MINUTE, index: x });
      await rec().saveRecord(dead, { n: 1 }, { expiresAt: t.clock.now() + 1_000, index: x });
      t.clock.advance(2_000);
      expect(await all(x)).toEqual([live, dead].sort());
      await t.store.cleanupExpired();
      expect(await all(x)).toEqual([live]);
    });

    when('pages by an opaque cursor without duplicates or omissions, also while records come and go', async () => {
      const x = key('x');
      const ids = Array.from({ length: 23 }, () => t.id('p'));
      for (const id of ids) await rec().saveRecord(id, { n: 1 }, { expiresAt: exp(), index: x });
      const seen = await all(x, 5);
      expect(seen).toEqual([...ids].sort());
      const pages: string[] = [];
      let cursor: string | undefined;
      let turn = 0;
      do {
        const res = await rec().listByIndex(x, cursor === undefined ? { limit: 4 } : { limit: 4, cursor });
        pages.push(...res.ids);
        cursor = res.cursor;
        await rec().saveRecord(t.id('added'), { n: 1 }, { expiresAt: exp(), index: x });
        const victim = ids[ids.length - 1 - turn++];
        if (victim !== undefined && !pages.includes(victim)) await rec().deleteRecord(victim);
      } while (cursor !== undefined);
      expect(new Set(pages).size).toBe(pages.length);
    });

    when('rejects a cursor it never issued, a bad limit and a malformed index key', async () => {
      const x = key('x');
      await expectCode(rec().listByIndex(x, { cursor: 'not a cursor \u0000' }), 'invalid_input');
      await expectCode(rec().listByIndex(x, { limit: 0 }), 'invalid_input');
      for (const bad of ['', 'a b', 'x'.repeat(129), 'é', 42]) await expectCode(rec().listByIndex(bad as string), 'invalid_input');
    });

    when('saveRecord checks `index` and writes nothing for a malformed one', async () => {
      const a = t.id('a');
      for (const bad of ['', 'a b', 'x'.repeat(129), '\u00e9', 42]) {
        await expectCode(rec().saveRecord(a, { n: 1 }, { expiresAt: exp(), index: bad as string }), 'invalid_input');
      }
      expect(await rec().loadRecord(a)).toBeUndefined();
    });

    it('a record store without listByIndex accepts a well-formed `index` and keeps working', async (ctx) => {
      if (!recordLevel()) ctx.skip();
      const s = t.store as RecordStore;
      const a = t.id('a');
      await s.saveRecord(a, { n: 1 }, { expiresAt: exp(), index: 'x'.repeat(128) });
      expect((await s.loadRecord(a))?.value).toEqual({ n: 1 });
    });
  });
}
