/**
 * The pure-JS engine (@noble/ciphers): runs wherever there is no node:crypto (edge runtimes,
 * browsers) and is the only engine for AES-256-GCM-SIV and XChaCha20-Poly1305.
 */
import { gcm, gcmsiv } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { utf8Encode } from '../../util/bytes.js';
import { AEAD_SPECS, type Aead, type AeadAlgorithm, type AeadSpec } from './types.js';

type CipherFactory = (key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

const FACTORIES: Record<AeadAlgorithm, CipherFactory> = {
  'aes-256-gcm': gcm as unknown as CipherFactory,
  'aes-256-gcm-siv': gcmsiv as unknown as CipherFactory,
  'xchacha20-poly1305': xchacha20poly1305 as unknown as CipherFactory,
};

class NobleAead implements Aead {
  readonly engine = 'noble' as const;
  private readonly factory: CipherFactory;
  constructor(readonly spec: AeadSpec) {
    this.factory = FACTORIES[spec.name];
  }

  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array | string, aad: Uint8Array, out: Uint8Array, outOffset: number): number {
    const sealed = this.factory(key, nonce, aad).encrypt(typeof plaintext === 'string' ? utf8Encode(plaintext) : plaintext);
    out.set(sealed, outOffset);
    return sealed.length;
  }

  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    if (sealed.length < this.spec.tagLength) return undefined;
    try {
      return this.factory(key, nonce, aad).decrypt(sealed);
    } catch {
      return undefined;
    }
  }
}

export const nobleAeads: Readonly<Record<AeadAlgorithm, Aead>> = {
  'aes-256-gcm': new NobleAead(AEAD_SPECS['aes-256-gcm']),
  'aes-256-gcm-siv': new NobleAead(AEAD_SPECS['aes-256-gcm-siv']),
  'xchacha20-poly1305': new NobleAead(AEAD_SPECS['xchacha20-poly1305']),
};
