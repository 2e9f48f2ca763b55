/**
 * The passphrase-wrapped keyset file, decoded and encoded by hand from SECURITY.md ("Keyset files")
 * with node:crypto only (keyset-spec-impl.ts), against the library both ways, and a golden file
 * that pins the format (keyset-v1.insecure-test.json, from generate-keyset.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring, passphraseProvider } from 'sealed-session-store';
import { GOLDEN_KEYSET_PASSPHRASE, goldenJwks } from './keyset-inputs.js';
import { specUnwrapKeyset, specWrapKeyset } from './keyset-spec-impl.js';

const golden = readFileSync(new URL('./keyset-v1.insecure-test.json', import.meta.url), 'utf8');
// The minimum cost a provider accepts without an explicit low-cost opt-in: keeps the test fast and honest.
const provider = (passphrase = GOLDEN_KEYSET_PASSPHRASE) => passphraseProvider(passphrase, { logN: 15 });
const byKid = (jwks: { keys: Array<{ kid: string }> }) => new Map(jwks.keys.map((k) => [k.kid, k]));

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sss-keyset-vec-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('keyset file v1 (passphrase-scrypt), by hand', () => {
  it('the golden file decodes by hand to its JWK Set, and the library opens it to the same keys', async () => {
    expect(JSON.parse(specUnwrapKeyset(golden, GOLDEN_KEYSET_PASSPHRASE))).toEqual(goldenJwks);
    const ring = await Keyring.fromWrapped(JSON.parse(golden), provider());
    expect(byKid(ring.insecureExportCleartextJwks())).toEqual(byKid(goldenJwks));
    expect(Buffer.from(ring.primary('encrypt').key).toString('hex')).toBe('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  });

  it('a file the library writes decodes by hand', async () => {
    const path = join(tmp(), 'sessions.keyset.json');
    const ring = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    await ring.transaction((m) => m.rotate('encrypt'));
    const text = readFileSync(path, 'utf8');
    const doc = JSON.parse(text) as { wrapped: { salt: string; nonce: string; ciphertext: string } };
    // The encodings SECURITY.md names: 16-byte salt, 12-byte nonce, ciphertext = plaintext + 16-byte tag.
    expect(Buffer.from(doc.wrapped.salt, 'base64url')).toHaveLength(16);
    expect(Buffer.from(doc.wrapped.nonce, 'base64url')).toHaveLength(12);
    const plain = specUnwrapKeyset(text, GOLDEN_KEYSET_PASSPHRASE);
    expect(Buffer.from(doc.wrapped.ciphertext, 'base64url')).toHaveLength(Buffer.byteLength(plain, 'utf8') + 16);
    expect(JSON.parse(plain)).toEqual(ring.insecureExportCleartextJwks());
  });

  it('a file written by hand opens in the library', async () => {
    const path = join(tmp(), 'hand.keyset.json');
    const jwks = Keyring.generate().insecureExportCleartextJwks();
    writeFileSync(path, specWrapKeyset(JSON.stringify(jwks), GOLDEN_KEYSET_PASSPHRASE, { logN: 15, r: 8, p: 1, salt: randomBytes(16), nonce: randomBytes(12) }), { mode: 0o600 });
    const ring = await Keyring.fromFile(path, { provider: provider() });
    expect(byKid(ring.insecureExportCleartextJwks())).toEqual(byKid(jwks));
  });

  it('the passphrase is its UTF-8 bytes, not normalized: another spelling of the same text does not open', async () => {
    const nfd = GOLDEN_KEYSET_PASSPHRASE.normalize('NFD');
    expect(nfd).not.toBe(GOLDEN_KEYSET_PASSPHRASE);
    expect(() => specUnwrapKeyset(golden, nfd)).toThrow();
    await expect(Keyring.fromWrapped(JSON.parse(golden), provider(nfd))).rejects.toMatchObject({ code: 'integrity' });
  });
});
