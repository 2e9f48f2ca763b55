import { importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { Keyring } from 'sealed-session-store';
import { isSessionStoreError } from '../../src/contract/errors.js';

function clock(start = 1_700_000_000_000) {
  let t = start;
  const now = () => t;
  return { now, advance: (ms: number) => (t += ms) };
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return isSessionStoreError(err) ? err.code : `other: ${String(err)}`;
  }
  return undefined;
};

describe('Keyring', () => {
  it('generate() makes one 256-bit primary per purpose', () => {
    const ring = Keyring.generate();
    for (const purpose of ['encrypt', 'sign', 'hash'] as const) {
      const p = ring.primary(purpose);
      expect(p.key.length).toBe(32);
      expect(ring.get(p.kid)).toMatchObject({ purpose, status: 'primary' });
      expect(ring.keyFor(purpose, p.kid)).toBe(p.key);
      expect(ring.primary(purpose)).toBe(p); // hot path hands out the same object: no allocation
    }
    expect(ring.list()).toHaveLength(3);
    expect(new Set(ring.list().map((k) => k.kid)).size).toBe(3);
  });

  it('rotate: new primary, old stays active and keeps decrypting; keysFor lists primary first', () => {
    const c = clock();
    const ring = Keyring.generate({ now: c.now });
    const old = ring.primary('encrypt');
    c.advance(1000);
    const fresh = ring.rotate('encrypt');
    expect(fresh.status).toBe('primary');
    expect(ring.primary('encrypt').kid).toBe(fresh.kid);
    expect(ring.get(old.kid)).toMatchObject({ status: 'active', demotedAt: c.now() });
    expect(ring.keyFor('encrypt', old.kid)).toBe(old.key);
    expect(ring.keysFor('encrypt').map((k) => k.kid)).toEqual([fresh.kid, old.kid]);
    // other purposes untouched
    expect(ring.keysFor('sign')).toHaveLength(1);
  });

  it('rotate({ activate: false }) adds an active key; promote switches; the fleet sequence', () => {
    const ring = Keyring.generate();
    const old = ring.primary('sign').kid;
    const added = ring.rotate('sign', { activate: false });
    expect(added.status).toBe('active');
    expect(ring.primary('sign').kid).toBe(old);
    ring.promote(added.kid);
    expect(ring.primary('sign').kid).toBe(added.kid);
    expect(ring.get(old)?.status).toBe('active');
    expect(ring.get(added.kid)?.demotedAt).toBeUndefined();
  });

  it('keyFor refuses absent, retired, destroyed and wrong-purpose kids with unknown_key', () => {
    const ring = Keyring.generate();
    const enc = ring.primary('encrypt').kid;
    const hash = ring.primary('hash').kid;
    expect(code(() => ring.keyFor('encrypt', 'nope'))).toBe('unknown_key');
    expect(code(() => ring.keyFor('encrypt', hash))).toBe('unknown_key'); // kid confusion
    ring.rotate('encrypt');
    ring.retire(enc);
    expect(code(() => ring.keyFor('encrypt', enc))).toBe('unknown_key');
    expect(ring.keysFor('encrypt').map((k) => k.kid)).not.toContain(enc);
    ring.destroy(enc);
    expect(code(() => ring.keyFor('encrypt', enc))).toBe('unknown_key');
    expect(ring.get(enc)?.status).toBe('destroyed');
  });

  it('Tink invariants: primary cannot be retired or destroyed; destroy needs retire first; key_state', () => {
    const ring = Keyring.generate();
    const p = ring.primary('encrypt').kid;
    expect(code(() => ring.retire(p))).toBe('key_state');
    expect(code(() => ring.retire(p, { force: true }))).toBe('key_state');
    expect(code(() => ring.destroy(p))).toBe('key_state');
    ring.rotate('encrypt');
    expect(code(() => ring.destroy(p))).toBe('key_state'); // active: retire first
    ring.retire(p);
    expect(code(() => ring.promote(p))).toBe('key_state'); // retired: reactivate first
    ring.reactivate(p);
    expect(ring.get(p)?.status).toBe('active');
    ring.retire(p);
    ring.destroy(p);
    expect(code(() => ring.reactivate(p))).toBe('key_state');
    expect(code(() => ring.promote(p))).toBe('key_state');
    expect(code(() => ring.retire(p))).toBe('key_state');
    expect(code(() => ring.promote('missing'))).toBe('unknown_key');
  });

  it('destroy erases the material in memory and in every export', () => {
    const ring = Keyring.generate();
    const { kid, key } = ring.primary('hash');
    ring.rotate('hash');
    ring.retire(kid, { force: true });
    ring.destroy(kid);
    expect(key.every((b) => b === 0)).toBe(true);
    const jwk = ring.insecureExportCleartextJwks().keys.find((k) => k.kid === kid);
    expect(jwk).toMatchObject({ status: 'destroyed' });
    expect(jwk && 'k' in jwk).toBe(false);
  });

  it('sign/hash keys retire only after demotedAt + maxSessionLifetimeMs unless forced', () => {
    const c = clock();
    const ring = Keyring.generate({ now: c.now, maxSessionLifetimeMs: 60_000 });
    for (const purpose of ['sign', 'hash'] as const) {
      const old = ring.primary(purpose).kid;
      ring.rotate(purpose);
      expect(code(() => ring.retire(old))).toBe('key_state');
      c.advance(59_999);
      expect(code(() => ring.retire(old))).toBe('key_state');
      c.advance(1);
      ring.retire(old);
      expect(ring.get(old)?.status).toBe('retired');
      const again = ring.primary(purpose).kid;
      ring.rotate(purpose);
      ring.retire(again, { force: true });
      expect(ring.get(again)?.status).toBe('retired');
    }
    // a key added as active and never primary has signed nothing: no wait
    const added = ring.rotate('sign', { activate: false });
    ring.retire(added.kid);
    // encrypt keys have no lifetime rule in the keyring (the store counts their sessions)
    const enc = ring.primary('encrypt').kid;
    ring.rotate('encrypt');
    ring.retire(enc);
  });

  it('onChange fires after every mutation and can be unsubscribed', () => {
    const ring = Keyring.generate();
    let n = 0;
    const off = ring.onChange(() => n++);
    const k = ring.rotate('encrypt', { activate: false });
    ring.promote(k.kid);
    off();
    ring.rotate('encrypt');
    expect(n).toBe(2);
  });

  it('cleartext JWK Set round trip, readable by jose importJWK', async () => {
    const ring = Keyring.generate();
    ring.rotate('encrypt');
    const jwks = ring.insecureExportCleartextJwks();
    const again = Keyring.insecureFromCleartextJwks(JSON.parse(JSON.stringify(jwks)));
    expect(again.list()).toEqual(ring.list());
    for (const purpose of ['encrypt', 'sign', 'hash'] as const) expect(again.primary(purpose).key).toEqual(ring.primary(purpose).key);
    for (const jwk of jwks.keys) {
      expect(jwk.kty).toBe('oct');
      const imported = await importJWK(jwk as unknown as Parameters<typeof importJWK>[0]);
      expect(imported).toEqual(again.keyFor(jwk.purpose, jwk.kid));
    }
  });

  it('refuses malformed keysets with key_state', () => {
    const good = Keyring.generate().insecureExportCleartextJwks();
    const variants: Array<(j: any) => void> = [
      (j) => (j.keys[0].kty = 'RSA'),
      (j) => (j.keys[0].kid = 'has space'),
      (j) => (j.keys[1].kid = j.keys[0].kid),
      (j) => (j.keys[0].purpose = 'everything'),
      (j) => (j.keys[0].status = 'enabled'),
      (j) => (j.keys[0].k = j.keys[0].k.slice(0, 20)), // 120-bit key
      (j) => (j.keys[0].k = `${j.keys[0].k}=`), // non-canonical base64url
      (j) => (j.keys[0].createdAt = 'yesterday'),
      (j) => (j.keys[0].status = 'active'), // no primary for that purpose
      (j) => j.keys.push({ ...j.keys[0], kid: 'second-primary' }),
      (j) => (j.keys[0].status = 'destroyed'), // destroyed but still carries k
      (j) => (j.keys[0].alg = 'none'),
      (j) => (j.keys = 'nope'),
    ];
    for (const change of variants) {
      const j = JSON.parse(JSON.stringify(good));
      change(j);
      expect(code(() => Keyring.insecureFromCleartextJwks(j))).toBe('key_state');
    }
    expect(code(() => Keyring.insecureFromCleartextJwks(null))).toBe('key_state');
  });
});
