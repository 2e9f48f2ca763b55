/**
 * `update`: a shallow merge that keeps the expiry, never creates or revives a session, and loses
 * nothing under concurrency or a racing delete.
 */
import { describe, expect, it } from 'vitest';
import { isSessionStoreError } from '../../internal.js';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext } from './types.js';

export function updateTests(t: ContractContext): void {
  describe('update', () => {
    it('shallow-merges the partial into the state', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1, b: { x: 1, y: 2 }, c: 'keep' }, { ttlMs: MINUTE });
      await t.store.update(sid, { a: 2, b: { x: 9 }, d: [1] });
      expect(await t.store.load(sid)).toEqual({ a: 2, b: { x: 9 }, c: 'keep', d: [1] });
    });

    it('keeps the expiry (an update is not a TTL change)', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 10_000 });
      t.clock.advance(6_000);
      await t.store.update(sid, { a: 2 });
      t.clock.advance(4_000);
      await expectCode(t.store.load(sid), 'expired');
    });

    it('rejects not_found and never creates a session', async () => {
      const sid = t.id();
      await expectCode(t.store.update(sid, { a: 1 }), 'not_found');
      await expectCode(t.store.load(sid), 'not_found');
    });

    it('rejects expired and does not revive the session', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 1_000 });
      t.clock.advance(1_000);
      await expectCode(t.store.update(sid, { a: 2 }), 'expired');
      await expectCode(t.store.load(sid), 'expired');
    });

    it('50 concurrent updates of distinct fields lose none', async () => {
      const sid = t.id();
      await t.store.save(sid, { base: true }, { ttlMs: MINUTE });
      await Promise.all(Array.from({ length: 50 }, (_, i) => t.store.update(sid, { [`f${i}`]: i })));
      const state = await t.store.load(sid);
      for (let i = 0; i < 50; i++) expect(state[`f${i}`]).toBe(i);
      expect(state.base).toBe(true);
    });

    it('update racing delete never resurrects the session', async () => {
      for (let round = 0; round < 10; round++) {
        const sid = t.id('race');
        await t.store.save(sid, { a: 0 }, { ttlMs: MINUTE });
        const results = await Promise.allSettled([
          t.store.update(sid, { a: 1 }),
          t.store.delete(sid),
          t.store.update(sid, { b: 2 }),
        ]);
        for (const r of results) {
          if (r.status === 'rejected') expect(isSessionStoreError(r.reason, 'not_found')).toBe(true);
        }
        await expectCode(t.store.load(sid), 'not_found');
      }
    });
  });
}
