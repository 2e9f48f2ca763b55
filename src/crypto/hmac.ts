/**
 * HMAC-SHA256, synchronous (token issue must be synchronous for the MCP SDK's id generator).
 * node:crypto when present (about 10x faster than pure JS at token sizes), @noble/hashes otherwise.
 * Node key objects are cached per key buffer so the hot path does not re-import the key.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from './node.js';

const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function nodeKey(key: Uint8Array): KeyObject {
  let k = keyObjects.get(key);
  if (k === undefined) {
    k = nodeCrypto!.createSecretKey(key);
    keyObjects.set(key, k);
  }
  return k;
}

export type HmacEngine = 'node' | 'noble';

export function hmacSha256(key: Uint8Array, data: Uint8Array | string, engine: HmacEngine = nodeCrypto ? 'node' : 'noble'): Uint8Array {
  if (engine === 'node') {
    const h = nodeCrypto!.createHmac('sha256', nodeKey(key)).update(data).digest();
    return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
  }
  return hmac(sha256, key, typeof data === 'string' ? new TextEncoder().encode(data) : data);
}
