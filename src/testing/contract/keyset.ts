/**
 * The keyset slot (a store-held keyset, `KeysetSlotStore`): kept apart from the sessions and
 * changed only by compare-and-swap. Runs when the store offers the slot (every built-in backend).
 *
 * Threats it checks: a keyset listed as a session (leaked to a listing, opened as one), removed by
 * cleanup or touched by re-key (every process then loses its keys), or two rotations at once where
 * the later write silently drops the earlier one's key.
 */
import { describe, expect, it } from 'vitest';
import { type KeysetSlotStore, Keyring, type RecordStore, hasKeysetSlot, isRecordStore, secureStore } from '../../internal.js';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext } from './types.js';

const YEAR = 365 * 24 * 3600 * 1000;

export function keysetTests(t: ContractContext): void {
  describe('keyset slot (store-held keyset)', () => {
    const slot = (): KeysetSlotStore => t.store as unknown as KeysetSlotStore;
    const when = (title: string, fn: () => Promise<void>) =>
      it(title, async (ctx) => {
        if (!hasKeysetSlot(t.store)) ctx.skip();
        await fn();
      });

    when('is created only once (ifAbsent) and changed only at its version (ifVersion)', async () => {
      expect(await slot().loadKeysetText()).toBeUndefined();
      const v1 = await slot().saveKeysetText('one', { ifAbsent: true });
      expect(await slot().loadKeysetText()).toEqual({ text: 'one', version: v1 });
      await expectCode(slot().saveKeysetText('other', { ifAbsent: true }), 'conflict');
      const v2 = await slot().saveKeysetText('two', { ifVersion: v1 });
      expect(v2).not.toBe(v1);
      await expectCode(slot().saveKeysetText('stale', { ifVersion: v1 }), 'conflict');
      expect(await slot().loadKeysetText()).toEqual({ text: 'two', version: v2 });
      expect(await slot().deleteKeysetText()).toBe(true);
      expect(await slot().deleteKeysetText()).toBe(false);
      await expectCode(slot().saveKeysetText('back', { ifVersion: v2 }), 'conflict');
      expect(await slot().loadKeysetText()).toBeUndefined();
    });

    when('refuses a write without exactly one condition (no blind overwrite)', async () => {
      await expectCode(slot().saveKeysetText('x', {} as never), 'invalid_input');
      await expectCode(slot().saveKeysetText('x', { ifAbsent: true, ifVersion: 'v' } as never), 'invalid_input');
      await expectCode(slot().saveKeysetText('', { ifAbsent: true }), 'invalid_input');
      expect(await slot().loadKeysetText()).toBeUndefined();
    });

    when('two concurrent read-modify-write loops: both changes survive', async () => {
      await slot().saveKeysetText('[]', { ifAbsent: true });
      const add = async (key: string) => {
        for (let attempt = 0; attempt < 50; attempt++) {
          const cur = (await slot().loadKeysetText())!;
          const next = JSON.stringify([...(JSON.parse(cur.text) as string[]), key]);
          try {
            await slot().saveKeysetText(next, { ifVersion: cur.version });
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== 'conflict') throw err;
          }
        }
        throw new Error('no attempt won');
      };
      await Promise.all([add('a'), add('b'), add('c')]);
      expect((JSON.parse((await slot().loadKeysetText())!.text) as string[]).sort()).toEqual(['a', 'b', 'c']);
    });

    when('is never listed, cleaned up (whatever the clock), re-keyed or counted as a session', async () => {
      const version = await slot().saveKeysetText('{"keyset":true}', { ifAbsent: true });
      if (isRecordStore(t.store)) {
        // Re-key and key usage walk the store below the sealing layer: the slot is no envelope.
        const keyring = Keyring.generate({ now: () => t.clock.now() });
        const secure = secureStore(t.store as RecordStore, { keyring, namespace: 'keyset-contract', now: () => t.clock.now() });
        const owner = { subject: 'keyset-owner' };
        const scoped = secure.for(owner);
        const sealed = await scoped.create({ b: 2 });
        keyring.rotate('encrypt');
        const result = await secure.rekey();
        expect(result).toMatchObject({ done: true, failed: 0, resealed: 1 });
        const usage = await secure.keyUsage();
        expect(Object.values(usage).reduce((a, b) => a + b, 0)).toBe(1);
        expect(await slot().loadKeysetText()).toEqual({ text: '{"keyset":true}', version });
        await scoped.delete(sealed);
      }
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      expect((await t.store.listActive({ limit: 1000 })).ids).toEqual([sid]);
      t.clock.advance(200 * YEAR);
      await t.store.cleanupExpired();
      expect((await t.store.listActive({ limit: 1000 })).ids).toEqual([]);
      expect(await slot().loadKeysetText()).toEqual({ text: '{"keyset":true}', version });
    });
  });
}
