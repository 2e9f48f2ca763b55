/**
 * sealed-session-store/fastify: a @fastify/session store over `secureStore()`, the same store as
 * `./express` behind @fastify/session's interface (set / get / destroy with callbacks). Sessions are
 * sealed at rest, their idle deadline follows the cookie's maxAge inside the seal, and a login
 * route's `bindSession(request, subject)` gives the session a new id sealed to its user, so
 * `revokeOwner(subject)` logs that user out everywhere. `fastify`, `@fastify/cookie` and
 * `@fastify/session` are optional peer dependencies; this module loads none of them (types only).
 * See docs/fastify.md.
 *
 *   await app.register(fastifySession, { secret, store: sealedFastifyStore(sessions) });
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
// @fastify/session's declarations add `session` and `sessionStore` to FastifyRequest.
import type {} from '@fastify/session';
import { InvalidInputError, type SecureStore } from '../internal.js';
import {
  ANONYMOUS_SUBJECT,
  CookieSessionCore,
  type CookieSessionStoreOptions,
  OWNER_KEY,
  type PrincipalResolver,
  assertSubject,
  principalRefusal,
} from '../express/core.js';

export { ANONYMOUS_SUBJECT, type CookieSession, type CookieSessionStoreOptions, OWNER_KEY, type PrincipalResolver } from '../express/core.js';

type Callback = (err?: unknown) => void;
type SessionCallback = (err: unknown, result?: never | null) => void;

/** Calls a framework callback with a promise's outcome, outside the promise chain. */
function settle<T>(promise: Promise<T>, callback: (err: unknown, value?: T) => void): void {
  promise.then(
    (value) => process.nextTick(callback, null, value),
    (err: unknown) => process.nextTick(callback, err),
  );
}

export class SealedFastifyStore {
  readonly core: CookieSessionCore;

  constructor(store: SecureStore, options: CookieSessionStoreOptions = {}) {
    this.core = new CookieSessionCore(store, options);
  }

  get(sessionId: string, callback: SessionCallback): void {
    settle(
      this.core.get(sessionId).then((found) => (found ?? null) as never),
      callback,
    );
  }

  set(sessionId: string, session: object, callback: Callback): void {
    settle(this.core.set(sessionId, session), callback);
  }

  destroy(sessionId: string, callback: Callback): void {
    settle(this.core.destroy(sessionId), callback);
  }

  /**
   * At login: gives the session a new id (OWASP: a session id changes when its privilege does, so
   * an id planted before login, session fixation, is worth nothing after) and seals `subject` as its
   * owner, so `revokeOwner(subject)` ends it. The session's data and its cookie's maxAge move along.
   */
  async bindSession(request: FastifyRequest, subject: string): Promise<void> {
    assertSubject(subject);
    const current = request.session as FastifyRequest['session'] | null | undefined;
    if (current === null || current === undefined || typeof current.regenerate !== 'function') {
      throw new InvalidInputError('bindSession needs @fastify/session registered (request.session is not set)');
    }
    if ((request.sessionStore as unknown) !== this) throw new InvalidInputError('bindSession: this request belongs to another session store');
    const keys = Object.keys(current).filter((key) => key !== 'cookie' && key !== OWNER_KEY);
    const maxAge = current.cookie.originalMaxAge;
    // @fastify/session writes the new id at once, under the anonymous owner (this store cannot
    // tell it is a login); it is deleted and written again sealed to its user.
    await current.regenerate(keys);
    const fresh = request.session;
    await this.core.destroy(fresh.sessionId);
    this.core.claim(fresh.sessionId, subject);
    if (typeof maxAge === 'number' && maxAge > 0) fresh.cookie.maxAge = maxAge;
    await fresh.save();
  }

  /**
   * A `preHandler` hook: a session sealed to a user passes only when `resolve(request)`, a
   * credential the application checks independently of the cookie (a bearer token, a client
   * certificate), names the same user. Otherwise the request is refused (`owner_mismatch`, HTTP
   * 403) and the session is neither saved nor renewed. Anonymous sessions pass.
   */
  principal(resolve: PrincipalResolver<FastifyRequest>): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
    return async (request) => {
      const session = request.session as FastifyRequest['session'] | null | undefined;
      if (session === null || session === undefined || typeof session.sessionId !== 'string') return;
      const sealed = await this.core.ownerOf(session.sessionId);
      if (sealed === undefined || sealed === ANONYMOUS_SUBJECT) return;
      const credential = await resolve(request);
      if (typeof credential === 'string' && CookieSessionCore.sameSubject(sealed, credential)) return;
      // Session hijacking: the cookie alone (stolen, or replayed from another device) is not
      // enough when the application also knows who is calling. The session stays, for its real
      // owner; @fastify/session skips a null session when the reply is sent.
      (request as unknown as { session: unknown }).session = null;
      throw principalRefusal();
    };
  }
}

/** A @fastify/session store over `store` (see `CookieSessionStoreOptions`; `maxAge` is checked here, at startup). */
export function sealedFastifyStore(store: SecureStore, options: CookieSessionStoreOptions = {}): SealedFastifyStore {
  return new SealedFastifyStore(store, options);
}

/** In a login route: a new session id, sealed to `subject` (see `SealedFastifyStore.bindSession`). */
export function bindSession(request: FastifyRequest, subject: string): Promise<void> {
  const store: unknown = request.sessionStore;
  if (!(store instanceof SealedFastifyStore)) {
    return Promise.reject(new InvalidInputError('bindSession needs @fastify/session with a sealedFastifyStore() store'));
  }
  return store.bindSession(request, subject);
}
