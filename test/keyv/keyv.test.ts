/**
 * The sealed Keyv adapter beyond Keyv's own suite: every key Keyv accepts, nothing readable in the
 * backend, the TTL enforced by the sealed deadline on the injected clock, hash-key rotation, and
 * records not written by the adapter refused loudly rather than read as a miss.
 */
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, type SessionStoreError, secureStore } from 'sealed-session-store';
import { sealedKeyv } from 'sealed-session-store/keyv';
import { createFakeClock } from 'sealed-session-store/testing';

const KEYS = ['plain', 'with spaces in it', 'ключ-日本語-🔑', '~tilde first', 'x'.repeat(2000), 'ns:looks:namespaced', '"quotes" \'and\' \\slashes'];

function setup() {
  const clock = createFakeClock(1_700_000_000_000);
  const backend = new MemoryStore({ now: clock.now });
  const keyring = Keyring.generate();
  const secure = secureStore(backend, { keyring, namespace: 'kv-test', now: clock.now });
  return { clock, backend, keyring, secure };
}

async function dump(backend: MemoryStore): Promise<string> {
  const page = await backend.listActive({ limit: 1000 });
  const parts: string[] = [...page.ids];
  for (const id of page.ids) {
    const rec = await backend.loadRecord(id);
    parts.push(Buffer.from(rec!.value as Uint8Array).toString('latin1'));
  }
  return parts.join('\n');
}

describe('sealedKeyv', () => {
  it('round-trips every key Keyv accepts, with and without a namespace', async () => {
    const { secure } = setup();
    for (const namespace of [undefined, 'app']) {
      const keyv = new Keyv({ store: sealedKeyv(secure), ...(namespace === undefined ? {} : { namespace }) });
      for (const [i, key] of KEYS.entries()) expect(await keyv.set(key, { i, key })).toBe(true);
      for (const [i, key] of KEYS.entries()) expect(await keyv.get(key)).toEqual({ i, key });
      expect(await keyv.delete(KEYS[0]!)).toBe(true);
      expect(await keyv.get(KEYS[0]!)).toBeUndefined();
    }
  });

  it('keeps keys and values out of the backend: ids are keyed hashes, records are ciphertext', async () => {
    const { secure, backend } = setup();
    const keyv = new Keyv({ store: sealedKeyv(secure), namespace: 'users' });
    await keyv.set('user:42:email', 'alice@example.org');
    const text = await dump(backend);
    expect(text).not.toContain('user:42');
    expect(text).not.toContain('alice@example.org');
    expect(text).not.toContain('users');
  });

  it('expires an entry by its sealed deadline on the injected clock', async () => {
    const { secure, clock } = setup();
    const store = sealedKeyv(secure);
    await store.set('k', 'v', 1000);
    expect(await store.get('k')).toBe('v');
    clock.advance(1001);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.has('k')).toBe(false);
  });

  it('entries survive a hash-key rotation, and a write moves them to the new id', async () => {
    const { secure, keyring, backend } = setup();
    const store = sealedKeyv(secure);
    await store.set('k', 'before');
    const idsBefore = (await backend.listActive()).ids;
    keyring.rotate('hash');
    expect(await store.get('k')).toBe('before');
    await store.set('k', 'after');
    const idsAfter = (await backend.listActive()).ids;
    expect(idsAfter).toHaveLength(1);
    expect(idsAfter).not.toEqual(idsBefore);
    expect(await store.get('k')).toBe('after');
  });

  it('a record under an entry id that another owner wrote is an error, never a silent miss or a value', async () => {
    const { secure, backend } = setup();
    const store = sealedKeyv(secure);
    await store.set('k', 'real');
    const [id] = (await backend.listActive()).ids;
    await backend.delete(id!);
    await secure.for({ subject: 'mallory' }).save(id!, { k: 'k', v: 'planted' });
    const errors: SessionStoreError[] = [];
    store.on('error', (e) => errors.push(e as SessionStoreError));
    await expect(store.get('k')).rejects.toMatchObject({ code: 'owner_mismatch' });
    expect(errors.map((e) => e.code)).toEqual(['owner_mismatch']);
  });

  it('clear() removes its namespace only and leaves other sessions of the store alone', async () => {
    const { secure } = setup();
    const a = new Keyv({ store: sealedKeyv(secure), namespace: 'a' });
    const b = new Keyv({ store: sealedKeyv(secure), namespace: 'b' });
    const session = await secure.for({ subject: 'alice' }).create({ hello: 'world' });
    await a.set('x', 1);
    await b.set('x', 2);
    await a.clear();
    expect(await a.get('x')).toBeUndefined();
    expect(await b.get('x')).toBe(2);
    expect(await secure.for({ subject: 'alice' }).load(session)).toEqual({ hello: 'world' });
  });

  it('refuses a default TTL beyond the store\'s absolute lifetime with invalid_input', () => {
    const { secure } = setup();
    expect(() => sealedKeyv(secure, { defaultTtlMs: secure.lifetimes.absoluteMs + 1 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => sealedKeyv(secure, { defaultTtlMs: 0 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });
});
