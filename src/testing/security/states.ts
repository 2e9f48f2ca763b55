/**
 * States through the full stack: `__proto__` stays data, an oversized state is refused before any
 * encryption, concurrent updates lose nothing and a racing delete is never undone.
 */
import { expect, it } from 'vitest';
import type { SessionState } from '../../internal.js';
import { MINUTE, expectCode, sampleState } from '../helpers.js';
import { alice } from './attacker.js';
import type { SecurityContext } from './types.js';

export function stateTests(t: SecurityContext): void {
  it('`__proto__` in states and partials never reaches a prototype', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create(JSON.parse('{"__proto__": {"isAdmin": true}}') as SessionState, { ttlMs: MINUTE });
    await scoped.update(id, JSON.parse('{"__proto__": {"polluted": true}}') as SessionState);
    const state = await scoped.load(id);
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
    expect((state as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('oversized states are refused before any encryption', async () => {
    const before = t.stack.store.stats().encryptions;
    const big = { blob: 'x'.repeat(2 * 1024 * 1024) };
    await expectCode(t.stack.store.for(alice).create(big, { ttlMs: MINUTE }), 'payload_too_large');
    expect(t.stack.store.stats().encryptions).toEqual(before);
  });

  it('50 concurrent updates through the full stack lose none', async () => {
    const scoped = t.stack.store.for(alice);
    const id = await scoped.create(sampleState(), { ttlMs: MINUTE });
    await Promise.all(Array.from({ length: 50 }, (_, i) => scoped.update(id, { [`f${i}`]: i })));
    const state = await scoped.load(id);
    for (let i = 0; i < 50; i++) expect(state[`f${i}`]).toBe(i);
  });

  it('update racing delete never resurrects a session', async () => {
    const scoped = t.stack.store.for(alice);
    for (let round = 0; round < 10; round++) {
      const id = await scoped.create({ a: 0 }, { ttlMs: MINUTE });
      await Promise.allSettled([scoped.update(id, { a: 1 }), scoped.delete(id), scoped.update(id, { b: 1 })]);
      await expectCode(scoped.load(id), 'not_found');
    }
  });
}
