/**
 * The framework-neutral core of `./web`: sessions over the web-standard `Request` / `Response`
 * (Hono, Next.js route handlers, anything with fetch-style handlers), kept server-side by
 * `secureStore()`.
 *
 * The cookie holds a session token (a compact HS256 JWS: the session id and a keyed hash of its
 * owner; src/tokens), never the owner in clear: the value means nothing to whoever reads it (OWASP).
 * `open(request)` checks it in this order:
 * 1. the token's signature and header (no store round trip: a forged or guessed cookie costs one HMAC);
 * 2. the session, read as the owner sealed in it (owner hash, idle and absolute deadlines,
 *    revocation: every check of a scoped `load`);
 * 3. the token again, in full, for that owner (`verifyToken`: expiry, and the token's owner hash
 *    must be the session's: a token minted for another owner, or before a re-binding, is refused);
 * 4. with a `principal` resolver, a session bound to a user must name the user the application
 *    authenticates by its own credential, or the request is refused (403, `owner_mismatch`).
 * Any failure of 1-3 is "no session": the handler sees a new, empty, anonymous one and the dead
 * cookie is cleared. `commit(session, response)` then writes the store and the cookie.
 */
import {
  InvalidInputError,
  type SecureStore,
  TOKEN_TYP,
  base64urlDecode,
  isSessionStoreError,
  loadAsNamedOwner,
  utf8Decode,
  verifyCompact,
} from '../internal.js';
import { ANONYMOUS_SUBJECT, CookieSessionCore, OWNER_KEY, type PrincipalResolver, principalRefusal } from '../express/core.js';
import { type ResolvedCookie, type SessionCookieOptions, readCookies, resolveCookie, serializeCookie } from './cookie.js';
import { WebSession } from './session.js';

export interface WebSessionsOptions {
  /** The session cookie (secure defaults: see `SessionCookieOptions`). */
  cookie?: SessionCookieOptions;
  /**
   * A credential the application checks on its own (a bearer token, a client certificate): a
   * session bound to a user is used only when this names the same user; otherwise `open` refuses
   * the request (403, `owner_mismatch`). Anonymous sessions pass.
   */
  principal?: PrincipalResolver<Request>;
  /**
   * Skip renewing a session's idle deadline when this process renewed it less than this long ago
   * (ms). Default 0: every request renews, so the idle window counts from the last request; with
   * N, a session may end up to N ms early, for one store write fewer per request.
   */
  touchAfterMs?: number;
  /**
   * The `Cache-Control` put on responses that read or wrote a session when the handler set none.
   * Default `no-store`; false to leave it to the handler. A response that sets the cookie is never
   * left cacheable by a shared cache (a CDN would hand the cookie to the next visitor): a value
   * without `private` or `no-store` is replaced by `no-store`.
   */
  cacheControl?: string | false;
  /** The clock `touchAfterMs` is measured by: the one `secureStore()` was given. Default `Date.now`. */
  now?: () => number;
}

