/**
 * The AEAD vocabulary shared by the engines: algorithm names, their wire ids and sizes.
 * Every algorithm here takes a 256-bit key and produces a 128-bit tag appended to the ciphertext.
 */

export type AeadAlgorithm = 'aes-256-gcm' | 'aes-256-gcm-siv' | 'xchacha20-poly1305';
export type AeadEngineName = 'node' | 'noble';

export interface AeadSpec {
  readonly name: AeadAlgorithm;
  /** The byte written into envelopes; never reused for another algorithm. */
  readonly id: number;
  readonly keyLength: 32;
  readonly nonceLength: number;
  readonly tagLength: 16;
}

export const AEAD_SPECS: Readonly<Record<AeadAlgorithm, AeadSpec>> = {
  'aes-256-gcm': { name: 'aes-256-gcm', id: 0x01, keyLength: 32, nonceLength: 12, tagLength: 16 },
  'aes-256-gcm-siv': { name: 'aes-256-gcm-siv', id: 0x02, keyLength: 32, nonceLength: 12, tagLength: 16 },
  'xchacha20-poly1305': { name: 'xchacha20-poly1305', id: 0x03, keyLength: 32, nonceLength: 24, tagLength: 16 },
};

const BY_ID: ReadonlyArray<AeadSpec | undefined> = (() => {
  const out: Array<AeadSpec | undefined> = [];
  for (const spec of Object.values(AEAD_SPECS)) out[spec.id] = spec;
  return out;
})();

export function aeadSpecById(id: number): AeadSpec | undefined {
  return BY_ID[id];
}

export function isAeadAlgorithm(name: unknown): name is AeadAlgorithm {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(AEAD_SPECS, name);
}

/**
 * One AEAD for one algorithm on one engine. Both calls are synchronous and stateless.
 *
 * `seal` writes `ciphertext || tag` (plaintext length + 16 bytes) into `out` at `outOffset` and
 * returns the number of bytes written, so callers can build a whole envelope in one allocation. A
 * string plaintext is sealed as its UTF-8 bytes (node:crypto encodes it without a JS Buffer).
 * `open` takes `ciphertext || tag` and returns the plaintext, or `undefined` on ANY failure: the
 * caller turns that into one indistinguishable integrity error.
 */
export interface Aead {
  readonly spec: AeadSpec;
  readonly engine: AeadEngineName;
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array | string, aad: Uint8Array, out: Uint8Array, outOffset: number): number;
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
}
