/**
 * Fuzz: hostile keysets. Arbitrary values and mutated JWK Sets handed to
 * `Keyring.insecureFromCleartextJwks`, arbitrary text and mutated documents in a keyset file read by
 * `Keyring.fromFile` (cleartext and passphrase-wrapped) and in an environment variable read by
 * `Keyring.fromEnv`: each either yields a keyring that keeps its invariants (one primary per
 * purpose, usable keys of the right length) or fails `key_state` / `integrity`, never anything
 * untyped, never a half-loaded keyring.
 *
 * Not covered here on purpose: a wrapped file whose scrypt parameters are raised to the provider's
 * upper bounds (logN 22, r 32, p 16) is refused only after the derivation, which takes minutes;
 * mutations below keep logN small. See the reliability notes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Keyring } from 'sealed-session-store';
import { afterAll, describe, expect, it } from 'vitest';
import { passphraseProvider } from 'sealed-session-store';
import { runs, typed } from './typed.js';

const KEYSET_CODES = ['key_state', 'integrity', 'unknown_key'] as const;
const dir = mkdtempSync(join(tmpdir(), 'sss-fuzz-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const valid = Keyring.generate().insecureExportCleartextJwks();
const PURPOSES = ['encrypt', 'sign', 'hash'] as const;

function assertInvariants(ring: Keyring): void {
  for (const purpose of PURPOSES) {
    const keys = ring.list().filter((k) => k.purpose === purpose);
    if (keys.length === 0) continue;
    expect(keys.filter((k) => k.status === 'primary')).toHaveLength(1);
    const primary = ring.primary(purpose);
    if (purpose === 'encrypt') expect(primary.key.length).toBe(32);
    else expect(primary.key.length).toBeGreaterThanOrEqual(16);
  }
}

/** A valid JWK Set with one field of one key (or of the set) replaced by an arbitrary value. */
const mutatedJwks = fc
  .record({
    key: fc.nat(valid.keys.length - 1),
    field: fc.constantFrom('kty', 'kid', 'k', 'alg', 'use', 'purpose', 'status', 'createdAt', 'demotedAt', 'extra', '__proto__'),
    value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('primary', 'active', 'retired', 'destroyed', 'encrypt', 'sign', 'hash', 'oct', 'A256GCM', 'HS256', valid.keys[0]!.kid, valid.keys[0]!.k!, 'AAAA', '')),
    drop: fc.boolean(),
    duplicate: fc.boolean(),
  })
  .map(({ key, field, value, drop, duplicate }) => {
    const doc = JSON.parse(JSON.stringify(valid)) as { keys: Array<Record<string, unknown>> };
    const target = doc.keys[key]!;
    if (drop) delete target[field];
    else Object.defineProperty(target, field, { value, enumerable: true, writable: true, configurable: true });
    if (duplicate) doc.keys.push({ ...doc.keys[key]! });
    return doc as unknown;
  });

describe('hostile keysets', () => {
  it('insecureFromCleartextJwks: any value or mutated set yields a sound keyring or key_state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 4 }), mutatedJwks, fc.record({ keys: fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 4 }) })), async (jwks) => {
        const r = await typed('insecureFromCleartextJwks', () => Keyring.insecureFromCleartextJwks(jwks), KEYSET_CODES);
        if (r.ok) assertInvariants(r.value);
      }),
      { numRuns: runs(1_000) },
    );
  });

  it('a cleartext keyset file or env var of arbitrary text: a sound keyring or a typed error', { timeout: 60_000 }, async () => {
    let i = 0;
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      mutatedJwks.map((v) => JSON.stringify(v)),
      mutatedJwks.map((v) => JSON.stringify(v).slice(0, 40)),
      fc.constantFrom('', '\u0000', '{', '[]', 'null', '{"keys":null}', '{"format":"sealed-session-store.keyset","version":1}'),
    );
    await fc.assert(
      fc.asyncProperty(text, async (content) => {
        const file = join(dir, `clear-${i++}.json`);
        writeFileSync(file, content);
        const r = await typed('fromFile', () => Keyring.fromFile(file, { insecureCleartext: true }), KEYSET_CODES);
        if (r.ok) assertInvariants(r.value);
        // Without the explicit opt-in a cleartext file never loads.
        const strict = await typed('fromFile (wrapped expected)', () => Keyring.fromFile(file, { provider: passphraseProvider('a passphrase', { logN: 10, unsafeLowCost: true }) }), KEYSET_CODES);
        expect(strict.ok).toBe(false);
        const name = `SSS_TEST_FUZZ_KEYSET_${i}`;
        if (!content.includes('\u0000')) {
          process.env[name] = content;
          try {
            const env = await typed('fromEnv', () => Keyring.fromEnv(name, { insecureCleartext: true }), KEYSET_CODES);
            if (env.ok) assertInvariants(env.value);
          } finally {
            delete process.env[name];
          }
        }
      }),
      { numRuns: runs(200) },
    );
  });

  it('a passphrase-wrapped keyset file with any field mutated: integrity or key_state, never a keyring', { timeout: 120_000 }, async () => {
    const provider = passphraseProvider('the right passphrase', { logN: 10, unsafeLowCost: true });
    const source = join(dir, 'wrapped-source.json');
    await Keyring.fromFile(source, { provider, createIfMissing: true });
    const doc = JSON.parse(readFileSync(source, 'utf8')) as Record<string, unknown> & { wrapped: Record<string, unknown> };
    const wrappedFields = Object.keys(doc.wrapped);
    const b64 = fc.uint8Array({ minLength: 0, maxLength: 48 }).map((b) => Buffer.from(b).toString('base64url'));
    const mutation = fc.oneof(
      fc.record({
        where: fc.constant('wrapped' as const),
        field: fc.constantFrom(...wrappedFields, 'extra'),
        // Cheap scrypt parameters only (see the header): the point is the parsing, not the KDF cost.
        value: fc.oneof(fc.jsonValue({ maxDepth: 1 }), b64, fc.integer({ min: -2, max: 13 }), fc.constantFrom('scrypt', 'aes-256-gcm', 'pbkdf2')),
      }),
      fc.record({ where: fc.constant('doc' as const), field: fc.constantFrom('format', 'version', 'provider', 'wrapped', 'keys'), value: fc.jsonValue({ maxDepth: 2 }) }),
      fc.record({ where: fc.constant('flip' as const), field: fc.constantFrom('ciphertext', 'nonce', 'salt'), value: fc.nat(400) }),
    );
    let i = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const copy = JSON.parse(JSON.stringify(doc)) as typeof doc;
        if (m.where === 'doc') (copy as Record<string, unknown>)[m.field] = m.value;
        else if (m.where === 'wrapped') copy.wrapped[m.field] = m.value;
        else {
          const s = String(copy.wrapped[m.field]);
          const at = (m.value as number) % Math.max(1, s.length);
          copy.wrapped[m.field] = s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
        }
        if (JSON.stringify(copy) === JSON.stringify(doc)) return;
        const file = join(dir, `wrapped-${i++}.json`);
        writeFileSync(file, JSON.stringify(copy));
        const r = await typed('fromFile (wrapped)', () => Keyring.fromFile(file, { provider }), KEYSET_CODES);
        // Parameters, salt, nonce and ciphertext are all authenticated: no change may still open,
        // except one the format ignores (an extra member of the document or of the blob).
        if (r.ok) {
          expect((m.where === 'doc' && m.field === 'keys') || (m.where === 'wrapped' && m.field === 'extra')).toBe(true);
          assertInvariants(r.value);
        }
      }),
      { numRuns: runs(150) },
    );
  });
});
