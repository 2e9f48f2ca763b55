/**
 * The node:crypto engine for AES-256-GCM (OpenSSL, with AES-NI where the CPU has it).
 * Key objects are cached per key buffer, so the hot path never re-imports a key. Only loaded
 * when `nodeCrypto` exists; byte-identical to the noble engine (tested both ways).
 */
import { InvalidInputError } from '../../contract/errors.js';
import { nodeCrypto, nodeKeyObject } from '../node.js';
import { AEAD_SPECS, type Aead } from './types.js';

const spec = AEAD_SPECS['aes-256-gcm'];

class NodeAesGcm implements Aead {
  readonly engine = 'node' as const;
  readonly spec = spec;

  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array | string, aad: Uint8Array, out: Uint8Array, outOffset: number): number {
    if (key.length !== 32) throw new InvalidInputError(`aes-256-gcm key must be 32 bytes, got ${key.length}`);
    if (nonce.length !== 12) throw new InvalidInputError(`aes-256-gcm nonce must be 12 bytes, got ${nonce.length}`);
    const cipher = nodeCrypto!.createCipheriv('aes-256-gcm', nodeKeyObject(key), nonce, { authTagLength: 16 });
    cipher.setAAD(aad);
    const ct = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
    const last = cipher.final(); // GCM is a stream mode: always empty, kept for completeness
    out.set(ct, outOffset);
    if (last.length > 0) out.set(last, outOffset + ct.length);
    out.set(cipher.getAuthTag(), outOffset + ct.length + last.length);
    return ct.length + last.length + 16;
  }

  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    if (key.length !== 32 || nonce.length !== 12 || sealed.length < 16) return undefined;
    const split = sealed.length - 16;
    try {
      const decipher = nodeCrypto!.createDecipheriv('aes-256-gcm', nodeKeyObject(key), nonce, { authTagLength: 16 });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(split));
      const pt = decipher.update(sealed.subarray(0, split));
      const last = decipher.final(); // throws on a bad tag: nothing decrypted is returned before this check
      if (last.length === 0) return new Uint8Array(pt.buffer, pt.byteOffset, pt.byteLength);
      const out = new Uint8Array(pt.length + last.length);
      out.set(pt, 0);
      out.set(last, pt.length);
      return out;
    } catch {
      return undefined;
    }
  }
}

/** The node engine, or undefined where node:crypto (or its AES-256-GCM) is missing. */
export const nodeAesGcm: Aead | undefined = (() => {
  if (nodeCrypto === undefined) return undefined;
  try {
    if (!nodeCrypto.getCiphers().includes('aes-256-gcm')) return undefined;
  } catch {
    return undefined;
  }
  return new NodeAesGcm();
})();