/** Errors that mean "this cookie names no usable session". */
const NO_SESSION = new Set(['not_found', 'expired', 'integrity', 'unknown_key', 'owner_mismatch', 'invalid_input', 'invalid_token']);
/** What a session cookie may hold: a compact JWS (base64url segments and dots). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function ownerOfState(data: Record<string, unknown>): { subject: string } {
  const subject = data[OWNER_KEY];
  // A session without a sealed owner was not written by a cookie front: not ours to open.
  if (typeof subject !== 'string') throw new InvalidInputError('the session holds no sealed owner');
  return { subject };
}

export class WebSessions {
  readonly cookie: ResolvedCookie;
  private readonly principal: PrincipalResolver<Request> | undefined;
  private readonly touchAfterMs: number;
  private readonly cacheControl: string | false;
  private readonly now: () => number;

  constructor(
    readonly store: SecureStore,
    options: WebSessionsOptions = {},
  ) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('webSessions options must be an object');
    this.cookie = resolveCookie(options.cookie);
    if (options.principal !== undefined && typeof options.principal !== 'function') throw new InvalidInputError('principal must be a function');
    this.principal = options.principal;
    const touchAfterMs = options.touchAfterMs ?? 0;
    if (!Number.isSafeInteger(touchAfterMs) || touchAfterMs < 0) throw new InvalidInputError('touchAfterMs must be an integer >= 0');
    this.touchAfterMs = touchAfterMs;
    const cacheControl = options.cacheControl ?? 'no-store';
    if (cacheControl !== false && (typeof cacheControl !== 'string' || !/^[\x20-\x7E]+$/.test(cacheControl))) throw new InvalidInputError('cacheControl must be a header value or false');
    this.cacheControl = cacheControl;
    this.now = options.now ?? Date.now;
  }

  /** The request's session (see the file header); rejects with a 403 `owner_mismatch` on a principal mismatch. */
  async open(request: Request): Promise<WebSession> {
    const values = readCookies(request.headers.get('cookie'), this.cookie.name);
    if (values.length === 0) return new WebSession(this.store);
    // Two cookies of our name: one was planted (a sibling subdomain can add a cookie of the same
    // name with another Path or Domain; the __Host- prefix is what stops that). Trusting either
    // could seat the user in an attacker's session, so neither is used.
    if (values.length > 1) return new WebSession(this.store, { cookie: 'clear' });
    const token = values[0]!;
    const found = await this.resume(token);
    if (found === undefined) return new WebSession(this.store, { cookie: 'clear' });
    if (found.subject !== undefined && this.principal !== undefined) {
      const credential = await this.principal(request);
      // Session hijacking: the cookie alone (stolen, or replayed from another device) is not enough
      // when the application also knows who is calling. The session stays, for its real owner.
      if (typeof credential !== 'string' || !CookieSessionCore.sameSubject(found.subject, credential)) throw refusal();
    }
    return found;
  }

  private async resume(token: string): Promise<WebSession | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    try {
      // 1. Signature first: a forged cookie never reaches the store.
      const { payload } = verifyCompact(token, { typ: TOKEN_TYP, key: (kid) => this.store.keyring.keyFor('sign', kid) });
      if (typeof payload.sid !== 'string') return undefined;
      // 2. The session, as the owner sealed in it.
      const { owner, state, meta, expiresAt } = await loadAsNamedOwner(this.store, payload.sid, ownerOfState);
      // 3. The token in full, for that owner.
      this.store.verifyToken(token, owner);
      return new WebSession(this.store, { id: payload.sid, subject: owner.subject, state, renewedAt: expiresAt - meta.ttlMs, ttlMs: meta.ttlMs });
    } catch (err) {
      if (isSessionStoreError(err) && NO_SESSION.has(err.code)) {
        // The audit hook hears of a forged token as `verifyToken` reports one (step 1 checks before it).
        if (err.code === 'invalid_token') this.reportInvalid(token);
        return undefined;
      }
      throw err;
    }
  }

  private reportInvalid(token: string): void {
    try {
      this.store.verifyToken(token, { subject: ANONYMOUS_SUBJECT });
    } catch {
      // Expected: this call exists for the audit event it emits.
    }
  }

  /**
   * Writes what the request changed: the data (a new session is stored only once it holds data),
   * the idle deadline's renewal, the cookie (set after a new id, cleared after logout or for a dead
   * cookie) and `Cache-Control`. Resolves the response, the same object when its headers could be
   * changed in place, a copy otherwise (a `fetch()` response's headers are immutable).
   */
  async commit(session: WebSession, response: Response): Promise<Response> {
    const state = session.json();
    const now = this.now();
    const { owner } = session;
    if (session.id === undefined) {
      if (Object.keys(state).length > 0) {
        const id = await this.store.for(owner).create({ ...state, [OWNER_KEY]: owner.subject });
        session.stored(id, state, now);
      }
    } else if (session.changed(state)) {
      await this.store.for(owner).save(session.id, { ...state, [OWNER_KEY]: owner.subject }, { ttlMs: session.ttlMs });
      session.stored(session.id, state, now);
    } else if (now - session.renewedAt >= this.touchAfterMs) {
      try {
        await this.store.for(owner).updateTtl(session.id, session.ttlMs);
        session.renewedAt = now;
      } catch (err) {
        // Gone meanwhile (logout elsewhere, revocation): nothing to renew, the next request starts anew.
        if (!(isSessionStoreError(err, 'not_found') || isSessionStoreError(err, 'expired'))) throw err;
      }
    }
    const headers = new Headers();
    let cookie: string | undefined;
    if (session.cookie === 'set' && session.id !== undefined) cookie = this.setCookie(session.id, owner, now);
    else if (session.cookie === 'clear' || (session.cookie === 'set' && session.id === undefined)) cookie = serializeCookie(this.cookie, '', 0);
    if (cookie !== undefined) headers.append('set-cookie', cookie);
    const touched = session.id !== undefined || cookie !== undefined;
    if (this.cacheControl !== false && touched) {
      const current = response.headers.get('cache-control');
      // A response that sets the session cookie must not be stored by a shared cache.
      if (current === null || (cookie !== undefined && !/\b(private|no-store)\b/i.test(current))) headers.set('cache-control', current === null ? this.cacheControl : 'no-store');
    }
    session.cookie = 'none';
    return withHeaders(response, headers);
  }

  /** For a fetch-style route handler (Next.js): opens the session, runs `handler`, commits. */
  async handle(request: Request, handler: (session: WebSession) => Response | Promise<Response>): Promise<Response> {
    let session: WebSession;
    try {
      session = await this.open(request);
    } catch (err) {
      if (isSessionStoreError(err, 'owner_mismatch') && typeof (err as { getResponse?: unknown }).getResponse === 'function') {
        return (err as unknown as { getResponse(): Response }).getResponse();
      }
      throw err;
    }
    return this.commit(session, await handler(session));
  }

  private setCookie(id: string, owner: { subject: string }, now: number): string {
    const token = this.store.issueToken(id, owner);
    if (!this.cookie.persistent) return serializeCookie(this.cookie, token);
    // A persistent cookie lives exactly as long as its token (the session's absolute deadline).
    const exp = Number(JSON.parse(utf8Decode(base64urlDecode(token.split('.')[1]!)!)!).exp);
    return serializeCookie(this.cookie, token, Math.max(0, exp - Math.ceil(now / 1000)));
  }
}

/** `response` with `extra` headers appended (Set-Cookie) or set (the others). */
function withHeaders(response: Response, extra: Headers): Response {
  const apply = (target: Headers) => {
    for (const line of extra.getSetCookie()) target.append('set-cookie', line);
    const cache = extra.get('cache-control');
    if (cache !== null) target.set('cache-control', cache);
  };
  if (extra.getSetCookie().length === 0 && extra.get('cache-control') === null) return response;
  try {
    apply(response.headers);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    apply(copy.headers);
    return copy;
  }
}

/** The refusal of a principal mismatch: `owner_mismatch`, HTTP 403, with the response Hono's error handler sends. */
function refusal(): Error {
  const err = principalRefusal();
  return Object.assign(err, {
    getResponse: () => new Response(JSON.stringify({ error: 'owner_mismatch' }), { status: 403, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } }),
  });
}

/** Sessions over `store` for fetch-style handlers (see `WebSessionsOptions`). */
export function webSessions(store: SecureStore, options: WebSessionsOptions = {}): WebSessions {
  return new WebSessions(store, options);
}
