/**
 * The compliance suite: every promise of the `SessionStore` contract (and, when the store offers
 * it, the record-level compare-and-swap), as vitest tests that take a factory. Every backend and
 * every layer stack in this repository runs it; users run it on their own stores:
 *
 *   import { runStoreContract } from 'sealed-session-store/testing';
 *   runStoreContract('my store', ({ now }) => new MyStore({ now }));
 *
 * It imports only the public API and never picks a backend itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ErrorCode,
  isRecordStore,
  isSessionStoreError,
  type RecordStore,
  type SessionState,
  type SessionStore,
} from '../internal.js';
import { createFakeClock, type FakeClock } from './clock.js';

export interface StoreFactoryContext {
  /** The clock the store must read; the suite moves it. */
  now: () => number;
}

export type StoreFactory = (ctx: StoreFactoryContext) => SessionStore | Promise<SessionStore>;

export interface ContractOptions {
  /** Skip the whole suite with this reason (e.g. a service is absent). */
  skip?: string | undefined;
  /** Run the record-level cases; default: when the store has loadRecord/saveRecord/deleteRecord. */
  recordLevel?: boolean;
  /** The record level accepts `Uint8Array` values (backends do; plaintext layers do not). Default true. */
  bytes?: boolean;
  /** `listActive` / `cleanupExpired` are offered (a store scoped to one owner may refuse them). Default true. */
  listing?: boolean;
  /** Called after each test with the store (after `close()`). */
  teardown?: (store: SessionStore) => void | Promise<void>;
}

/** Asserts `promise` rejects with a `SessionStoreError` of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (err) {
    if (!isSessionStoreError(err)) throw new Error(`expected a SessionStoreError '${code}', got: ${String(err)}`, { cause: err });
    expect(err.code).toBe(code);
  }
  if (settled) throw new Error(`expected rejection with '${code}', but it resolved`);
}

const MINUTE = 60_000;

/** A realistic MCP-like state. */
export function sampleState(n = 0): SessionState {
  return {
    protocolVersion: '2025-06-18',
    clientInfo: { name: 'test-client', version: `1.${n}.0` },
    capabilities: { elicitation: {}, roots: { listChanged: true } },
    counter: n,
    tags: ['a', 'b', 'ünïcødé ✓', ''],
    nested: { deep: { deeper: [1, 2.5, -3, null, true, false] } },
  };
}

