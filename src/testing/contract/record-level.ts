/**
 * The record level under `SessionStore`: versions, `ifAbsent` / `ifVersion` compare-and-swap, ABA,
 * concurrent writers, bytes. Runs when the store offers it (or `recordLevel` says so).
 */
import { describe, expect, it } from 'vitest';
import { isRecordStore, isSessionStoreError, type RecordStore } from '../../internal.js';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext, RecordLevelSwitches } from './types.js';

export function recordLevelTests(t: ContractContext, options: RecordLevelSwitches): void {
  describe('record level (compare-and-swap)', () => {
    const rec = (): RecordStore => {
      if (!isRecordStore(t.store)) throw new Error('store does not offer the record-level contract');
      return t.store;
    };
    const enabled = () => options.recordLevel ?? isRecordStore(t.store);
    const when = (title: string, fn: () => Promise<void>) =>
      it(title, async (ctx) => {
        if (!enabled()) ctx.skip();
        await fn();
      });
    const exp = () => t.clock.now() + MINUTE;

    when('loadRecord returns undefined for a missing id and the record with its version otherwise', async () => {
      const sid = t.id();
      expect(await rec().loadRecord(sid)).toBeUndefined();
      const version = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
      expect(typeof version).toBe('string');
      expect(await rec().loadRecord(sid)).toEqual({ value: { a: 1 }, version, expiresAt: exp() });
    });

    when('loadRecord still returns an expired record (expiry is the caller’s decision)', async () => {
      const sid = t.id();
      const expiresAt = t.clock.now() + 1_000;
      await rec().saveRecord(sid, { a: 1 }, { expiresAt });
      t.clock.advance(2_000);
      const r = await rec().loadRecord(sid);
      expect(r?.expiresAt).toBe(expiresAt);
    });

    when('ifAbsent writes only when no record exists (an expired one counts as existing)', async () => {
      const sid = t.id();
      await rec().saveRecord(sid, { a: 1 }, { expiresAt: t.clock.now() + 1_000, ifAbsent: true });
      await expectCode(rec().saveRecord(sid, { a: 2 }, { expiresAt: exp(), ifAbsent: true }), 'conflict');
      t.clock.advance(2_000);
      await expectCode(rec().saveRecord(sid, { a: 3 }, { expiresAt: exp(), ifAbsent: true }), 'conflict');
      expect((await rec().loadRecord(sid))?.value).toEqual({ a: 1 });
    });

    when('ifVersion writes only over that exact version', async () => {
      const sid = t.id();
      const v1 = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
      const v2 = await rec().saveRecord(sid, { a: 2 }, { expiresAt: exp(), ifVersion: v1 });
      expect(v2).not.toBe(v1);
      await expectCode(rec().saveRecord(sid, { a: 3 }, { expiresAt: exp(), ifVersion: v1 }), 'conflict');
      await expectCode(rec().saveRecord(t.id('absent'), { a: 3 }, { expiresAt: exp(), ifVersion: v1 }), 'conflict');
      expect(await rec().loadRecord(sid)).toEqual({ value: { a: 2 }, version: v2, expiresAt: exp() });
    });

    when('versions never repeat for an id', async () => {
      const sid = t.id();
      const versions = new Set<string>();
      for (let i = 0; i < 50; i++) versions.add(await rec().saveRecord(sid, { i }, { expiresAt: exp() }));
      expect(versions.size).toBe(50);
    });

    when('a delete + re-create never satisfies an old version (ABA)', async () => {
      const sid = t.id();
      const v1 = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
      expect(await rec().deleteRecord(sid)).toBe(true);
      await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
      await expectCode(rec().saveRecord(sid, { a: 2 }, { expiresAt: exp(), ifVersion: v1 }), 'conflict');
      await expectCode(rec().deleteRecord(sid, { ifVersion: v1 }), 'conflict');
      expect((await rec().loadRecord(sid))?.value).toEqual({ a: 1 });
    });

    when('deleteRecord reports whether it deleted and honours ifVersion', async () => {
      const sid = t.id();
      expect(await rec().deleteRecord(sid)).toBe(false);
      const v1 = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
      const v2 = await rec().saveRecord(sid, { a: 2 }, { expiresAt: exp() });
      await expectCode(rec().deleteRecord(sid, { ifVersion: v1 }), 'conflict');
      expect(await rec().deleteRecord(sid, { ifVersion: v2 })).toBe(true);
      expect(await rec().loadRecord(sid)).toBeUndefined();
    });

    when('concurrent ifAbsent creates: exactly one wins', async () => {
      const sid = t.id();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => rec().saveRecord(sid, { i }, { expiresAt: exp(), ifAbsent: true })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(isSessionStoreError(r.reason, 'conflict')).toBe(true);
    });

    when('concurrent writers on one version: exactly one wins', async () => {
      const sid = t.id();
      const v1 = await rec().saveRecord(sid, { a: 0 }, { expiresAt: exp() });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => rec().saveRecord(sid, { a: i + 1 }, { expiresAt: exp(), ifVersion: v1 })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    when('bytes round-trip exactly and are copied in and out', async () => {
      if (options.bytes === false) return;
      const sid = t.id();
      const bytes = new Uint8Array(256).map((_, i) => i);
      await rec().saveRecord(sid, bytes, { expiresAt: exp() });
      bytes[0] = 99;
      const r = await rec().loadRecord(sid);
      expect(r?.value).toBeInstanceOf(Uint8Array);
      expect(Array.from(r!.value as Uint8Array)).toEqual(Array.from(new Uint8Array(256).map((_, i) => i)));
      (r!.value as Uint8Array)[1] = 99;
      expect(((await rec().loadRecord(sid))!.value as Uint8Array)[1]).toBe(1);
    });

    when('refuses a non-finite expiresAt', async () => {
      await expectCode(rec().saveRecord(t.id(), { a: 1 }, { expiresAt: Number.NaN }), 'invalid_input');
    });
  });
}
