/**
 * `listActive` (opaque cursor, no duplicates or omissions under churn) and `cleanupExpired`.
 * Skipped with `listing: false`.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext, ListingSwitches } from './types.js';

export function listingTests(t: ContractContext, options: ListingSwitches): void {
  describe.skipIf(options.listing === false)('listActive and cleanupExpired', () => {
    async function walk(limit: number, between?: (page: number) => Promise<void>): Promise<string[][]> {
      const pages: string[][] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const res = await t.store.listActive(cursor === undefined ? { limit } : { limit, cursor });
        expect(res.ids.length).toBeLessThanOrEqual(limit);
        pages.push(res.ids);
        if (res.cursor === undefined) return pages;
        cursor = res.cursor;
        await between?.(page);
      }
      throw new Error('listActive never ended');
    }

    it('lists ids that exist and are not expired', async () => {
      const live = [t.id('live'), t.id('live')];
      const dead = t.id('dead');
      const gone = t.id('gone');
      for (const sid of live) await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      await t.store.save(dead, { a: 1 }, { ttlMs: 1_000 });
      await t.store.save(gone, { a: 1 }, { ttlMs: MINUTE });
      await t.store.delete(gone);
      t.clock.advance(2_000);
      const ids = (await walk(100)).flat();
      expect(ids.sort()).toEqual([...live].sort());
    });

    it('pages by an opaque cursor without duplicates or omissions', async () => {
      const all = Array.from({ length: 23 }, () => t.id('page'));
      for (const sid of all) await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      const pages = await walk(5);
      const seen = pages.flat();
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual([...all].sort());
    });

    it('stays duplicate-free while sessions are added and removed between pages', async () => {
      const stable = Array.from({ length: 20 }, () => t.id('stable'));
      const churn = Array.from({ length: 10 }, () => t.id('churn'));
      for (const sid of [...stable, ...churn]) await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      const pages = await walk(4, async (page) => {
        await t.store.save(t.id('added'), { a: 1 }, { ttlMs: MINUTE });
        const victim = churn[page];
        if (victim !== undefined) await t.store.delete(victim);
      });
      const seen = pages.flat();
      expect(new Set(seen).size).toBe(seen.length);
      for (const sid of stable) expect(seen).toContain(sid);
    });

    it('rejects a cursor it never issued', async () => {
      await expectCode(t.store.listActive({ cursor: 'not a cursor \u0000' }), 'invalid_input');
    });

    it('rejects a non-positive or fractional limit', async () => {
      await expectCode(t.store.listActive({ limit: 0 }), 'invalid_input');
      await expectCode(t.store.listActive({ limit: 1.5 }), 'invalid_input');
    });

    it('cleanupExpired removes only expired sessions and returns the count', async () => {
      const live = [t.id('live'), t.id('live')];
      const dead = [t.id('dead'), t.id('dead'), t.id('dead')];
      for (const sid of live) await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      for (const sid of dead) await t.store.save(sid, { a: 1 }, { ttlMs: 1_000 });
      t.clock.advance(2_000);
      expect(await t.store.cleanupExpired()).toBe(3);
      expect(await t.store.cleanupExpired()).toBe(0);
      for (const sid of live) expect(await t.store.load(sid)).toEqual({ a: 1 });
      for (const sid of dead) await expectCode(t.store.load(sid), 'not_found');
    });
  });
}
