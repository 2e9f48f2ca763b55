/**
 * Key vocabulary shared by the keyring, the keyset files and the layers that use keys.
 *
 * Purposes are separate keys, never one key for two jobs: `encrypt` seals session records,
 * `sign` signs session tokens (HS256), `hash` computes owner hashes (HMAC-SHA256).
 * Statuses follow Tink's key states:
 * - `primary`: the one key of its purpose used for new work (exactly one per purpose);
 * - `active`: still opens / verifies / recomputes, never used for new work;
 * - `retired`: kept on file but refused for every use (Tink's DISABLED); can be reactivated;
 * - `destroyed`: material erased; the kid stays listed so it is never reused and records under it
 *   report `unknown_key`.
 */

export type KeyPurpose = 'encrypt' | 'sign' | 'hash';
export type KeyStatus = 'primary' | 'active' | 'retired' | 'destroyed';

export const KEY_PURPOSES: readonly KeyPurpose[] = ['encrypt', 'sign', 'hash'];
export const KEY_STATUSES: readonly KeyStatus[] = ['primary', 'active', 'retired', 'destroyed'];

export interface KeyInfo {
  kid: string;
  purpose: KeyPurpose;
  status: KeyStatus;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds at which the key stopped being primary (absent if it never was, or still is). */
  demotedAt?: number;
}

/** A key id: 1..64 characters of base64url's alphabet, so it is safe in envelopes, JWS headers and file names. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Every key is at least 256 bits; `encrypt` keys are exactly 256 (AES-256 / XChaCha20). */
export const MIN_KEY_BYTES = 32;
export const MAX_KEY_BYTES = 64;
