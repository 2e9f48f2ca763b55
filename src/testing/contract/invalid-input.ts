/**
 * Invalid ids, states, partials and TTLs are refused with `invalid_input` on every operation, and
 * nothing is written.
 */
import { describe, expect, it } from 'vitest';
import type { SessionState } from '../../internal.js';
import { MINUTE, expectCode } from '../helpers.js';
import type { ContractContext } from './types.js';

export function invalidInputTests(t: ContractContext): void {
  describe('invalid input is refused and writes nothing', () => {
    const badIds: unknown[] = ['', 'x'.repeat(513), 'has space', 'tab\t', 'ünï', 'nul\u0000', 42, null, undefined];

    it('refuses malformed ids on every operation', async () => {
      for (const bad of badIds) {
        const b = bad as string;
        await expectCode(t.store.save(b, { a: 1 }, { ttlMs: MINUTE }), 'invalid_input');
        await expectCode(t.store.load(b), 'invalid_input');
        await expectCode(t.store.delete(b), 'invalid_input');
        await expectCode(t.store.update(b, { a: 1 }), 'invalid_input');
        await expectCode(t.store.updateTtl(b, MINUTE), 'invalid_input');
      }
    });

    it('accepts an id of exactly 512 visible ASCII characters', async () => {
      const sid = `${t.id('long')}-`.padEnd(512, '~');
      await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      expect(await t.store.load(sid)).toEqual({ a: 1 });
    });

    it('refuses states that are not plain JSON objects', async () => {
      class Custom {
        a = 1;
      }
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const bad: unknown[] = [
        null,
        [1, 2],
        'string',
        new Date(),
        new Map(),
        new Custom(),
        { a: undefined },
        { a: () => 1 },
        { a: Symbol('s') },
        { a: 1n },
        { a: Number.NaN },
        { a: Number.POSITIVE_INFINITY },
        { a: new Date() },
        { a: [1, undefined] },
        { a: 'nul\u0000inside' },
        { a: 'lone \ud800 surrogate' },
        { ['key\udc00']: 1 },
        { [Symbol('k')]: 1 },
        cyclic,
      ];
      for (const state of bad) {
        const sid = t.id('bad');
        await expectCode(t.store.save(sid, state as SessionState, { ttlMs: MINUTE }), 'invalid_input');
        await expectCode(t.store.load(sid), 'not_found');
      }
    });

    it('refuses non-plain partials and leaves the state unchanged', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      for (const partial of [null, [1], new Date(), { a: undefined }, { a: () => 1 }, { a: 1n }]) {
        await expectCode(t.store.update(sid, partial as unknown as SessionState), 'invalid_input');
      }
      expect(await t.store.load(sid)).toEqual({ a: 1 });
    });

    it('refuses TTLs that are not positive finite numbers', async () => {
      const sid = t.id();
      await t.store.save(sid, { a: 1 }, { ttlMs: MINUTE });
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
        await expectCode(t.store.save(t.id('ttl'), { a: 1 }, { ttlMs: ttl }), 'invalid_input');
        await expectCode(t.store.updateTtl(sid, ttl), 'invalid_input');
      }
      t.clock.advance(MINUTE - 1);
      expect(await t.store.load(sid)).toEqual({ a: 1 });
    });
  });
}
