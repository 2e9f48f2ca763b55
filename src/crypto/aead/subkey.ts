/**
 * Key separation. One `encrypt` key may serve several algorithms over its life (a store switching
 * from AES-256-GCM to XChaCha20-Poly1305, say). Using the same raw key in two block-cipher modes
 * risks cross-mode interactions (GCM counter blocks vs GCM-SIV's key-derivation blocks are both
 * AES_K of attacker-influenced inputs), so every algorithm other than AES-256-GCM gets its own
 * subkey: HKDF-SHA256(ikm = key, salt = empty, info = "sealed-session-store/v1/" + name).
 * AES-256-GCM uses the key as is, which keeps the default format decryptable from SECURITY.md alone.
 * Formats other than the envelope (MCP request-state handles) seal under a purpose subkey:
 * HKDF-SHA256(ikm = key, salt = empty, info = their label), so they never share a key with sessions.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8Encode } from '../../util/bytes.js';
import { ALGORITHM_SUBKEY_LABEL } from '../labels.js';
import type { AeadAlgorithm } from './types.js';

/** Subkeys per raw key object, then per HKDF info: dropped with the raw key. */
const cache = new WeakMap<Uint8Array, Map<string, Uint8Array>>();

/** HKDF-SHA256(ikm = key, salt = empty, info), 32 bytes; cached per key object and info. */
export function deriveSubkey(key: Uint8Array, info: string): Uint8Array {
  let perKey = cache.get(key);
  if (perKey === undefined) {
    perKey = new Map();
    cache.set(key, perKey);
  }
  let sub = perKey.get(info);
  if (sub === undefined) {
    sub = hkdf(sha256, key, undefined, utf8Encode(info), 32);
    perKey.set(info, sub);
  }
  return sub;
}

/**
 * Zeroes and drops every subkey derived from `key` (a destroyed key: crypto/forget.ts). Zeroed in
 * place, so a holder of one of these arrays (a sealer's cached primary context) keeps zeros only.
 */
export function wipeSubkeys(key: Uint8Array): void {
  const perKey = cache.get(key);
  if (perKey === undefined) return;
  for (const sub of perKey.values()) sub.fill(0);
  cache.delete(key);
}

export function deriveAlgorithmKey(key: Uint8Array, algorithm: AeadAlgorithm): Uint8Array {
  return algorithm === 'aes-256-gcm' ? key : deriveSubkey(key, ALGORITHM_SUBKEY_LABEL + algorithm);
}
