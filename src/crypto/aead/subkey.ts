/**
 * Per-algorithm key separation. One `encrypt` key may serve several algorithms over its life
 * (a store switching from AES-256-GCM to XChaCha20-Poly1305, say). Using the same raw key in two
 * block-cipher modes risks cross-mode interactions (GCM counter blocks vs GCM-SIV's key-derivation
 * blocks are both AES_K of attacker-influenced inputs), so every algorithm other than AES-256-GCM
 * gets its own subkey: HKDF-SHA256(ikm = key, salt = empty, info = "sealed-session-store/v1/" + name).
 * AES-256-GCM uses the key as is, which keeps the default format decryptable from SECURITY.md alone.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { AeadAlgorithm } from './types.js';

const cache = new Map<AeadAlgorithm, WeakMap<Uint8Array, Uint8Array>>();
const encoder = new TextEncoder();

export function deriveAlgorithmKey(key: Uint8Array, algorithm: AeadAlgorithm): Uint8Array {
  if (algorithm === 'aes-256-gcm') return key;
  let perAlg = cache.get(algorithm);
  if (perAlg === undefined) {
    perAlg = new WeakMap();
    cache.set(algorithm, perAlg);
  }
  let sub = perAlg.get(key);
  if (sub === undefined) {
    sub = hkdf(sha256, key, undefined, encoder.encode(`sealed-session-store/v1/${algorithm}`), 32);
    perAlg.set(key, sub);
  }
  return sub;
}
