/**
 * Expiry: a session loads until its TTL passes, then reads `expired` (not `not_found`) until cleanup;
 * a fractional TTL rounds up; a re-save after expiry is a new session.
 */
import { describe, expect, it } from 'vitest';
import { expectCode } from '../helpers.js';
import type { ContractContext, ListingSwitches } from './types.js';

export function expiryTests(t: ContractContext, options: ListingSwitches): void {
  describe('expiry', () => {
    it('loads until the TTL passes, then says expired (not not_found)', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 10_000 });
      t.clock.advance(9_999);
      expect(await t.store.load(sid)).toEqual({ a: 1 });
      t.clock.advance(1);
      await expectCode(t.store.load(sid), 'expired');
    });

    it('an expired session stays distinguishable until cleanup, then is not_found', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 1_000 });
      t.clock.advance(5_000);
      await expectCode(t.store.load(sid), 'expired');
      await expectCode(t.store.load(sid), 'expired');
      if (options.listing !== false) {
        await t.store.cleanupExpired();
        await expectCode(t.store.load(sid), 'not_found');
      }
    });

    it('rounds a fractional TTL up, never down to "already expired"', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 0.25 });
      expect(await t.store.load(sid)).toEqual({ a: 1 });
    });

    it('re-saving an expired session brings it back as a new session', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 1_000 });
      t.clock.advance(2_000);
      await t.store.save(sid, { b: 2 }, { ttlMs: 1_000 });
      expect(await t.store.load(sid)).toEqual({ b: 2 });
    });
  });
}
