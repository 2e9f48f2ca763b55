/**
 * Compact JWS with HS256, the low-level piece under session tokens. Standard enough that jose's
 * `jwtVerify` accepts what we sign and we accept what jose signs with the same header fields, and
 * strict where jose is lenient:
 * - the shape is checked BEFORE any parsing: exactly three segments of canonical, unpadded
 *   base64url (no spaces, no padding, no non-zero trailing bits), so a token has one spelling
 *   (malleable forms would defeat replay caches and logging that key on the token text);
 * - the header has exactly `alg`, `typ` and `kid`: `alg` pinned to HS256 (no `none`, no algorithm
 *   confusion), `typ` pinned (a token of another kind signed by the same key is refused), and
 *   `crit` or any other parameter refused, since we would not understand it;
 * - the MAC is compared in constant time.
 * Every failure is `invalid_token`; the message says which check failed for logs, never anything secret.
 */
import { InvalidTokenError, isSessionStoreError } from '../contract/errors.js';
import { base64urlDecode, base64urlEncode, isCanonicalBase64url, utf8Decode, utf8Encode } from '../util/bytes.js';
import { constantTimeEqualText } from '../crypto/compare.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { isPlainObject } from '../contract/validate.js';

export const MAX_TOKEN_LENGTH = 4096;
const SIG_LENGTH = 43; // 32 bytes of HMAC-SHA256 in unpadded base64url
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CACHED_HEADERS = 64;
/** Parsed header objects (frozen) by their base64url segment; see verifyCompactBytes. */
const verifiedHeaders = new Map<string, Readonly<Record<string, unknown>>>();

export interface CompactHeader {
  alg: 'HS256';
  typ: string;
  kid: string;
}

/** Encodes the protected header once; callers cache it per kid. */
export function encodeHeader(typ: string, kid: string): string {
  return base64urlEncode(utf8Encode(JSON.stringify({ alg: 'HS256', typ, kid })));
}

export function signCompact(encodedHeader: string, payload: Record<string, unknown>, key: Uint8Array): string {
  const signingInput = `${encodedHeader}.${base64urlEncode(utf8Encode(JSON.stringify(payload)))}`;
  return `${signingInput}.${base64urlEncode(hmacSha256(key, signingInput))}`;
}

export interface VerifyCompactOptions {
  /** The pinned `typ`; when undefined the header must carry no `typ` at all. */
  typ: string | undefined;
  /** The verification key for `kid`; throws (any error) when there is none. */
  key: (kid: string) => Uint8Array;
}

function parseJsonSegment(segment: string): Record<string, unknown> | undefined {
  const bytes = base64urlDecode(segment);
  return bytes === undefined ? undefined : parseJson(bytes);
}

function parseJson(bytes: Uint8Array): Record<string, unknown> | undefined {
  const text = utf8Decode(bytes);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies a compact HS256 JWS and returns its header and raw payload bytes; throws `invalid_token`. */
export function verifyCompactBytes(token: unknown, options: VerifyCompactOptions): { header: CompactHeader; payload: Uint8Array } {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('token is not a string of acceptable length');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (first <= 0 || second < first + 1 || token.indexOf('.', second + 1) !== -1) throw new InvalidTokenError('token is not three segments');
  const h = token.slice(0, first);
  const p = token.slice(first + 1, second);
  const s = token.slice(second + 1);
  // A header segment that already verified is not checked, decoded and parsed again (every token of
  // one signing key carries the same one). Only headers behind a valid MAC enter the cache, so a
  // forger cannot fill it; the checks below still run on every call.
  const cached = verifiedHeaders.get(h);
  if (s.length !== SIG_LENGTH || (cached === undefined && !isCanonicalBase64url(h)) || !isCanonicalBase64url(p) || !isCanonicalBase64url(s)) {
    throw new InvalidTokenError('token is not canonical base64url');
  }
  const header = cached ?? parseJsonSegment(h);
  if (header === undefined) throw new InvalidTokenError('token header is not a JSON object');
  const expectedKeys = options.typ === undefined ? 2 : 3;
  if (
    Object.keys(header).length !== expectedKeys ||
    header.alg !== 'HS256' ||
    header.typ !== options.typ ||
    typeof header.kid !== 'string' ||
    !KID.test(header.kid)
  ) {
    throw new InvalidTokenError('token header is not exactly {alg: HS256, typ, kid}');
  }

  let key: Uint8Array;
  try {
    key = options.key(header.kid);
  } catch (err) {
    if (isSessionStoreError(err) || err instanceof Error) throw new InvalidTokenError('token key id is not a usable signing key');
    throw err;
  }
  // `s` is canonical base64url of 32 bytes (checked above), so comparing it with the canonical text
  // of the expected MAC, in constant time, is comparing the MACs: no decoding on the hot path.
  const expected = hmacSha256(key, token.slice(0, second));
  if (!constantTimeEqualText(base64urlEncode(expected), s)) throw new InvalidTokenError('token signature does not verify');
  if (cached === undefined) {
    if (verifiedHeaders.size >= MAX_CACHED_HEADERS) verifiedHeaders.clear();
    verifiedHeaders.set(h, Object.freeze(header));
  }

  return { header: header as unknown as CompactHeader, payload: base64urlDecode(p)! };
}

/** `verifyCompactBytes` for tokens whose payload is a JSON object (JWT claims). */
export function verifyCompact(token: unknown, options: VerifyCompactOptions): { header: CompactHeader; payload: Record<string, unknown> } {
  const { header, payload } = verifyCompactBytes(token, options);
  const claims = parseJson(payload);
  if (claims === undefined) throw new InvalidTokenError('token payload is not a JSON object');
  return { header, payload: claims };
}
