/**
 * express-session with sealed sessions: the one `store:` line, a login route that binds the
 * session to its user, "log out everywhere", and a route that also checks a bearer credential.
 * The script starts the app on a free loopback port and walks through it with fetch, as a browser
 * would. test/fronts/examples.test.ts runs it, so it never rots.
 *
 *   npx tsx examples/express.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import session from 'express-session';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { bindSession, sealedExpressStore } from 'sealed-session-store/express';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    cart?: string[];
  }
}

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  // In production: a keyset file (docs/encryption.md) and a shared backend (Redis, PostgreSQL).
  const sessions = secureStore(new MemoryStore(), {
    keyring: Keyring.generate(),
    namespace: 'express-example',
    ttl: { absoluteMs: 31 * 24 * 3600_000 }, // at least the longest cookie maxAge, "remember me" included
  });
  const maxAge = 30 * 24 * 3600_000;
  const store = sealedExpressStore(sessions, { maxAge }); // refused here if maxAge outlived ttl.absoluteMs
  const app = express();
  app.use(
    session({
      secret: process.env.SESSION_SECRET ?? 'example secret: set SESSION_SECRET in production',
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge, httpOnly: true, sameSite: 'lax' },
    }),
  );
  app.post('/cart/:item', (req, res) => {
    req.session.cart = [...(req.session.cart ?? []), req.params.item];
    res.json({ cart: req.session.cart });
  });
  app.post('/login/:user', async (req, res) => {
    // (check the password first) then: a new session id, sealed to its user; the cart moves along
    await bindSession(req, req.params.user);
    req.session.user = req.params.user;
    res.json({ user: req.session.user });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.session.user ?? null, cart: req.session.cart ?? [] });
  });
  // An API that also receives a verified credential (here a toy header standing in for a bearer token).
  app.get(
    '/api/orders',
    store.principal((req) => req.get('x-api-user')),
    (req, res) => {
      res.json({ orders: [], for: req.session.user ?? null });
    },
  );
  app.use((err: Error & { status?: number; code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).json({ error: err.code ?? 'error' });
  });

  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let cookie = '';
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
    const set = res.headers.getSetCookie()[0];
    if (set !== undefined) cookie = set.split(';')[0]!;
    return `${res.status} ${await res.text()}`;
  };
  const sid = () => decodeURIComponent(cookie.split('=')[1] ?? '').slice(2, 10);

  try {
    say('1. An anonymous visitor fills a cart');
    say(`   POST /cart/book -> ${await call('POST', '/cart/book')} (session ${sid()}…)`);
    say('2. Login: bindSession gives the session a new id, sealed to alice');
    say(`   POST /login/alice -> ${await call('POST', '/login/alice')} (session ${sid()}…)`);
    say(`   GET /me -> ${await call('GET', '/me')}`);
    say('3. An API route that also checks a credential: the cookie alone is not enough');
    say(`   GET /api/orders as alice -> ${await call('GET', '/api/orders', { 'x-api-user': 'alice' })}`);
    say(`   GET /api/orders as mallory -> ${await call('GET', '/api/orders', { 'x-api-user': 'mallory' })}`);
    say('4. "Log out everywhere": revokeOwner ends every session of alice, in every process');
    await sessions.revokeOwner('alice');
    say(`   GET /me -> ${await call('GET', '/me')}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sessions.close();
  }
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
