/**
 * The two principals of the suite, and what an attacker does with what they can reach: read an
 * envelope by the byte layout SECURITY.md documents (as anyone with database access can), and
 * re-encode or re-sign token segments (as anyone holding a key of the ring can).
 */
import type { Owner } from '../../internal.js';

/** The victim. */
export const alice: Owner = { subject: 'alice', clientId: 'client-1' };
/** Another authenticated principal of the same client, trying to reach alice's sessions. */
export const mallory: Owner = { subject: 'mallory', clientId: 'client-1' };

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

export function fromB64url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** The nonce of an envelope, read by the documented layout: version, alg, kid length, kid, nonce. */
export function nonceOf(envelope: Uint8Array): string {
  const kidLength = envelope[2]!;
  const nonceLength = envelope[1] === 0x03 ? 24 : 12;
  return b64url(envelope.subarray(3 + kidLength, 3 + kidLength + nonceLength));
}

export function kidOf(envelope: Uint8Array): string {
  return Buffer.from(envelope.subarray(3, 3 + envelope[2]!)).toString('latin1');
}

/** Re-signs a compact JWS with `key` after editing its header/payload JSON (an attacker who knows a key). */
export async function hmac(key: Uint8Array, input: string): Promise<Uint8Array> {
  const { createHmac } = await import('node:crypto');
  return new Uint8Array(createHmac('sha256', key).update(input).digest());
}

/** The same bytes in non-canonical base64url: the lowest unused bit of the last character set. */
export function respell(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  if (s.length % 4 === 0) throw new Error('no unused bits to set');
  const last = alphabet.indexOf(s[s.length - 1]!);
  return s.slice(0, -1) + alphabet[last | 1]!;
}

/** A token segment: JSON, base64url-encoded. */
export function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
