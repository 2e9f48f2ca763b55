/**
 * An independent implementation of the passphrase-wrapped keyset file, written from SECURITY.md
 * ("Keyset files") alone with node:crypto only (scrypt, AES-256-GCM), not the library's code. The
 * golden keyset file was produced with it, and the tests check the library against it both ways.
 */
import { createCipheriv, createDecipheriv, scryptSync } from 'node:crypto';

export interface SpecWrapParams {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  nonce: Buffer;
}

const PREFIX = 'sealed-session-store.keyset/v1/passphrase-scrypt';

const b64u = (b: Buffer): string => b.toString('base64url');

function kek(passphrase: string, salt: Buffer, logN: number, r: number, p: number): Buffer {
  const N = 2 ** logN;
  return scryptSync(Buffer.from(passphrase, 'utf8'), salt, 32, { N, r, p, maxmem: 256 * r * N + 1024 * 1024 });
}

function aad(logN: number, r: number, p: number, saltText: string): Buffer {
  return Buffer.concat([Buffer.from(PREFIX, 'utf8'), Buffer.from(JSON.stringify(['passphrase-scrypt', 'scrypt', logN, r, p, saltText, 'aes-256-gcm']), 'utf8')]);
}

/** The text of a keyset file holding `jwksJson` (the JWK Set's JSON text), wrapped under `passphrase`. */
export function specWrapKeyset(jwksJson: string, passphrase: string, { logN, r, p, salt, nonce }: SpecWrapParams): string {
  const saltText = b64u(salt);
  const c = createCipheriv('aes-256-gcm', kek(passphrase, salt, logN, r, p), nonce, { authTagLength: 16 });
  c.setAAD(aad(logN, r, p, saltText));
  const ciphertext = Buffer.concat([c.update(Buffer.from(jwksJson, 'utf8')), c.final(), c.getAuthTag()]);
  const doc = {
    format: 'sealed-session-store.keyset',
    version: 1,
    provider: 'passphrase-scrypt',
    wrapped: { kdf: 'scrypt', logN, r, p, salt: saltText, alg: 'aes-256-gcm', nonce: b64u(nonce), ciphertext: b64u(ciphertext) },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The JWK Set's JSON text inside a keyset file wrapped under `passphrase`; throws when it does not open. */
export function specUnwrapKeyset(fileText: string, passphrase: string): string {
  const doc = JSON.parse(fileText) as { format: string; version: number; provider: string; wrapped: Record<string, unknown> };
  if (doc.format !== 'sealed-session-store.keyset' || doc.version !== 1 || doc.provider !== 'passphrase-scrypt') throw new Error('not a v1 passphrase-scrypt keyset');
  const w = doc.wrapped as { kdf: string; logN: number; r: number; p: number; salt: string; alg: string; nonce: string; ciphertext: string };
  if (w.kdf !== 'scrypt' || w.alg !== 'aes-256-gcm') throw new Error('unknown kdf or alg');
  const salt = Buffer.from(w.salt, 'base64url');
  const sealed = Buffer.from(w.ciphertext, 'base64url');
  const d = createDecipheriv('aes-256-gcm', kek(passphrase, salt, w.logN, w.r, w.p), Buffer.from(w.nonce, 'base64url'), { authTagLength: 16 });
  d.setAAD(aad(w.logN, w.r, w.p, w.salt));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]).toString('utf8');
}
