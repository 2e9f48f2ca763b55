/**
 * What a save keeps: every well-formed state exactly, copied in and out, replaced rather than merged,
 * with `__proto__` and `constructor` as plain data.
 */
import { describe, expect, it } from 'vitest';
import type { SessionState } from '../../internal.js';
import { MINUTE, expectCode, sampleState } from '../helpers.js';
import type { ContractContext } from './types.js';

export function saveLoadTests(t: ContractContext): void {
  describe('save and load', () => {
    it('keeps every well-formed string, astral characters included', async () => {
      const sid = t.id();
      // Control characters and a literal backslash-u are escaped by JSON, like NUL and lone
      // surrogates (refused below): none of them may be mistaken for those.
      const state = { emoji: '😀 𝄞 ünï ✓', quote: '"\\\n\t', [`k😀`]: 'v', control: '\u0001\u001f\u007f', escaped: '\\u0000 \\ud800', ['\\u0000key']: 1 };
      await t.store.save(sid, state, { ttlMs: MINUTE });
      expect(await t.store.load(sid)).toEqual(state);
    });

    it('round-trips a state exactly', async () => {
      const sid = t.id();
      await t.store.save(sid, sampleState(1), { ttlMs: MINUTE });
      expect(await t.store.load(sid)).toEqual(sampleState(1));
    });

    it('save replaces the whole state rather than merging', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1, b: 2 }, { ttlMs: MINUTE });
      await t.store.save(sid, { c: 3 }, { ttlMs: MINUTE });
      expect(await t.store.load(sid)).toEqual({ c: 3 });
    });

    it('applies a default TTL when none is given', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 });
      expect(await t.store.load(sid)).toEqual({ a: 1 });
    });

    it('copies states in and out: callers cannot mutate what is stored', async () => {
      const sid = t.id();
      const state: SessionState = { list: [1, 2], obj: { k: 'v' } };
      await t.store.save(sid, state, { ttlMs: MINUTE });
      (state.list as number[]).push(3);
      const loaded = await t.store.load(sid);
      (loaded.obj as Record<string, string>).k = 'changed';
      expect(await t.store.load(sid)).toEqual({ list: [1, 2], obj: { k: 'v' } });
    });

    it('rejects not_found for an id never saved', async () => {
      await expectCode(t.store.load(t.id('missing')), 'not_found');
    });

    it('keeps `__proto__` and `constructor` keys as plain data that never reach a prototype', async () => {
      const sid = t.id();
      const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}') as SessionState;
      await t.store.save(sid, hostile, { ttlMs: MINUTE });
      const loaded = await t.store.load(sid);
      expect(Object.getPrototypeOf(loaded)).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(loaded, '__proto__')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((loaded as Record<string, unknown>).polluted).toBeUndefined();
      const plain = t.id();
      await t.store.save(plain, { a: 1 }, { ttlMs: MINUTE });
      await t.store.update(plain, JSON.parse('{"__proto__": {"polluted2": "yes"}}') as SessionState);
      const after = await t.store.load(plain);
      expect(Object.getPrototypeOf(after)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(after, '__proto__')?.value).toEqual({ polluted2: 'yes' });
      expect(({} as Record<string, unknown>).polluted2).toBeUndefined();
    });
  });
}
