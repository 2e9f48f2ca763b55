/**
 * Session tokens: a compact JWS (HS256 under the `sign` key) binding a session id to its owner.
 *
 *   header  { alg: "HS256", typ: "sss-session+jwt", kid }
 *   claims  { sid, oh, ohk, iat, exp }
 *     sid  the session id
 *     oh   base64url HMAC-SHA256 of the owner under the `hash` key `ohk` (never the owner in clear)
 *     iat  issue time; exp the caller's `expiresAt` (SecureStore.issueToken: the session's absolute
 *          deadline when it knows it), else iat + the default lifetime (NumericDate seconds)
 *
 * `issue` is synchronous because the MCP SDK's session-id generator is. `verify` is the fast path
 * run on every request: a shape check, one HMAC for the signature and one for the owner hash, no
 * general-purpose JOSE library (jose is the interoperability oracle in the tests). A client sends the
 * same token with every request of its session, so a token whose signature and claims verified is
 * remembered (bounded): verifying it again re-checks the key, the clock and the owner, not the MAC.
 */
import { ExpiredError, InvalidInputError, InvalidTokenError, OwnerMismatchError, isSessionStoreError } from '../contract/errors.js';
import { MAX_TTL_MS, assertSessionId } from '../contract/validate.js';
import { base64urlEncode } from '../util/bytes.js';
import { intOption, optionsObject } from '../util/options.js';
import { constantTimeEqualText } from '../crypto/compare.js';
import { wipedKeyCount } from '../crypto/forget.js';
import type { Keyring } from '../keys/keyring.js';
import { INSPECT_CUSTOM, inspectSummary } from '../keys/redact.js';
import { type Owner, ownerHash } from '../layers/owner-hash.js';
import { encodeHeader, signCompact, verifyCompact } from './jws.js';

export const TOKEN_TYP = 'sss-session+jwt';
/** The most clock skew we ever tolerate between issuer and verifier. */
export const MAX_CLOCK_TOLERANCE_MS = 60_000;

export interface SessionTokensOptions {
  now?: () => number;
  /** Allowed skew for `exp` / `iat`; default 5 s, at most 60 s. */
  clockToleranceMs?: number;
  /** Token lifetime when `issue` is given no `expiresAt`; default 12 h (the default absolute session lifetime). */
  defaultLifetimeMs?: number;
}

export interface VerifiedToken {
  sessionId: string;
  /** Epoch ms of the token's `exp`. */
  expiresAt: number;
  /** The signing key id. */
  kid: string;
}

/** A token whose signature and claims verified: what a later verify of the same string still checks. */
interface Verified {
  /** The signing key object it verified under: a retired, destroyed or reloaded key is another (or no) object. */
  key: Uint8Array;
  kid: string;
  sid: string;
  oh: string;
  ohk: string;
  iat: number;
  exp: number;
}

/** Tokens remembered as verified, per SessionTokens; emptied when full. */
const MAX_VERIFIED_TOKENS = 1024;

/**
 * The verifier's caches, for tests that check a destroyed key leaves nothing behind. Not exported from
 * any public entry (the caches hold key references).
 */
export let unsafeTokenCachesOf: (tokens: SessionTokens) => { verified: Map<string, { key: Uint8Array }>; ownerHashes: WeakMap<Uint8Array, Map<string, string>> };

export class SessionTokens {
  private readonly now: () => number;
  private readonly toleranceMs: number;
  private readonly defaultLifetimeMs: number;
  private readonly headers = new Map<string, string>();
  // Private (#) fields: the keyring, the remembered tokens (bearer secrets, with the signing key
  // they verified under) and the owner hashes must not show through inspect, JSON or
  // structuredClone (threat: key material and tokens in logs; see keys/redact.ts).
  readonly #keyring: Keyring;
  /** Signature-checked tokens (see the header): only a token that verified ever enters. */
  readonly #verified = new Map<string, Verified>();
  /** Owner hashes (base64url) per hash key, so a verify costs one HMAC (the signature), not two. */
  #ownerHashes = new WeakMap<Uint8Array, Map<string, string>>();
  /** `wipedKeyCount()` when the caches above were last known free of destroyed keys. */
  #wipedSeen = wipedKeyCount();

