/**
 * An encrypted, key-rotating codec for state the server hands to the client and gets back later:
 * the newer MCP protocol revision's server-minted state handles and `requestState`, pagination
 * cursors, or any "continue from here" token a stateless instance must trust on return.
 *
 *   s1.<kid>.<base64url(nonce ‖ AES-256-GCM(json{ d, e }) ‖ tag)>
 *
 * - Sealed by the library's sealer (src/layers/sealer.ts) under the keyring's primary `encrypt`
 *   key through a per-purpose HKDF subkey, info = MCP_REQUEST_STATE_LABEL ‖ 0x00 ‖ purpose (so the
 *   same key never encrypts sessions and handles in one context); any non-retired kid opens, so
 *   handles survive a rotation until their key is retired. test/vectors/request-state-v1.json
 *   pins the bytes.
 * - The AAD binds the format, the kid, the namespace, the purpose and an optional `bind` value
 *   (a session id, an owner): a handle minted for one session or purpose does not open for another
 *   (replay across sessions / confused deputy).
 * - `e` is an expiry (epoch seconds) inside the ciphertext; an expired handle is refused.
 * - Every fault (format, kid, tag, JSON) is the same `integrity` error: no oracle.
 *
 * AES-GCM with random 96-bit nonces: keep each key under 2^32 encryptions (see SECURITY.md,
 * "Nonce budget"), which a rotation schedule does.
 */
import {
  ExpiredError,
  IntegrityError,
  InvalidInputError,
  type JsonValue,
  MAX_TTL_MS,
  type Keyring,
  MCP_REQUEST_STATE_LABEL,
  Sealer,
  base64urlDecode,
  base64urlEncode,
  intOption,
  optionsObject,
  isSessionStoreError,
  labelled,
  utf8Decode,
  utf8Encode,
} from '../internal.js';

const FORMAT = 's1';
const NONCE = 12;
const TAG = 16;
const MAX_HANDLE_LENGTH = 64 * 1024;
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const NO_PREFIX = new Uint8Array(0);

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

export function requestStateCodec(options: RequestStateCodecOptions): RequestStateCodec {
  optionsObject(options, 'requestStateCodec options', false);
  const { keyring, namespace } = options;
  const purpose = options.purpose ?? 'requestState';
  const ttlMs = intOption(options.ttlMs, 15 * 60 * 1000, 1, MAX_TTL_MS, 'ttlMs');
  const now = options.now ?? Date.now;
  if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 255) throw new InvalidInputError('namespace must be 1..255 characters');
  if (typeof purpose !== 'string' || purpose.length === 0 || purpose.length > 255) throw new InvalidInputError('purpose must be 1..255 characters');
  const sealer = new Sealer({
    keyring,
    algorithm: 'aes-256-gcm',
    purpose: labelled(MCP_REQUEST_STATE_LABEL, purpose),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  // Length-unambiguous (a JSON array): no two (kid, namespace, purpose, bind) share an AAD.
  const aad = (kid: string, bind: string | undefined): Uint8Array =>
    utf8Encode(JSON.stringify([FORMAT, kid, namespace, purpose, bind === undefined ? null : bind]));

  return {
    seal(data, sealOptions = {}) {
      const ctx = sealer.primary();
      const exp = Math.floor((now() + (sealOptions.ttlMs ?? ttlMs)) / 1000);
      const plaintext = utf8Encode(JSON.stringify({ d: data, e: exp }));
      const body = sealer.sealWith(ctx, NO_PREFIX, plaintext, plaintext.length, aad(ctx.kid, sealOptions.bind));
      return `${FORMAT}.${ctx.kid}.${base64urlEncode(body)}`;
    },
    open(handle, openOptions = {}) {
      if (typeof handle !== 'string' || handle.length > MAX_HANDLE_LENGTH) throw new IntegrityError();
      const parts = handle.split('.');
      if (parts.length !== 3 || parts[0] !== FORMAT || !KID.test(parts[1]!)) throw new IntegrityError();
      const kid = parts[1]!;
      const body = base64urlDecode(parts[2]!);
      if (body === undefined || body.length < NONCE + TAG) throw new IntegrityError();
      const spec = sealer.primary().spec;
      let key: Uint8Array;
      try {
        key = sealer.keyFor(kid, spec);
      } catch (err) {
        // A retired or unknown kid looks like any other forgery from outside.
        if (isSessionStoreError(err)) throw new IntegrityError();
        throw err;
      }
      const plaintext = sealer.openWith(key, spec, body.subarray(0, NONCE), body.subarray(NONCE), aad(kid, openOptions.bind));
      const text = plaintext === undefined ? undefined : utf8Decode(plaintext);
      if (text === undefined) throw new IntegrityError();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
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
