/**
 * sealed-session-store/web: sessions over the web-standard `Request` / `Response` (Hono, Next.js
 * route handlers, any fetch-style handler), kept server-side by `secureStore()`, with a session
 * cookie of secure defaults (`HttpOnly`, `Secure`, `SameSite=Lax`, `__Host-` prefix) that holds a
 * session token. `login` binds a session to its user under a new id; `logout` deletes it. The Hono
 * middleware needs `hono` (an optional peer; types only); the edge check needs no store. See
 * docs/web.md.
 */
export { type ResolvedCookie, type SameSite, type SessionCookieOptions, readCookies, resolveCookie, serializeCookie } from './cookie.js';
export { type CookieChange, WebSession } from './session.js';
export { WebSessions, type WebSessionsOptions, webSessions } from './sessions.js';
export { type SealedSessionEnv, sealedSession } from './hono.js';
export { type SessionCookieCheck, type VerifySessionCookieOptions, verifySessionCookie } from './edge.js';
export { ANONYMOUS_SUBJECT, type PrincipalResolver } from '../express/core.js';