  static {
    unsafeTokenCachesOf = (tokens) => ({ verified: tokens.#verified, ownerHashes: tokens.#ownerHashes });
  }

  constructor(keyring: Keyring, options: SessionTokensOptions = {}) {
    this.#keyring = keyring;
    options = optionsObject(options, 'SessionTokens options');
    this.now = options.now ?? Date.now;
    this.toleranceMs = intOption(options.clockToleranceMs, 5_000, 0, MAX_CLOCK_TOLERANCE_MS, 'clockToleranceMs');
    this.defaultLifetimeMs = intOption(options.defaultLifetimeMs, 12 * 60 * 60 * 1000, 1, MAX_TTL_MS, 'defaultLifetimeMs');
  }

  /** What logging or serializing shows: the usable signing key ids; never keys, tokens or owner hashes. */
  toJSON(): { signKids: string[] } {
    return { signKids: this.#keyring.keysFor('sign').map((k) => k.kid) };
  }

  [INSPECT_CUSTOM](depth: number, options: unknown, inspect?: (value: unknown, options?: unknown) => string): string {
    return inspectSummary('SessionTokens', this.toJSON(), depth, options, inspect);
  }

  /** Signs a token for `sessionId` bound to `owner`, valid until `expiresAt` (epoch ms). Synchronous. */
  issue(sessionId: string, owner: Owner, options: { expiresAt?: number } = {}): string {
    assertSessionId(sessionId);
    const expiresAt = options.expiresAt;
    if (expiresAt !== undefined && !Number.isSafeInteger(expiresAt)) throw new InvalidInputError('expiresAt must be an integer number of epoch milliseconds');
    const sign = this.#keyring.primary('sign');
    const hash = this.#keyring.primary('hash');
    const now = this.now();
    let header = this.headers.get(sign.kid);
    if (header === undefined) {
      header = encodeHeader(TOKEN_TYP, sign.kid);
      this.headers.set(sign.kid, header);
    }
    const claims = {
      sid: sessionId,
      oh: base64urlEncode(ownerHash(hash.key, owner)),
      ohk: hash.kid,
      iat: Math.floor(now / 1000),
      // Rounded down: a token never outlives the session it stands for.
      exp: Math.floor((expiresAt ?? now + this.defaultLifetimeMs) / 1000),
    };
    return signCompact(header, claims, sign.key);
  }

  /**
   * Verifies signature, header, claims, expiry and owner. Rejects (throws) `invalid_token`,
   * `expired` or `owner_mismatch`. The owner is checked last and in constant time.
   */
  verify(token: unknown, owner: Owner): VerifiedToken {
    this.forgetDestroyedKeys();
    const { kid, sid, oh, ohk, iat, exp } = this.signed(token);
    const now = this.now();
    if (iat * 1000 > now + this.toleranceMs) throw new InvalidTokenError('token issued in the future');
    if (exp * 1000 <= now - this.toleranceMs) throw new ExpiredError('token expired');
    let key: Uint8Array;
    try {
      key = this.#keyring.keyFor('hash', ohk);
    } catch (err) {
      if (isSessionStoreError(err)) throw new InvalidTokenError('token owner hash key is not usable');
      throw err;
    }
    // Our text is canonical base64url: a claim in any other spelling simply does not match.
    if (!constantTimeEqualText(this.ownerHashUnder(key, owner), oh)) throw new OwnerMismatchError();
    return { sessionId: sid, expiresAt: exp * 1000, kid };
  }

  /**
   * A key was destroyed since the caches were last checked: drop them whole. They hold references to
   * key bytes (zeroed by then) and values computed under keys (owner hashes, which link a session to
   * its owner's other sessions), and "destroyed" promises that nothing of a destroyed key stays
   * around to be read out of memory. Rare (a destroy), so emptying everything costs nothing.
   */
  private forgetDestroyedKeys(): void {
    const wiped = wipedKeyCount();
    if (wiped === this.#wipedSeen) return;
    this.#wipedSeen = wiped;
    this.#verified.clear();
    this.#ownerHashes = new WeakMap();
  }

  /**
   * The signature and claims of `token`, checked, or the record of an earlier check of this very
   * string under a signing key that is still the same usable key object. Throws `invalid_token`.
   */
  private signed(token: unknown): Verified {
    const seen = typeof token === 'string' ? this.#verified.get(token) : undefined;
    if (seen !== undefined) {
      let key: Uint8Array | undefined;
      try {
        key = this.#keyring.keyFor('sign', seen.kid);
      } catch {
        key = undefined;
      }
      if (key === seen.key) return seen;
      this.#verified.delete(token as string);
    }
    let used: Uint8Array | undefined;
    const { header, payload } = verifyCompact(token, {
      typ: TOKEN_TYP,
      key: (kid) => {
        used = this.#keyring.keyFor('sign', kid);
        return used;
      },
    });
    const { sid, oh, ohk, iat, exp } = payload;
    if (
      typeof sid !== 'string' ||
      typeof oh !== 'string' ||
      typeof ohk !== 'string' ||
      !Number.isSafeInteger(iat) ||
      !Number.isSafeInteger(exp)
    ) {
      throw new InvalidTokenError('token claims are malformed');
    }
    try {
      assertSessionId(sid);
    } catch {
      throw new InvalidTokenError('token session id is malformed');
    }
    const checked: Verified = { key: used!, kid: header.kid, sid, oh, ohk, iat: iat as number, exp: exp as number };
    if (this.#verified.size >= MAX_VERIFIED_TOKENS) this.#verified.clear();
    this.#verified.set(token as string, checked);
    return checked;
  }

  /**
   * `ownerHash(key, owner)`, remembered per key object (a reloaded or destroyed key is a new or gone
   * object) for up to 1024 owners. Only well-typed owners are cached, and only after `ownerHash`
   * validated them, so the JSON text below is unambiguous and a malformed owner still throws.
   */
  private ownerHashUnder(key: Uint8Array, owner: Owner): string {
    const { subject, clientId, fingerprint } = owner ?? {};
    if (typeof subject !== 'string' || (clientId !== undefined && typeof clientId !== 'string') || (fingerprint !== undefined && typeof fingerprint !== 'string')) {
      return base64urlEncode(ownerHash(key, owner));
    }
    let perKey = this.#ownerHashes.get(key);
    if (perKey === undefined) {
      perKey = new Map();
      this.#ownerHashes.set(key, perKey);
    }
    // Length-prefixed fields: no two owners share a cache key (a field may hold any character).
    const id = `${subject.length}:${subject}${clientId === undefined ? '-' : `${clientId.length}:${clientId}`}${fingerprint === undefined ? '-' : `${fingerprint.length}:${fingerprint}`}`;
    let h = perKey.get(id);
    if (h === undefined) {
      h = base64urlEncode(ownerHash(key, owner));
      if (perKey.size >= 1024) perKey.clear();
      perKey.set(id, h);
    }
    return h;
  }
}
