/**
 * `keyvBackend` specifics beyond the compliance suite (test/compliance/keyv.test.ts): what it
 * refuses, what it does without an iterator, the lock shared by backends over one Keyv, store
 * failures as typed errors, and the Keyv TTL it writes.
 */
import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import { Keyring, isSessionStoreError, secureStore } from 'sealed-session-store';
import { KeyvListingUnsupportedError, keyvBackend } from 'sealed-session-store/keyv';

const owner = { subject: 'alice' };
const HOUR = 3_600_000;

/** A Keyv storage adapter without `iterator` (like a store that cannot be listed). */
class PlainStore {
  readonly map = new Map<string, unknown>();
  failing = false;
  opts = {};
  async get(key: string) {
    if (this.failing) throw new Error('store down');
    return this.map.get(key);
  }
  async set(key: string, value: unknown) {
    if (this.failing) throw new Error('store down');
    this.map.set(key, value);
    return true;
  }
  async delete(key: string) {
    if (this.failing) throw new Error('store down');
    return this.map.delete(key);
  }
  async clear() {
    this.map.clear();
  }
  on() {
    return this;
  }
}

describe('keyvBackend', () => {
  it('refuses a Keyv that swallows store errors, and anything that is not a Keyv', () => {
    expect(() => keyvBackend(new Keyv({ store: new Map() }))).toThrow(expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(/throwOnErrors: true/) }));
    expect(() => keyvBackend({} as never)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => keyvBackend(new Keyv({ store: new Map(), throwOnErrors: true }), { prefix: 'bad prefix' })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('without an iterator, sessions work and listing is refused with a typed error', async () => {
    const keyv = new Keyv({ store: new PlainStore(), throwOnErrors: true });
    expect(keyv.iterator).toBeUndefined();
    const store = secureStore(keyvBackend(keyv), { keyring: Keyring.generate() });
    const id = await store.for(owner).create({ a: 1 });
    expect(await store.for(owner).load(id)).toEqual({ a: 1 });
    const err = await store.listActive().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyvListingUnsupportedError);
    expect(isSessionStoreError(err, 'invalid_input')).toBe(true);
    await store.close();
  });

  it('two backends over the same Keyv share one lock: concurrent creates of one id, exactly one wins', async () => {
    const keyv = new Keyv({ store: new Map(), throwOnErrors: true });
    const a = keyvBackend(keyv);
    const b = keyvBackend(keyv);
    const expiresAt = Date.now() + HOUR;
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).saveRecord('same-id', { i }, { expiresAt, ifAbsent: true })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => isSessionStoreError((r as PromiseRejectedResult).reason, 'conflict'))).toBe(true);
  });

  it('a store failure is backend_unavailable, never a missing session or a write made', async () => {
    const plain = new PlainStore();
    const backend = keyvBackend(new Keyv({ store: plain, throwOnErrors: true }));
    await backend.saveRecord('s1', { a: 1 }, { expiresAt: Date.now() + HOUR });
    plain.failing = true;
    await expect(backend.loadRecord('s1')).rejects.toMatchObject({ code: 'backend_unavailable' });
    await expect(backend.saveRecord('s2', { a: 1 }, { expiresAt: Date.now() + HOUR })).rejects.toMatchObject({ code: 'backend_unavailable' });
  });

  it('writes a Keyv TTL of expiry + grace, and lists only its own records under its prefix', async () => {
    let now = 1_000_000;
    const keyv = new Keyv({ store: new Map(), throwOnErrors: true });
    const backend = keyvBackend(keyv, { now: () => now, graceMs: 60_000, prefix: 'app.' });
    await backend.saveRecord('s1', { a: 1 }, { expiresAt: now + 5_000 });
    const raw = (await keyv.get('app.s1', { raw: true })) as { expires: number };
    expect(raw.expires - Date.now()).toBeGreaterThan(60_000);
    expect(raw.expires - Date.now()).toBeLessThanOrEqual(65_000);
    await keyv.set('app.foreign', 'not a record');
    await keyv.set('other', JSON.stringify({ v: 'x', e: now + 5_000, j: {} }));
    expect((await backend.listActive()).ids).toEqual(['s1']);
    now += 5_000; // expired, still there for the grace window: expired, not not_found
    expect(await backend.loadRecord('s1')).toMatchObject({ expiresAt: 1_005_000 });
    expect(await backend.cleanupExpired()).toBe(1);
    expect(await backend.loadRecord('s1')).toBeUndefined();
    expect(await keyv.get('app.foreign')).toBe('not a record');
  });
});
