/**
 * sealed-session-store/express: an express-session store over `secureStore()`. Sessions are sealed
 * at rest, their idle deadline follows the cookie's maxAge inside the seal, and a login route's
 * `bindSession(req, subject)` gives the session a new id sealed to its user, so
 * `revokeOwner(subject)` logs that user out everywhere. `express-session` (and `express`) are
 * optional peer dependencies, loaded only from here. See docs/express.md.
 *
 *   app.use(session({ secret, store: sealedExpressStore(sessions), resave: false, saveUninitialized: false }));
 */
import type { Request } from 'express';
import { InvalidInputError, type SecureStore } from '../internal.js';
import type { CookieSessionStoreOptions } from './core.js';
import { SealedExpressStore } from './store.js';

export { ANONYMOUS_SUBJECT, type CookieSession, type CookieSessionStoreOptions, OWNER_KEY, type PrincipalResolver } from './core.js';
export { SealedExpressStore } from './store.js';
export { type SessionAdopter } from './core.js';
export {
  type AdoptAllOptions,
  type AdoptAllResult,
  type AdoptOutcome,
  type AdoptProgress,
  ConnectRedisAdopter,
  type ConnectRedisAdoptionOptions,
  adoptConnectRedis,
} from '../adopt/connect-redis.js';

/** An express-session store over `store` (see `CookieSessionStoreOptions`; `maxAge` is checked here, at startup). */
export function sealedExpressStore(store: SecureStore, options: CookieSessionStoreOptions = {}): SealedExpressStore {
  return new SealedExpressStore(store, options);
}

/** In a login route: a new session id, sealed to `subject` (see `SealedExpressStore.bindSession`). */
export function bindSession(req: Request, subject: string): Promise<void> {
  const store: unknown = req.sessionStore;
  if (!(store instanceof SealedExpressStore)) {
    return Promise.reject(new InvalidInputError('bindSession needs express-session with a sealedExpressStore() store before it'));
  }
  return store.bindSession(req, subject);
}
