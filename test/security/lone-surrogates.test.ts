/**
 * Lone surrogates (ill-formed UTF-16) become U+FFFD when encoded as UTF-8, so before they were
 * refused two different strings hashed or bound alike: `revokeOwner('bob\uD800')` revoked
 * 'bob\uFFFD', and an envelope sealed under namespace 't-\uFFFD' opened under 't-\uD800'. Every
 * string that is hashed (subject, client id, fingerprint) or bound into an AAD (namespace) must be
 * well-formed, or the call is `invalid_input`.
 */
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { EncryptedStore } from 'sealed-session-store/kit';
import { createFakeClock, expectCode } from 'sealed-session-store/testing';

const LONE = ['\uD800', '\uDFFF', 'x\uDC00y', '\uDBFF'];

function setup() {
  const clock = createFakeClock(Date.UTC(2030, 0, 1));
  const backend = new MemoryStore({ now: clock.now });
  const keyring = Keyring.generate({ now: clock.now });
  const store = secureStore(backend, { keyring, now: clock.now, revocationCacheMs: 0 });
  return { clock, backend, keyring, store };
}

describe('ill-formed UTF-16 is refused where strings are hashed or bound', () => {
  it('revoking a subject with a lone surrogate does not revoke its U+FFFD twin', async () => {
    const { clock, store } = setup();
    const bob = { subject: 'bob\uFFFD' };
    const id = await store.for(bob).create({ a: 1 });
    clock.advance(1);
    await expectCode(store.revokeOwner('bob\uD800'), 'invalid_input');
    expect(await store.for(bob).load(id)).toEqual({ a: 1 });
  });

  for (const lone of LONE) {
    it(`owner fields holding ${JSON.stringify(lone)} are invalid_input, and nothing is written`, async () => {
      const { backend, store } = setup();
      for (const owner of [{ subject: `bob${lone}` }, { subject: 'bob', clientId: `c${lone}` }, { subject: 'bob', fingerprint: `f${lone}` }]) {
        await expectCode(Promise.resolve().then(() => store.for(owner).create({ a: 1 })), 'invalid_input');
        await expectCode(Promise.resolve().then(() => store.for(owner).load('some-id')), 'invalid_input');
      }
      await expectCode(store.revokeOwner(`bob${lone}`), 'invalid_input');
      expect((await backend.listActive({ limit: 100 })).ids).toEqual([]);
    });
  }

  it('a token cannot be verified for an owner with a lone surrogate', async () => {
    const { store } = setup();
    const bob = { subject: 'bob\uFFFD' };
    const id = await store.for(bob).create({ a: 1 });
    const token = store.issueToken(id, bob);
    expect(() => store.verifyToken(token, { subject: 'bob\uD800' })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => store.issueToken(id, { subject: 'bob\uD800' })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('a namespace with a lone surrogate is refused, so no two namespaces share an AAD', async () => {
    const clock = createFakeClock();
    const backend = new MemoryStore({ now: clock.now });
    const keyring = Keyring.generate({ now: clock.now });
    const good = new EncryptedStore(backend, { keyring, namespace: 't-\uFFFD', now: clock.now });
    await good.save('s1', { a: 1 });
    for (const lone of LONE) {
      expect(() => new EncryptedStore(backend, { keyring, namespace: `t-${lone}`, now: clock.now })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
      expect(() => secureStore(backend, { keyring, namespace: `t-${lone}`, now: clock.now })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
    }
    // Well-formed astral characters (a surrogate pair) stay accepted.
    const astral = new EncryptedStore(backend, { keyring, namespace: 't-\u{1F600}', now: clock.now });
    await expectCode(astral.load('s1'), 'integrity');
    expect(await good.load('s1')).toEqual({ a: 1 });
  });
});
