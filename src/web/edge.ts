/**
 * The edge check of `./web`: where there is no store and no TCP client (Next.js middleware, a
 * worker), the session cookie's token is checked with `tokenVerifier` (src/tokens/verifier.ts): its
 * signature, header, claims, expiry and owner binding, synchronously, with the token keys only.
 *
 * Like every edge check it cannot see the store: a session logged out, revoked or idle past its
 * window still passes until the token's `exp` (the session's absolute deadline). It is a filter
 * that sheds forged and expired cookies cheaply, never an authorization to serve session data; the
 * origin's `open` decides (docs/edge.md, docs/web.md).
 */
// Direct imports, never the internal barrel: the edge check must bundle without the store's code
// (backends, Node built-ins) for runtimes that have none (test/edge/web-cookie.test.ts).
import { InvalidInputError, isSessionStoreError } from '../contract/errors.js';
import type { Owner } from '../layers/owner-hash.js';
import type { TokenVerifier } from '../tokens/verifier.js';
import type { VerifiedToken } from '../tokens/token.js';
import { ANONYMOUS_SUBJECT } from '../express/anonymous.js';
import { readCookies } from './cookie.js';

export interface VerifySessionCookieOptions {
  /** The cookie's full name (`WebSessions.cookie.name`). Default `__Host-sid`, the default of `webSessions`. */
  cookieName?: string;
  /**
   * The owner the edge authenticated on its own (never a client-set header). Given, only a token
   * bound to this owner passes. Omitted, the check tells an anonymous session from one bound to a
   * user without learning which user (the token holds a keyed hash of the owner, never the owner).
   */
  owner?: Owner;
}

export type SessionCookieCheck =
  /** A token bound to the anonymous owner, or to `options.owner` when given. */
  | ({ kind: 'anonymous' | 'owner' } & VerifiedToken)
  /** A valid, unexpired token bound to some user (no `owner` given): who, only the origin knows. */
  | { kind: 'user' };

/**
 * Checks the request's session cookie; undefined when there is none, or two (one planted), or its
 * token is forged, malformed, expired or bound to another owner than `options.owner`.
 */
export function verifySessionCookie(request: Request, verifier: TokenVerifier, options: VerifySessionCookieOptions = {}): SessionCookieCheck | undefined {
  if (verifier === null || typeof verifier !== 'object' || typeof verifier.verify !== 'function') throw new InvalidInputError('verifySessionCookie needs a tokenVerifier()');
  const values = readCookies(request.headers.get('cookie'), options.cookieName ?? '__Host-sid');
  if (values.length !== 1) return undefined;
  const token = values[0]!;
  try {
    if (options.owner !== undefined) return { kind: 'owner', ...verifier.verify(token, options.owner) };
    return { kind: 'anonymous', ...verifier.verify(token, { subject: ANONYMOUS_SUBJECT }) };
  } catch (err) {
    if (!isSessionStoreError(err)) throw err;
    // The verifier checks the owner LAST (signature, header, claims, expiry first; src/tokens/
    // token.ts, docs/edge.md): an owner mismatch against the anonymous owner means a valid,
    // unexpired token bound to a user.
    if (options.owner === undefined && err.code === 'owner_mismatch') return { kind: 'user' };
    return undefined;
  }
}
