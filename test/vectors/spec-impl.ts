/**
 * An independent implementation of envelope format v1, written from SECURITY.md ("Envelope byte
 * layout") alone, using node:crypto and @noble directly, not the library's code. The golden vectors
 * were produced with it, and the tests check the library against it both ways.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { gcmsiv } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';

export type Alg = 'aes-256-gcm' | 'aes-256-gcm-siv' | 'xchacha20-poly1305';
const ALG_ID: Record<Alg, number> = { 'aes-256-gcm': 1, 'aes-256-gcm-siv': 2, 'xchacha20-poly1305': 3 };

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function subkey(key: Buffer, alg: Alg): Buffer {
  if (alg === 'aes-256-gcm') return key;
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from(`sealed-session-store/v1/${alg}`), 32));
}

export function aad(header: Buffer, namespace: string, id: string): Buffer {
  const ns = Buffer.from(namespace, 'utf8');
  const sid = Buffer.from(id, 'ascii');
  return Buffer.concat([header, u16(ns.length), ns, u16(sid.length), sid]);
}

export function specSeal(alg: Alg, key: Buffer, kid: string, nonce: Buffer, namespace: string, id: string, json: string): Buffer {
  const header = Buffer.concat([Buffer.from([1, ALG_ID[alg], kid.length]), Buffer.from(kid, 'ascii')]);
  const a = aad(header, namespace, id);
  const pt = Buffer.from(json, 'utf8');
  const k = subkey(key, alg);
  let sealed: Buffer;
  if (alg === 'aes-256-gcm') {
    const c = createCipheriv('aes-256-gcm', k, nonce, { authTagLength: 16 });
    c.setAAD(a);
    sealed = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
  } else if (alg === 'aes-256-gcm-siv') {
    sealed = Buffer.from(gcmsiv(k, nonce, a).encrypt(pt));
  } else {
    sealed = Buffer.from(xchacha20poly1305(k, nonce, a).encrypt(pt));
  }
  return Buffer.concat([header, nonce, sealed]);
}

/** Opens an AES-256-GCM envelope with node:crypto, exactly as SECURITY.md describes it. */
export function specOpenGcm(envelope: Buffer, key: Buffer, namespace: string, id: string): string {
  if (envelope[0] !== 1 || envelope[1] !== 1) throw new Error('not a v1 AES-256-GCM envelope');
  const L = envelope[2]!;
  const header = envelope.subarray(0, 3 + L);
  const nonce = envelope.subarray(3 + L, 15 + L);
  const ct = envelope.subarray(15 + L, envelope.length - 16);
  const tag = envelope.subarray(envelope.length - 16);
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  d.setAAD(aad(header, namespace, id));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
}
