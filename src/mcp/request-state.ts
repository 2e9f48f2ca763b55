/**
 * An encrypted, key-rotating codec for state the server hands to the client and gets back later:
 * the newer MCP protocol revision's server-minted state handles and `requestState`, pagination
 * cursors, or any "continue from here" token a stateless instance must trust on return.
 *
 *   s1.<kid>.<base64url(nonce ‖ AES-256-GCM(json{ d, e }) ‖ tag)>
 *
 * - Sealed under the keyring's primary `encrypt` key through a per-purpose HKDF subkey (so the
 *   same key never encrypts sessions and handles in one context); any non-retired kid opens, so
 *   handles survive a rotation until their key is retired.
 * - The AAD binds the format, the kid, the namespace, the purpose and an optional `bind` value
 *   (a session id, an owner): a handle minted for one session or purpose does not open for another
 *   (replay across sessions / confused deputy).
 * - `e` is an expiry (epoch seconds) inside the ciphertext; an expired handle is refused.
 * - Every fault (format, kid, tag, JSON) is the same `integrity` error: no oracle.
 *
 * AES-GCM with random 96-bit nonces: keep each key under 2^32 encryptions (see SECURITY.md,
 * "Nonce budget"), which a rotation schedule does.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ExpiredError, IntegrityError, InvalidInputError, type JsonValue, type Keyring } from '../internal.js';
import { storeErrorCode } from './errors.js';
import { fromBase64url, fromUtf8, toBase64url, utf8 } from './encoding.js';

const FORMAT = 's1';
const NONCE = 12;
const MAX_HANDLE_LENGTH = 64 * 1024;
const KID = /^[A-Za-z0-9_-]{1,64}$/;

export interface RequestStateCodecOptions {
  keyring: Keyring;
  /** Authenticated in every handle (an app / environment name). */
  namespace: string;
  /** What the handles are for (e.g. 'requestState', 'cursor'); authenticated. Default 'requestState'. */
  purpose?: string;
  /** Lifetime of a handle; default 15 minutes. */
  ttlMs?: number;
  now?: () => number;
  /** Nonce source; default the platform CSPRNG. */
  random?: (n: number) => Uint8Array;
}

export interface RequestStateCodec {
  /** Seals `data`; `bind` (e.g. the session id) must be given again to open it. */
  seal(data: JsonValue, options?: { bind?: string; ttlMs?: number }): string;
  /** Opens a handle: `integrity` for anything forged, altered, foreign or unknown-key; `expired` past its lifetime. */
  open(handle: unknown, options?: { bind?: string }): JsonValue;
}

function webRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

export function requestStateCodec(options: RequestStateCodecOptions): RequestStateCodec {
  const { keyring, namespace } = options;
  const purpose = options.purpose ?? 'requestState';
  const ttlMs = options.ttlMs ?? 15 * 60 * 1000;
  const now = options.now ?? Date.now;
  const random = options.random ?? webRandom;
  if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 255) throw new InvalidInputError('namespace must be 1..255 characters');
  if (typeof purpose !== 'string' || purpose.length === 0 || purpose.length > 255) throw new InvalidInputError('purpose must be 1..255 characters');
  const subkeys = new Map<string, Uint8Array>();
  const subkey = (kid: string, key: Uint8Array): Uint8Array => {
    let k = subkeys.get(kid);
    if (k === undefined) {
      k = hkdf(sha256, key, undefined, utf8(`sss/mcp/request-state/v1\u0000${purpose}`), 32);
      if (subkeys.size > 64) subkeys.clear();
      subkeys.set(kid, k);
    }
    return k;
  };
  const aad = (kid: string, bind: string | undefined): Uint8Array =>
    utf8(JSON.stringify([FORMAT, kid, namespace, purpose, bind === undefined ? null : bind]));

  return {
    seal(data, sealOptions = {}) {
      const { kid, key } = keyring.primary('encrypt');
      const exp = Math.floor((now() + (sealOptions.ttlMs ?? ttlMs)) / 1000);
      const plaintext = utf8(JSON.stringify({ d: data, e: exp }));
      const nonce = random(NONCE);
      if (nonce.length !== NONCE) throw new RangeError('random source returned the wrong number of bytes');
      const sealed = gcm(subkey(kid, key), nonce, aad(kid, sealOptions.bind)).encrypt(plaintext);
      const body = new Uint8Array(NONCE + sealed.length);
      body.set(nonce, 0);
      body.set(sealed, NONCE);
      return `${FORMAT}.${kid}.${toBase64url(body)}`;
    },
    open(handle, openOptions = {}) {
      if (typeof handle !== 'string' || handle.length > MAX_HANDLE_LENGTH) throw new IntegrityError();
      const parts = handle.split('.');
      if (parts.length !== 3 || parts[0] !== FORMAT || !KID.test(parts[1]!)) throw new IntegrityError();
      const kid = parts[1]!;
      const body = fromBase64url(parts[2]!);
      if (body === undefined || body.length < NONCE + 16) throw new IntegrityError();
      let key: Uint8Array;
      try {
        key = keyring.keyFor('encrypt', kid);
      } catch (err) {
        // A retired or unknown kid looks like any other forgery from outside.
        if (storeErrorCode(err) !== undefined) throw new IntegrityError();
        throw err;
      }
      let parsed: unknown;
      try {
        const plaintext = gcm(subkey(kid, key), body.subarray(0, NONCE), aad(kid, openOptions.bind)).decrypt(body.subarray(NONCE));
        parsed = JSON.parse(fromUtf8(plaintext));
      } catch {
        throw new IntegrityError();
      }
      const claims = parsed as { d?: JsonValue; e?: unknown } | null;
      if (claims === null || typeof claims !== 'object' || !('d' in claims) || typeof claims.e !== 'number') throw new IntegrityError();
      if (claims.e * 1000 <= now()) throw new ExpiredError('handle expired');
      return claims.d as JsonValue;
    },
  };
}
