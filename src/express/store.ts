/**
 * The express-session store: a `session.Store` subclass (express-session calls `on`, `regenerate`,
 * `load` and `createSession` on its store, which the base class provides) whose get / set /
 * destroy / touch / all / ids / length / clear go through `CookieSessionCore` to `secureStore()`.
 */
import session from 'express-session';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { InvalidInputError, type SecureStore } from '../internal.js';
import {
  ANONYMOUS_SUBJECT,
  CookieSessionCore,
  type CookieSession,
  type CookieSessionStoreOptions,
  OWNER_KEY,
  type PrincipalResolver,
  assertSubject,
  principalRefusal,
} from './core.js';

type Callback<T = void> = (err?: unknown, value?: T) => void;
type SessionData = session.SessionData;

/** Calls a framework callback with a promise's outcome, outside the promise chain (a throwing callback is never called twice). */
function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): void {
  promise.then(
    (value) => {
      if (callback !== undefined) process.nextTick(callback, null, value);
    },
    (err: unknown) => {
      if (callback !== undefined) process.nextTick(callback, err);
    },
  );
}

export class SealedExpressStore extends session.Store {
  readonly core: CookieSessionCore;

  constructor(store: SecureStore, options: CookieSessionStoreOptions = {}) {
    super();
    this.core = new CookieSessionCore(store, options);
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    settle(
      this.core.get(sid).then((found) => (found ?? null) as SessionData | null),
      callback,
    );
  }

  override set(sid: string, sess: SessionData, callback?: (err?: unknown) => void): void {
    settle(this.core.set(sid, sess), callback);
  }

  override touch(sid: string, sess: SessionData, callback?: (err?: unknown) => void): void {
    settle(this.core.touch(sid, sess), callback);
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    settle(this.core.destroy(sid), callback);
  }

  override all(callback: (err: unknown, obj?: { [sid: string]: SessionData } | null) => void): void {
    settle(this.core.all() as Promise<Record<string, CookieSession>> as unknown as Promise<{ [sid: string]: SessionData }>, callback);
  }

  /** Every live session id (connect-redis has the same method). */
  ids(callback: (err: unknown, ids?: string[]) => void): void {
    settle(this.core.ids(), callback);
  }

  override length(callback: (err: unknown, length?: number) => void): void {
    settle(
      this.core.ids().then((ids) => ids.length),
      callback,
    );
  }

  override clear(callback?: (err?: unknown) => void): void {
    settle(this.core.clear(), callback);
  }

  /**
   * At login: gives the session a new id (OWASP: a session id changes when its privilege does, so
   * an id planted before login, session fixation, is worth nothing after) and seals `subject` as its
   * owner, so `revokeOwner(subject)` ends it. The session's data and its cookie's maxAge move along.
   */
  async bindSession(req: Request, subject: string): Promise<void> {
    assertSubject(subject);
    const current = req.session as (session.Session & Partial<SessionData>) | undefined;
    if (current === undefined || current === null) throw new InvalidInputError('bindSession needs the express-session middleware before it (req.session is not set)');
    if ((req.sessionStore as unknown) !== this) throw new InvalidInputError('bindSession: this request belongs to another session store');
    const kept: Record<string, unknown> = {};
    for (const key of Object.keys(current)) if (key !== 'cookie' && key !== OWNER_KEY) kept[key] = (current as unknown as Record<string, unknown>)[key];
    const maxAge = current.cookie.originalMaxAge;
    await new Promise<void>((resolve, reject) => current.regenerate((err: unknown) => (err ? reject(err as Error) : resolve())));
    const fresh = req.session;
    Object.assign(fresh, kept);
    if (typeof maxAge === 'number') fresh.cookie.maxAge = maxAge;
    this.core.claim(req.sessionID, subject);
    await new Promise<void>((resolve, reject) => fresh.save((err: unknown) => (err ? reject(err as Error) : resolve())));
  }

  /**
   * Middleware, after express-session: a session sealed to a user passes only when `resolve(req)`,
   * a credential the application checks independently of the cookie (a bearer token, a client
   * certificate), names the same user. Otherwise the request is refused (`owner_mismatch`, HTTP
   * 403) and the session is neither read further nor renewed. Anonymous sessions pass.
   */
  principal(resolve: PrincipalResolver<Request>): RequestHandler {
    return (req: Request, _res: Response, next: NextFunction) => {
      void this.checkPrincipal(req, resolve).then(next, next);
    };
  }

  private async checkPrincipal(req: Request, resolve: PrincipalResolver<Request>): Promise<unknown> {
    if (req.session === undefined || req.session === null) return undefined;
    const sealed = await this.core.ownerOf(req.sessionID);
    if (sealed === undefined || sealed === ANONYMOUS_SUBJECT) return undefined;
    const credential = await resolve(req);
    if (typeof credential === 'string' && CookieSessionCore.sameSubject(sealed, credential)) return undefined;
    // Session hijacking: the cookie alone (stolen, or replayed from another device) is not enough
    // when the application also knows who is calling. The session stays, for its real owner; this
    // request neither sees it nor keeps it alive (express-session skips a null session at the end).
    (req as { session: unknown }).session = null;
    return principalRefusal();
  }
}
