/**
 * `updateTtl`: extends or shortens a live session, never creates or revives one.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext } from './types.js';

export function updateTtlTests(t: ContractContext): void {
  describe('updateTtl', () => {
    it('extends a session past its original expiry', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 10_000 });
      t.clock.advance(8_000);
      await t.store.updateTtl(sid, 10_000);
      t.clock.advance(9_000);
      expect(await t.store.load(sid)).toEqual({ a: 1 });
      t.clock.advance(1_000);
      await expectCode(t.store.load(sid), 'expired');
    });

    it('shortens a session', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      await t.store.updateTtl(sid, 1_000);
      t.clock.advance(1_000);
      await expectCode(t.store.load(sid), 'expired');
    });

    it('rejects not_found and never creates', async () => {
      const sid = t.id();
      await expectCode(t.store.updateTtl(sid, MINUTE), 'not_found');
      await expectCode(t.store.load(sid), 'not_found');
    });

    it('rejects expired: an expired session cannot be revived', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 1_000 });
      t.clock.advance(1_500);
      await expectCode(t.store.updateTtl(sid, MINUTE), 'expired');
      await expectCode(t.store.load(sid), 'expired');
    });
  });
}
