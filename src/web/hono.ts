/**
 * The Hono middleware of `./web`: `c.get('session')` in every handler, committed when the handler
 * is done. Hono is an optional peer; this module imports its types only, so `./web` loads in a
 * Next.js or plain fetch-handler project without it.
 *
 *   const app = new Hono<SealedSessionEnv>();
 *   app.use(sealedSession(webSessions(store)));
 *   app.post('/login', async (c) => { await c.get('session').login(user); return c.json({ ok: true }); });
 */
import type { MiddlewareHandler } from 'hono';
import type { WebSession } from './session.js';
import type { WebSessions } from './sessions.js';

/** The Hono environment the middleware sets: `c.get('session')` / `c.var.session`. */
export interface SealedSessionEnv {
  Variables: { session: WebSession };
}

/**
 * Opens the request's session before the handler and commits it after (store write, cookie,
 * `Cache-Control`). A principal mismatch is thrown (403 `owner_mismatch`; Hono's default error
 * handler answers with its response, and `app.onError` sees it first). The commit also runs after a
 * handler that threw (Hono turned the error into the response already), as express-session does.
 */
export function sealedSession(sessions: WebSessions): MiddlewareHandler<SealedSessionEnv> {
  return async (c, next) => {
    const session = await sessions.open(c.req.raw);
    c.set('session', session);
    await next();
    const committed = await sessions.commit(session, c.res);
    if (committed !== c.res) c.res = committed;
  };
}
