/**
 * scrypt (RFC 7914) for deriving key-encryption keys from passphrases. node:crypto's native scrypt
 * where it exists (faster, so a higher cost fits the same delay), @noble/hashes'
 * `scryptAsync` elsewhere; both give identical bytes (tested). Never blocks the event loop for long.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { nodeCrypto } from './node.js';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number;
  r: number;
  p: number;
  dkLen: number;
}

export type ScryptEngine = 'node' | 'noble';

export function scryptMemory(params: Pick<ScryptParams, 'logN' | 'r' | 'p'>): number {
  return 128 * params.r * (2 ** params.logN + params.p + 2);
}

export async function scryptDerive(
  password: Uint8Array,
  salt: Uint8Array,
  params: ScryptParams,
  engine: ScryptEngine = nodeCrypto ? 'node' : 'noble',
): Promise<Uint8Array> {
  const N = 2 ** params.logN;
  const maxmem = scryptMemory(params) + 1024 * 1024;
  if (engine === 'node') {
    return new Promise((resolve, reject) => {
      nodeCrypto!.scrypt(password, salt, params.dkLen, { N, r: params.r, p: params.p, maxmem }, (err, key) => {
        if (err) reject(err);
        else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
      });
    });
  }
  return scryptAsync(password, salt, { N, r: params.r, p: params.p, dkLen: params.dkLen, maxmem });
}
