/**
 * The token-checking part of a keyset: the `sign` keys that verify a session token's signature and
 * the `hash` keys that recompute its owner hash, and nothing else. This is what an edge worker (a
 * gateway that checks tokens without reaching the store) is given. `encrypt` keys never leave: the
 * edge is the most exposed place a key can live, and an encryption key there would turn a leaked
 * worker secret into every session's plaintext.
 */
import { KeyStateError } from '../contract/errors.js';
import type { KeysetJwk, KeysetJwks } from './jwks.js';
import type { KeyPurpose } from './types.js';

/** The purposes a token check needs; `encrypt` is deliberately not one of them. */
export const TOKEN_KEY_PURPOSES: readonly KeyPurpose[] = ['sign', 'hash'];

/**
 * The usable (primary and active) `sign` and `hash` keys of `jwks`, as a JWK Set a `Keyring` or
 * `tokenVerifier` loads. Retired and destroyed keys are left out: they verify nothing. Throws
 * `key_state` when the set has no primary `sign` or `hash` key (a token check could not work).
 */
export function tokenKeysOf(jwks: KeysetJwks): KeysetJwks {
  const keys: KeysetJwk[] = jwks.keys.filter(
    (k) => TOKEN_KEY_PURPOSES.includes(k.purpose) && (k.status === 'primary' || k.status === 'active') && k.k !== undefined,
  );
  for (const purpose of TOKEN_KEY_PURPOSES) {
    if (!keys.some((k) => k.purpose === purpose && k.status === 'primary')) throw new KeyStateError(`the keyring holds no ${purpose} key to export`);
  }
  return { keys: keys.map((k) => ({ ...k })) };
}
