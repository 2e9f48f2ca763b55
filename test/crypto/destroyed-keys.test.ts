/**
 * "destroyed: material zeroed in memory" (SECURITY.md, "Lifecycle"): destroying a key must also
 * erase what the crypto caches built from it - the derived subkeys (zeroed, so a sealer still
 * holding one holds zeros), the node:crypto key object (dropped), and the token verifier's
 * remembered tokens and owner hashes (emptied).
 */
import { unsafeTokenCachesOf } from '../../src/tokens/token.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { deriveAlgorithmKey, deriveSubkey } from '../../src/crypto/aead/index.js';
import { nodeCrypto, nodeKeyObject } from '../../src/crypto/node.js';
import { MCP_REQUEST_STATE_LABEL, labelled } from '../../src/crypto/labels.js';

const zero = (b: Uint8Array) => b.length > 0 && b.every((x) => x === 0);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('destroying a key erases the caches built from it', () => {
  it('zeroes the key and its derived subkeys (the sealer\'s too) and drops its node key object', async () => {
    const keyring = Keyring.generate();
    const store = secureStore(new MemoryStore(), { keyring, encryption: { algorithm: 'xchacha20-poly1305' } });
    const alice = store.for({ subject: 'alice' });
    const id = await alice.create({ n: 1 }); // the sealer now holds the old key's xchacha subkey
    const old = keyring.primary('encrypt');
    const bytes = old.key;
    const sub = deriveAlgorithmKey(bytes, 'xchacha20-poly1305'); // the very array the sealer caches
    const purposeSub = deriveSubkey(bytes, labelled(MCP_REQUEST_STATE_LABEL, 'requestState'));
    const keyObject = nodeCrypto === undefined ? undefined : nodeKeyObject(bytes);
    expect(zero(sub)).toBe(false);

    await store.rotateKey('encrypt');
    await store.rekey();
    await store.retireKey(old.kid);
    keyring.destroy(old.kid);

    expect(zero(bytes)).toBe(true);
    expect(zero(sub)).toBe(true);
    expect(zero(purposeSub)).toBe(true);
    // A fresh derivation is computed again (from the zeroed bytes), not served from the old cache.
    expect(deriveAlgorithmKey(bytes, 'xchacha20-poly1305')).not.toBe(sub);
    if (keyObject !== undefined) expect(nodeKeyObject(bytes)).not.toBe(keyObject);
    // The store goes on under the new key.
    expect(await alice.load(id)).toEqual({ n: 1 });
  });

  it('empties the token verifier\'s remembered tokens and owner hashes', () => {
    const keyring = Keyring.generate();
    const store = secureStore(new MemoryStore(), { keyring });
    const alice = { subject: 'alice' };
    const signOld = keyring.primary('sign');
    const hashOld = keyring.primary('hash');
    const token = store.issueToken('session-1', alice);
    store.verifyToken(token, alice);
    const verified = unsafeTokenCachesOf(store.tokens).verified;
    expect(verified.get(token)?.key).toBe(signOld.key);
    expect(unsafeTokenCachesOf(store.tokens).ownerHashes.get(hashOld.key)).toBeDefined();

    keyring.rotate('sign');
    keyring.rotate('hash');
    keyring.retire(signOld.kid, { force: true });
    keyring.retire(hashOld.kid, { force: true });
    keyring.destroy(signOld.kid);
    keyring.destroy(hashOld.kid);
    store.verifyToken(store.issueToken('session-2', alice), alice);

    expect(unsafeTokenCachesOf(store.tokens).verified.has(token)).toBe(false);
    expect(unsafeTokenCachesOf(store.tokens).ownerHashes.get(hashOld.key)).toBeUndefined();
    expect(zero(signOld.key) && zero(hashOld.key)).toBe(true);
  });

  it('wipes the live keyring\'s bytes when a transaction on its keyset file destroys a key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sss-destroy-'));
    dirs.push(dir);
    const ring = await Keyring.fromFile(join(dir, 'insecure-test.keyset.json'), { insecureCleartext: true, createIfMissing: true });
    const old = ring.primary('encrypt');
    const sub = deriveAlgorithmKey(old.key, 'aes-256-gcm-siv');
    await ring.transaction((m) => {
      m.rotate('encrypt');
      m.retire(old.kid);
      m.destroy(old.kid);
    });
    expect(ring.get(old.kid)?.status).toBe('destroyed');
    expect(zero(old.key)).toBe(true);
    expect(zero(sub)).toBe(true);
  });
});
