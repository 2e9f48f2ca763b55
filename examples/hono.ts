/**
 * Hono with sealed sessions (sealed-session-store/web): the session cookie with secure defaults, a
 * login that binds the session to its user under a new id, an API that also checks a credential,
 * logout, and the edge check (token keys only, no store). The script starts the app under Node
 * (@hono/node-server) on a free loopback port and walks through it with fetch, as a browser would.
 * test/fronts/examples.test.ts runs it, so it never rots.
 *
 *   npx tsx examples/hono.ts
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { except } from 'hono/combine';
import { pathToFileURL } from 'node:url';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { tokenVerifier } from 'sealed-session-store/tokens';
import { type SealedSessionEnv, sealedSession, verifySessionCookie, webSessions } from 'sealed-session-store/web';

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  // In production: a keyset file (docs/encryption.md) and a shared backend (Redis, PostgreSQL).
  const store = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'hono-example' });
  // Defaults: cookie __Host-sid; HttpOnly; Secure; SameSite=Lax; Path=/. This demo talks to
  // http://127.0.0.1 with its own cookie jar, so Secure does not get in its way.
  const sessions = webSessions(store);
  // An API that also receives a verified credential (here a toy header standing in for a bearer token).
  const apiSessions = webSessions(store, { principal: (req) => req.headers.get('x-api-user') ?? undefined });

  const app = new Hono<SealedSessionEnv>();
  app.use('/api/*', sealedSession(apiSessions));
  app.use(except('/api/*', sealedSession(sessions)));
  app.post('/cart/:item', (c) => {
    const cart = [...(c.get('session').get<string[]>('cart') ?? []), c.req.param('item')];
    c.get('session').set('cart', cart);
    return c.json({ cart });
  });
  app.post('/login/:user', async (c) => {
    // (check the password first) then: a new session id, bound to its user; the cart moves along
    await c.get('session').login(c.req.param('user'));
    return c.json({ user: c.get('session').subject });
  });
  app.post('/logout', async (c) => {
    await c.get('session').logout();
    return c.json({ user: null });
  });
  app.get('/me', (c) => c.json({ user: c.get('session').subject ?? null, cart: c.get('session').get('cart') ?? [] }));
  app.get('/api/orders', (c) => c.json({ orders: [], for: c.get('session').subject ?? null }));

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  let cookie = '';
  let setCookie = '';
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
    setCookie = res.headers.getSetCookie()[0] ?? '';
    if (setCookie !== '') cookie = setCookie.includes('Max-Age=0') ? '' : setCookie.split(';')[0]!;
    return `${res.status} ${await res.text()}`;
  };
  const sid = () => JSON.parse(Buffer.from(cookie.split('.')[1] ?? 'e30', 'base64url').toString()).sid?.slice(0, 8) as string;
  // At the edge (Next.js middleware, a worker): the token keys only, never the encryption key.
  const verifier = tokenVerifier(store.keyring.insecureExportTokenKeys());
  const edge = () => verifySessionCookie(new Request(base, { headers: { cookie } }), verifier)?.kind ?? 'none';

  try {
    say('1. An anonymous visitor fills a cart: the first write sets the cookie');
    say(`   POST /cart/book -> ${await call('POST', '/cart/book')} (session ${sid()}…)`);
    say(`   Set-Cookie attributes: ${setCookie.split('; ').slice(1).join('; ')}`);
    say(`   edge check: ${edge()}`);
    say('2. Login: a new session id, bound to alice');
    say(`   POST /login/alice -> ${await call('POST', '/login/alice')} (session ${sid()}…)`);
    say(`   GET /me -> ${await call('GET', '/me')}`);
    say(`   edge check: ${edge()}`);
    say('3. An API route that also checks a credential: the cookie alone is not enough');
    say(`   GET /api/orders as alice -> ${await call('GET', '/api/orders', { 'x-api-user': 'alice' })}`);
    say(`   GET /api/orders as mallory -> ${await call('GET', '/api/orders', { 'x-api-user': 'mallory' })}`);
    say('4. Logout deletes the session and clears the cookie');
    const before = cookie;
    say(`   POST /logout -> ${await call('POST', '/logout')}`);
    cookie = before;
    say(`   the old cookie replayed: GET /me -> ${await call('GET', '/me')}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  }
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
