/**
 * @fastify/session with sealed sessions: the one `store:` option, a login route that binds the
 * session to its user, "log out everywhere", and a route that also checks a bearer credential.
 * The script starts the app on a free loopback port and walks through it with fetch, as a browser
 * would. test/fronts/examples.test.ts runs it, so it never rots.
 *
 *   npx tsx examples/fastify.ts
 */
import { pathToFileURL } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { bindSession, sealedFastifyStore } from 'sealed-session-store/fastify';

declare module 'fastify' {
  interface Session {
    user?: string;
    cart?: string[];
  }
}

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  // In production: a keyset file (docs/encryption.md) and a shared backend (Redis, PostgreSQL).
  const sessions = secureStore(new MemoryStore(), {
    keyring: Keyring.generate(),
    namespace: 'fastify-example',
    ttl: { absoluteMs: 31 * 24 * 3600_000 }, // at least the longest cookie maxAge, "remember me" included
  });
  const maxAge = 30 * 24 * 3600_000;
  const store = sealedFastifyStore(sessions, { maxAge }); // refused here if maxAge outlived ttl.absoluteMs
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: process.env.SESSION_SECRET ?? 'example secret, 32+ characters: set SESSION_SECRET in production',
    store,
    saveUninitialized: false,
    // secure: true (the default) in production, behind HTTPS; this walkthrough speaks plain HTTP on loopback.
    cookie: { maxAge, httpOnly: true, sameSite: 'lax', secure: false },
  });
  app.post<{ Params: { item: string } }>('/cart/:item', async (request) => {
    request.session.cart = [...(request.session.cart ?? []), request.params.item];
    return { cart: request.session.cart };
  });
  app.post<{ Params: { user: string } }>('/login/:user', async (request) => {
    // (check the password first) then: a new session id, sealed to its user; the cart moves along
    await bindSession(request, request.params.user);
    request.session.user = request.params.user;
    return { user: request.session.user };
  });
  app.get('/me', async (request) => ({ user: request.session.user ?? null, cart: request.session.cart ?? [] }));
  // An API that also receives a verified credential (here a toy header standing in for a bearer token).
  app.get('/api/orders', { preHandler: store.principal((request) => request.headers['x-api-user'] as string | undefined) }, async (request) => ({
    orders: [],
    for: request.session.user ?? null,
  }));

  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  let cookie = '';
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
    const set = res.headers.getSetCookie()[0];
    if (set !== undefined) cookie = set.split(';')[0]!;
    const body = (await res.json()) as Record<string, unknown>;
    return `${res.status} ${JSON.stringify(res.ok ? body : { code: body.code })}`;
  };
  const sid = () => decodeURIComponent(cookie.split('=')[1] ?? '').slice(0, 8);

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
    await app.close();
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