export function runStoreContract(name: string, factory: StoreFactory, options: ContractOptions = {}): void {
  describe.skipIf(options.skip !== undefined)(`SessionStore contract: ${name}`, () => {
    let clock: FakeClock;
    let store: SessionStore;
    let counter = 0;
    const id = (label = 'sess') => `${label}-${++counter}-${Math.random().toString(36).slice(2, 10)}`;

    beforeEach(async () => {
      clock = createFakeClock(Date.UTC(2030, 0, 1));
      store = await factory({ now: () => clock.now() });
      await store.start?.();
    });

    afterEach(async () => {
      await store.close();
      await options.teardown?.(store);
    });

    describe('save and load', () => {
      it('keeps every well-formed string, astral characters included', async () => {
        const sid = id();
        // Control characters and a literal backslash-u are escaped by JSON, like NUL and lone
        // surrogates (refused below): none of them may be mistaken for those.
        const state = { emoji: '😀 𝄞 ünï ✓', quote: '"\\\n\t', [`k😀`]: 'v', control: '\u0001\u001f\u007f', escaped: '\\u0000 \\ud800', ['\\u0000key']: 1 };
        await store.save(sid, state, { ttlMs: MINUTE });
        expect(await store.load(sid)).toEqual(state);
      });

      it('round-trips a state exactly', async () => {
        const sid = id();
        await store.save(sid, sampleState(1), { ttlMs: MINUTE });
        expect(await store.load(sid)).toEqual(sampleState(1));
      });

      it('save replaces the whole state rather than merging', async () => {
        const sid = id();
        await store.save(sid, { a: 1, b: 2 }, { ttlMs: MINUTE });
        await store.save(sid, { c: 3 }, { ttlMs: MINUTE });
        expect(await store.load(sid)).toEqual({ c: 3 });
      });

      it('applies a default TTL when none is given', async () => {
        const sid = id();
        await store.save(sid, { a: 1 });
        expect(await store.load(sid)).toEqual({ a: 1 });
      });

      it('copies states in and out: callers cannot mutate what is stored', async () => {
        const sid = id();
        const state: SessionState = { list: [1, 2], obj: { k: 'v' } };
        await store.save(sid, state, { ttlMs: MINUTE });
        (state.list as number[]).push(3);
        const loaded = await store.load(sid);
        (loaded.obj as Record<string, string>).k = 'changed';
        expect(await store.load(sid)).toEqual({ list: [1, 2], obj: { k: 'v' } });
      });

      it('rejects not_found for an id never saved', async () => {
        await expectCode(store.load(id('missing')), 'not_found');
      });

      it('keeps `__proto__` and `constructor` keys as plain data that never reach a prototype', async () => {
        const sid = id();
        const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}') as SessionState;
        await store.save(sid, hostile, { ttlMs: MINUTE });
        const loaded = await store.load(sid);
        expect(Object.getPrototypeOf(loaded)).toBe(Object.prototype);
        expect(Object.prototype.hasOwnProperty.call(loaded, '__proto__')).toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect((loaded as Record<string, unknown>).polluted).toBeUndefined();
        const plain = id();
        await store.save(plain, { a: 1 }, { ttlMs: MINUTE });
        await store.update(plain, JSON.parse('{"__proto__": {"polluted2": "yes"}}') as SessionState);
        const after = await store.load(plain);
        expect(Object.getPrototypeOf(after)).toBe(Object.prototype);
        expect(Object.getOwnPropertyDescriptor(after, '__proto__')?.value).toEqual({ polluted2: 'yes' });
        expect(({} as Record<string, unknown>).polluted2).toBeUndefined();
      });
    });

    describe('expiry', () => {
      it('loads until the TTL passes, then says expired (not not_found)', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 10_000 });
        clock.advance(9_999);
        expect(await store.load(sid)).toEqual({ a: 1 });
        clock.advance(1);
        await expectCode(store.load(sid), 'expired');
      });

      it('an expired session stays distinguishable until cleanup, then is not_found', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 1_000 });
        clock.advance(5_000);
        await expectCode(store.load(sid), 'expired');
        await expectCode(store.load(sid), 'expired');
        if (options.listing !== false) {
          await store.cleanupExpired();
          await expectCode(store.load(sid), 'not_found');
        }
      });

      it('rounds a fractional TTL up, never down to "already expired"', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 0.25 });
        expect(await store.load(sid)).toEqual({ a: 1 });
      });

      it('re-saving an expired session brings it back as a new session', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 1_000 });
        clock.advance(2_000);
        await store.save(sid, { b: 2 }, { ttlMs: 1_000 });
        expect(await store.load(sid)).toEqual({ b: 2 });
      });
    });

    describe('delete', () => {
      it('removes a session', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        await store.delete(sid);
        await expectCode(store.load(sid), 'not_found');
      });

      it('is idempotent: deleting a missing or already deleted session resolves', async () => {
        const sid = id();
        await expect(store.delete(sid)).resolves.toBeUndefined();
        await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        await store.delete(sid);
        await expect(store.delete(sid)).resolves.toBeUndefined();
      });

      it('deletes an expired session too', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 1_000 });
        clock.advance(2_000);
        await store.delete(sid);
        await expectCode(store.load(sid), 'not_found');
      });
    });

    describe.skipIf(options.listing === false)('listActive and cleanupExpired', () => {
      async function walk(limit: number, between?: (page: number) => Promise<void>): Promise<string[][]> {
        const pages: string[][] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 10_000; page++) {
          const res = await store.listActive(cursor === undefined ? { limit } : { limit, cursor });
          expect(res.ids.length).toBeLessThanOrEqual(limit);
          pages.push(res.ids);
          if (res.cursor === undefined) return pages;
          cursor = res.cursor;
          await between?.(page);
        }
        throw new Error('listActive never ended');
      }

      it('lists ids that exist and are not expired', async () => {
        const live = [id('live'), id('live')];
        const dead = id('dead');
        const gone = id('gone');
        for (const sid of live) await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        await store.save(dead, { a: 1 }, { ttlMs: 1_000 });
        await store.save(gone, { a: 1 }, { ttlMs: MINUTE });
        await store.delete(gone);
        clock.advance(2_000);
        const ids = (await walk(100)).flat();
        expect(ids.sort()).toEqual([...live].sort());
      });

      it('pages by an opaque cursor without duplicates or omissions', async () => {
        const all = Array.from({ length: 23 }, () => id('page'));
        for (const sid of all) await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        const pages = await walk(5);
        const seen = pages.flat();
        expect(new Set(seen).size).toBe(seen.length);
        expect([...seen].sort()).toEqual([...all].sort());
      });

      it('stays duplicate-free while sessions are added and removed between pages', async () => {
        const stable = Array.from({ length: 20 }, () => id('stable'));
        const churn = Array.from({ length: 10 }, () => id('churn'));
        for (const sid of [...stable, ...churn]) await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        const pages = await walk(4, async (page) => {
          await store.save(id('added'), { a: 1 }, { ttlMs: MINUTE });
          const victim = churn[page];
          if (victim !== undefined) await store.delete(victim);
        });
        const seen = pages.flat();
        expect(new Set(seen).size).toBe(seen.length);
        for (const sid of stable) expect(seen).toContain(sid);
      });

      it('rejects a cursor it never issued', async () => {
        await expectCode(store.listActive({ cursor: 'not a cursor \u0000' }), 'invalid_input');
      });

      it('rejects a non-positive or fractional limit', async () => {
        await expectCode(store.listActive({ limit: 0 }), 'invalid_input');
        await expectCode(store.listActive({ limit: 1.5 }), 'invalid_input');
      });

      it('cleanupExpired removes only expired sessions and returns the count', async () => {
        const live = [id('live'), id('live')];
        const dead = [id('dead'), id('dead'), id('dead')];
        for (const sid of live) await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        for (const sid of dead) await store.save(sid, { a: 1 }, { ttlMs: 1_000 });
        clock.advance(2_000);
        expect(await store.cleanupExpired()).toBe(3);
        expect(await store.cleanupExpired()).toBe(0);
        for (const sid of live) expect(await store.load(sid)).toEqual({ a: 1 });
        for (const sid of dead) await expectCode(store.load(sid), 'not_found');
      });
    });

    describe('update', () => {
      it('shallow-merges the partial into the state', async () => {
        const sid = id();
        await store.save(sid, { a: 1, b: { x: 1, y: 2 }, c: 'keep' }, { ttlMs: MINUTE });
        await store.update(sid, { a: 2, b: { x: 9 }, d: [1] });
        expect(await store.load(sid)).toEqual({ a: 2, b: { x: 9 }, c: 'keep', d: [1] });
      });

      it('keeps the expiry (an update is not a TTL change)', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 10_000 });
        clock.advance(6_000);
        await store.update(sid, { a: 2 });
        clock.advance(4_000);
        await expectCode(store.load(sid), 'expired');
      });

      it('rejects not_found and never creates a session', async () => {
        const sid = id();
        await expectCode(store.update(sid, { a: 1 }), 'not_found');
        await expectCode(store.load(sid), 'not_found');
      });

      it('rejects expired and does not revive the session', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 1_000 });
        clock.advance(1_000);
        await expectCode(store.update(sid, { a: 2 }), 'expired');
        await expectCode(store.load(sid), 'expired');
      });

      it('50 concurrent updates of distinct fields lose none', async () => {
        const sid = id();
        await store.save(sid, { base: true }, { ttlMs: MINUTE });
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.update(sid, { [`f${i}`]: i })));
        const state = await store.load(sid);
        for (let i = 0; i < 50; i++) expect(state[`f${i}`]).toBe(i);
        expect(state.base).toBe(true);
      });

      it('update racing delete never resurrects the session', async () => {
        for (let round = 0; round < 10; round++) {
          const sid = id('race');
          await store.save(sid, { a: 0 }, { ttlMs: MINUTE });
          const results = await Promise.allSettled([
            store.update(sid, { a: 1 }),
            store.delete(sid),
            store.update(sid, { b: 2 }),
          ]);
          for (const r of results) {
            if (r.status === 'rejected') expect(isSessionStoreError(r.reason, 'not_found')).toBe(true);
          }
          await expectCode(store.load(sid), 'not_found');
        }
      });
    });

    describe('updateTtl', () => {
      it('extends a session past its original expiry', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 10_000 });
        clock.advance(8_000);
        await store.updateTtl(sid, 10_000);
        clock.advance(9_000);
        expect(await store.load(sid)).toEqual({ a: 1 });
        clock.advance(1_000);
        await expectCode(store.load(sid), 'expired');
      });

      it('shortens a session', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        await store.updateTtl(sid, 1_000);
        clock.advance(1_000);
        await expectCode(store.load(sid), 'expired');
      });

      it('rejects not_found and never creates', async () => {
        const sid = id();
        await expectCode(store.updateTtl(sid, MINUTE), 'not_found');
        await expectCode(store.load(sid), 'not_found');
      });

      it('rejects expired: an expired session cannot be revived', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: 1_000 });
        clock.advance(1_500);
        await expectCode(store.updateTtl(sid, MINUTE), 'expired');
        await expectCode(store.load(sid), 'expired');
      });
    });

    describe('invalid input is refused and writes nothing', () => {
      const badIds: unknown[] = ['', 'x'.repeat(513), 'has space', 'tab\t', 'ünï', 'nul\u0000', 42, null, undefined];

      it('refuses malformed ids on every operation', async () => {
        for (const bad of badIds) {
          const b = bad as string;
          await expectCode(store.save(b, { a: 1 }, { ttlMs: MINUTE }), 'invalid_input');
          await expectCode(store.load(b), 'invalid_input');
          await expectCode(store.delete(b), 'invalid_input');
          await expectCode(store.update(b, { a: 1 }), 'invalid_input');
          await expectCode(store.updateTtl(b, MINUTE), 'invalid_input');
        }
      });

      it('accepts an id of exactly 512 visible ASCII characters', async () => {
        const sid = `${id('long')}-`.padEnd(512, '~');
        await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        expect(await store.load(sid)).toEqual({ a: 1 });
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
          const sid = id('bad');
          await expectCode(store.save(sid, state as SessionState, { ttlMs: MINUTE }), 'invalid_input');
          await expectCode(store.load(sid), 'not_found');
        }
      });

      it('refuses non-plain partials and leaves the state unchanged', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        for (const partial of [null, [1], new Date(), { a: undefined }, { a: () => 1 }, { a: 1n }]) {
          await expectCode(store.update(sid, partial as unknown as SessionState), 'invalid_input');
        }
        expect(await store.load(sid)).toEqual({ a: 1 });
      });

      it('refuses TTLs that are not positive finite numbers', async () => {
        const sid = id();
        await store.save(sid, { a: 1 }, { ttlMs: MINUTE });
        for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
          await expectCode(store.save(id('ttl'), { a: 1 }, { ttlMs: ttl }), 'invalid_input');
          await expectCode(store.updateTtl(sid, ttl), 'invalid_input');
        }
        clock.advance(MINUTE - 1);
        expect(await store.load(sid)).toEqual({ a: 1 });
      });
    });

    it('close() is idempotent', async () => {
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
    });

    describe('record level (compare-and-swap)', () => {
      const rec = (): RecordStore => {
        if (!isRecordStore(store)) throw new Error('store does not offer the record-level contract');
        return store;
      };
      const enabled = () => options.recordLevel ?? isRecordStore(store);
      const when = (title: string, fn: () => Promise<void>) =>
        it(title, async (ctx) => {
          if (!enabled()) ctx.skip();
          await fn();
        });
      const exp = () => clock.now() + MINUTE;

      when('loadRecord returns undefined for a missing id and the record with its version otherwise', async () => {
        const sid = id();
        expect(await rec().loadRecord(sid)).toBeUndefined();
        const version = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
        expect(typeof version).toBe('string');
        expect(await rec().loadRecord(sid)).toEqual({ value: { a: 1 }, version, expiresAt: exp() });
      });

      when('loadRecord still returns an expired record (expiry is the caller’s decision)', async () => {
        const sid = id();
        const expiresAt = clock.now() + 1_000;
        await rec().saveRecord(sid, { a: 1 }, { expiresAt });
        clock.advance(2_000);
        const r = await rec().loadRecord(sid);
        expect(r?.expiresAt).toBe(expiresAt);
      });

      when('ifAbsent writes only when no record exists (an expired one counts as existing)', async () => {
        const sid = id();
        await rec().saveRecord(sid, { a: 1 }, { expiresAt: clock.now() + 1_000, ifAbsent: true });
        await expectCode(rec().saveRecord(sid, { a: 2 }, { expiresAt: exp(), ifAbsent: true }), 'conflict');
        clock.advance(2_000);
        await expectCode(rec().saveRecord(sid, { a: 3 }, { expiresAt: exp(), ifAbsent: true }), 'conflict');
        expect((await rec().loadRecord(sid))?.value).toEqual({ a: 1 });
      });

      when('ifVersion writes only over that exact version', async () => {
        const sid = id();
        const v1 = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
        const v2 = await rec().saveRecord(sid, { a: 2 }, { expiresAt: exp(), ifVersion: v1 });
        expect(v2).not.toBe(v1);
        await expectCode(rec().saveRecord(sid, { a: 3 }, { expiresAt: exp(), ifVersion: v1 }), 'conflict');
        await expectCode(rec().saveRecord(id('absent'), { a: 3 }, { expiresAt: exp(), ifVersion: v1 }), 'conflict');
        expect(await rec().loadRecord(sid)).toEqual({ value: { a: 2 }, version: v2, expiresAt: exp() });
      });

      when('versions never repeat for an id', async () => {
        const sid = id();
        const versions = new Set<string>();
        for (let i = 0; i < 50; i++) versions.add(await rec().saveRecord(sid, { i }, { expiresAt: exp() }));
        expect(versions.size).toBe(50);
      });

      when('a delete + re-create never satisfies an old version (ABA)', async () => {
        const sid = id();
        const v1 = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
        expect(await rec().deleteRecord(sid)).toBe(true);
        await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
        await expectCode(rec().saveRecord(sid, { a: 2 }, { expiresAt: exp(), ifVersion: v1 }), 'conflict');
        await expectCode(rec().deleteRecord(sid, { ifVersion: v1 }), 'conflict');
        expect((await rec().loadRecord(sid))?.value).toEqual({ a: 1 });
      });

      when('deleteRecord reports whether it deleted and honours ifVersion', async () => {
        const sid = id();
        expect(await rec().deleteRecord(sid)).toBe(false);
        const v1 = await rec().saveRecord(sid, { a: 1 }, { expiresAt: exp() });
        const v2 = await rec().saveRecord(sid, { a: 2 }, { expiresAt: exp() });
        await expectCode(rec().deleteRecord(sid, { ifVersion: v1 }), 'conflict');
        expect(await rec().deleteRecord(sid, { ifVersion: v2 })).toBe(true);
        expect(await rec().loadRecord(sid)).toBeUndefined();
      });

      when('concurrent ifAbsent creates: exactly one wins', async () => {
        const sid = id();
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => rec().saveRecord(sid, { i }, { expiresAt: exp(), ifAbsent: true })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(isSessionStoreError(r.reason, 'conflict')).toBe(true);
      });

      when('concurrent writers on one version: exactly one wins', async () => {
        const sid = id();
        const v1 = await rec().saveRecord(sid, { a: 0 }, { expiresAt: exp() });
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => rec().saveRecord(sid, { a: i + 1 }, { expiresAt: exp(), ifVersion: v1 })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      });

      when('bytes round-trip exactly and are copied in and out', async () => {
        if (options.bytes === false) return;
        const sid = id();
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
        await expectCode(rec().saveRecord(id(), { a: 1 }, { expiresAt: Number.NaN }), 'invalid_input');
      });
    });
  });
}
