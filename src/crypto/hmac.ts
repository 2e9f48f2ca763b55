/**
 * HMAC-SHA256, synchronous (token issue must be synchronous for the MCP SDK's id generator).
 * node:crypto when present (OpenSSL), @noble/hashes otherwise; both give the same bytes.
 * Node key objects are cached per key buffer so the hot path does not re-import the key.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { nodeCrypto, nodeKeyObject } from './node.js';

export type HmacEngine = 'node' | 'noble';

export function hmacSha256(key: Uint8Array, data: Uint8Array | string, engine: HmacEngine = nodeCrypto ? 'node' : 'noble'): Uint8Array {
  if (engine === 'node') {
    const h = nodeCrypto!.createHmac('sha256', nodeKeyObject(key)).update(data).digest();
    return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
  }
  return hmac(sha256, key, typeof data === 'string' ? new TextEncoder().encode(data) : data);
}
