/**
 * `tokenVerifier()`: the session-token check for a place that holds no store and no encryption key
 * (an edge worker, a gateway). Given only the token keys (`Keyring.insecureExportTokenKeys()`), it
 * checks what `SecureStore.verifyToken` checks - signature, header, claims, expiry, owner - with
 * the same code, synchronously, without a store round trip.
 *
 * What it cannot see, by construction: anything that lives in the store. A session deleted, an
 * owner revoked ("log out everywhere") or a session idle past its idle window still passes here
 * until the token's `exp`; the origin's `resume` refuses them. See docs/edge.md.
 */
import { optionsObject } from '../util/options.js';
import { InvalidInputError, isSessionStoreError } from '../contract/errors.js';
import { Keyring } from '../keys/keyring.js';
import type { KeysetJwks } from '../keys/jwks.js';
import type { Owner } from '../layers/owner-hash.js';
import { SessionTokens, type SessionTokensOptions, type VerifiedToken } from './token.js';

export type TokenVerifierOptions = Pick<SessionTokensOptions, 'now' | 'clockToleranceMs'>;

export interface TokenVerifier {
  /** Throws `invalid_token`, `expired` or `owner_mismatch`, exactly as `SecureStore.verifyToken`. */
  verify(token: unknown, owner: Owner): VerifiedToken;
  /** The kids this verifier accepts (sign and hash keys), to log which export an edge runs. */
  readonly kids: readonly string[];
}

/**
 * A verifier over `keys`, a JWK Set of `sign` and `hash` keys. A set that carries any `encrypt`
 * key is refused (`invalid_input`): it is a full keyset handed to the edge by mistake, and an edge
 * secret that leaks must never expose session contents. A malformed set is `key_state`.
 */
export function tokenVerifier(keys: KeysetJwks | string, options: TokenVerifierOptions = {}): TokenVerifier {
  options = optionsObject(options, 'tokenVerifier options');
  if (typeof keys !== 'string' && (keys === null || typeof keys !== 'object')) throw new InvalidInputError('token keys must be a JWK Set or its JSON text');
  let jwks: unknown = keys;
  if (typeof keys === 'string') {
    try {
      jwks = JSON.parse(keys);
    } catch {
      throw new InvalidInputError('token keys must be a JWK Set or its JSON text');
    }
  }
  const list = (jwks as { keys?: unknown } | null)?.keys;
  if (Array.isArray(list) && list.some((k) => (k as { purpose?: unknown } | null)?.purpose === 'encrypt')) {
    throw new InvalidInputError('token keys hold an encrypt key: export them with keyring.insecureExportTokenKeys(), never the whole keyset');
  }
  const keyring = Keyring.insecureFromCleartextJwks(jwks, options.now === undefined ? {} : { now: options.now });
  for (const purpose of ['sign', 'hash'] as const) {
    try {
      keyring.primary(purpose);
    } catch (err) {
      if (isSessionStoreError(err)) throw new InvalidInputError(`token keys hold no ${purpose} key`, { cause: err });
      throw err;
    }
  }
  const tokens = new SessionTokens(keyring, options);
  const kids = Object.freeze(keyring.list().map((k) => k.kid));
  return {
    verify: (token, owner) => tokens.verify(token, owner),
    kids,
  };
}
