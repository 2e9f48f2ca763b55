/**
 * `delete`: removes live and expired sessions, and is idempotent.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext } from './types.js';

export function deleteTests(t: ContractContext): void {
  describe('delete', () => {
    it('removes a session', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      await t.store.delete(sid);
      await expectCode(t.store.load(sid), 'not_found');
    });

    it('is idempotent: deleting a missing or already deleted session resolves', async () => {
      const sid = t.id();
      await expect(t.store.delete(sid)).resolves.toBeUndefined();
      await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      await t.store.delete(sid);
      await expect(t.store.delete(sid)).resolves.toBeUndefined();
    });

    it('deletes an expired session too', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: 1_000 });
      t.clock.advance(2_000);
      await t.store.delete(sid);
      await expectCode(t.store.load(sid), 'not_found');
    });
  });
}
