/**
 * `update(id, fn)`: the atomic read-modify-write. `fn(current)` runs inside the compare-and-swap
 * loop, on the state as it is at each attempt; what its last run returned is merged and written, or
 * nothing is (a refused result, a throw, a missing or expired session).
 */
import { describe, expect, it } from 'vitest';
import { isRecordStore, type RecordStore, type SessionState } from '../../internal.js';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext, RecordLevelSwitches } from './types.js';

const count = (s: SessionState): number => (typeof s.n === 'number' ? s.n : 0);

export function updateFnTests(t: ContractContext, options: RecordLevelSwitches): void {
  describe('update with a function (read-modify-write)', () => {
    it('gives the function the current state and merges what it returns', async () => {
      const sid = t.id();
      await t.store.save(sid, { n: 1, keep: 'yes' }, { ttlMs: MINUTE });
      const seen: SessionState[] = [];
      await t.store.update(sid, (s) => {
        seen.push(s);
        return { n: count(s) + 1 };
      });
      expect(seen).toEqual([{ n: 1, keep: 'yes' }]);
      expect(await t.store.load(sid)).toEqual({ n: 2, keep: 'yes' });
      // The whole next state works as well as a partial.
      await t.store.update(sid, (s) => ({ ...s, n: count(s) * 10, added: true }));
      expect(await t.store.load(sid)).toEqual({ n: 20, keep: 'yes', added: true });
    });

    it('50 concurrent increments lose none', async () => {
      const sid = t.id();
      await t.store.save(sid, { n: 0 }, { ttlMs: MINUTE });
      await Promise.all(Array.from({ length: 50 }, () => t.store.update(sid, (s) => ({ n: count(s) + 1 }))));
      expect(count(await t.store.load(sid))).toBe(50);
    });

    it('increments racing partial updates and a delete: every increment that resolved counts, nothing is revived', async () => {
      const sid = t.id();
      await t.store.save(sid, { n: 0 }, { ttlMs: MINUTE });
      const incs = Array.from({ length: 10 }, () => t.store.update(sid, (s) => ({ n: count(s) + 1 })));
      const others = [t.store.update(sid, { other: 1 }), t.store.update(sid, { another: 2 })];
      const settled = await Promise.allSettled(incs);
      await Promise.all(others);
      expect(count(await t.store.load(sid))).toBe(settled.filter((r) => r.status === 'fulfilled').length);
      await t.store.delete(sid);
      await expectCode(t.store.update(sid, (s) => ({ n: count(s) + 1 })), 'not_found');
      await expectCode(t.store.load(sid), 'not_found');
    });

    it('never runs the function for a missing or expired session', async () => {
      const missing = t.id();
      let runs = 0;
      const fn = (s: SessionState) => {
        runs++;
        return { n: count(s) + 1 };
      };
      await expectCode(t.store.update(missing, fn), 'not_found');
      const sid = t.id();
      await t.store.save(sid, { n: 0 }, { ttlMs: 1_000 });
      t.clock.advance(1_000);
      await expectCode(t.store.update(sid, fn), 'expired');
      expect(runs).toBe(0);
      await expectCode(t.store.load(missing), 'not_found');
    });

    it('writes nothing when the function throws (rejecting with what it threw) or returns something not a state', async () => {
      const sid = t.id();
      await t.store.save(sid, { n: 1 }, { ttlMs: MINUTE });
      const boom = new Error('boom');
      await expect(
        t.store.update(sid, () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      for (const bad of [null, 5, 'x', [1], () => ({})]) {
        await expectCode(t.store.update(sid, () => bad as unknown as SessionState), 'invalid_input');
      }
      // A promise would hold the queue across I/O and cannot be re-run safely: refused.
      await expectCode(t.store.update(sid, (async () => ({ n: 2 })) as unknown as (s: SessionState) => SessionState), 'invalid_input');
      expect(await t.store.load(sid)).toEqual({ n: 1 });
    });

    it('runs the function again when a write lands between its read and its write, and writes only the last run', async (ctx) => {
      if (!(options.recordLevel ?? isRecordStore(t.store))) ctx.skip();
      const rec = t.store as RecordStore;
      let retried = 0;
      for (let round = 0; round < 5; round++) {
        const sid = t.id('race');
        await t.store.save(sid, { n: 0 }, { ttlMs: MINUTE });
        const before = (await rec.loadRecord(sid))!;
        let runs = 0;
        let raced: Promise<boolean> | undefined;
        const inputs: number[] = [];
        await t.store.update(sid, (s) => {
          runs++;
          inputs.push(count(s));
          // Another writer rewrites the record (new version) while this attempt is in flight.
          if (runs === 1) {
            raced = rec.saveRecord(sid, before.value, { expiresAt: before.expiresAt, ifVersion: before.version }).then(
              () => true,
              () => false,
            );
          }
          return { n: count(s) + 1, runs };
        });
        const racedWon = await raced!;
        expect(runs).toBe(racedWon ? 2 : 1);
        expect(inputs.every((n) => n === 0)).toBe(true);
        expect(await t.store.load(sid)).toEqual({ n: 1, runs });
        if (racedWon) retried++;
      }
      expect(retried).toBeGreaterThan(0);
    });
  });
}
