/**
 * sealed-session-store/fastify with the real fastify + @fastify/cookie + @fastify/session, over
 * real HTTP (fetch against a server on 127.0.0.1:0), over memory, Redis and PostgreSQL.
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, Keyring, MemoryStore, type RecordStore, type SecureStore, secureStore } from 'sealed-session-store';
import { ANONYMOUS_SUBJECT, OWNER_KEY, type SealedFastifyStore, bindSession, sealedFastifyStore } from 'sealed-session-store/fastify';
import { Browser, DAY, HOUR, MINUTE, frontFixtures, manualClock, sessionIdOf, signedCookie } from './harness.js';

const SECRET = 'a test secret of the fastify front, at least 32 characters';
const COOKIE = 'sessionId';

declare module 'fastify' {
  interface Session {
    visits?: number;
    user?: string;
    seenAt?: unknown;
  }
}

interface AppOptions {
  absoluteMs?: number;
  maxAge?: number;
  rolling?: boolean;
  onEvent?: (e: AuditEvent) => void;
}

interface TestApp {
  base: string;
  clock: ReturnType<typeof manualClock>;
  secure: SecureStore;
  backend: RecordStore;
  store: SealedFastifyStore;
  close: () => Promise<void>;
}

async function startApp(backend: RecordStore, clock: ReturnType<typeof manualClock>, options: AppOptions = {}): Promise<TestApp> {
  const secure = secureStore(backend, {
    keyring: Keyring.generate(),
    namespace: 'fastify-test',
    now: clock.now,
    ttl: { absoluteMs: options.absoluteMs ?? 12 * HOUR },
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  const maxAge = options.maxAge ?? 10 * MINUTE;
  const store = sealedFastifyStore(secure, { maxAge, now: clock.now });
  const app: FastifyInstance = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret: SECRET, store, saveUninitialized: false, rolling: options.rolling ?? true, cookie: { maxAge, secure: false } });
  app.get('/visit', async (request) => {
    request.session.visits = (request.session.visits ?? 0) + 1;
    request.session.seenAt = new Date(clock.now());
    return { visits: request.session.visits, user: request.session.user ?? null };
  });
  app.get('/me', async (request) => ({ user: request.session.user ?? null, visits: request.session.visits ?? 0 }));
  app.post<{ Querystring: { user: string; remember?: string } }>('/login', async (request) => {
    await bindSession(request, request.query.user);
    request.session.user = request.query.user;
    if (request.query.remember === '1') request.session.cookie.maxAge = 30 * DAY;
    await request.session.save();
    return { ok: true };
  });
  app.post('/logout', async (request) => {
    await request.session.destroy();
    return { ok: true };
  });
  // A credential checked independently of the cookie; here a header stands in for a verified bearer token.
  app.get('/api/me', { preHandler: store.principal((request) => request.headers['x-verified-user'] as string | undefined) }, async (request) => ({
    user: request.session.user ?? null,
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    clock,
    secure,
    backend,
    store,
    close: async () => {
      await app.close();
      await secure.close();
    },
  };
}

describe.each(frontFixtures)('@fastify/session over $name', (fixture) => {
  let skip: string | undefined;
  const apps: TestApp[] = [];
  const start = async (options: AppOptions = {}): Promise<TestApp> => {
    const clock = manualClock();
    const app = await startApp(await fixture.create({ now: clock.now }), clock, options);
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  afterAll(() => fixture.cleanup());

  beforeAll(async () => {
    skip = await fixture.skipReason();
  });
  const test = (name: string, fn: () => Promise<void>) => it(name, async (ctx) => (skip === undefined ? fn() : ctx.skip()));

  test('login: bindSession moves the session to a new id sealed to its user; the data moves along', async () => {
    const app = await start();
    const alice = new Browser(app.base);
    expect((await alice.json('/visit')).body).toEqual({ visits: 1, user: null });
    const anonymousId = sessionIdOf(alice.cookies.get(COOKIE))!;
    expect(await app.store.core.ownerOf(anonymousId)).toBe(ANONYMOUS_SUBJECT);

    expect((await alice.json('/login?user=alice', { method: 'POST' })).status).toBe(200);
    const boundId = sessionIdOf(alice.cookies.get(COOKIE))!;
    expect(boundId).not.toBe(anonymousId);
    expect(await app.backend.loadRecord(anonymousId)).toBeUndefined();
    expect(await app.store.core.ownerOf(boundId)).toBe('alice');
    expect((await alice.json('/me')).body).toEqual({ user: 'alice', visits: 1 });
    await expect(app.secure.for({ subject: 'bob' }).load(boundId)).rejects.toMatchObject({ code: 'owner_mismatch' });

    const planted = new Browser(app.base);
    planted.cookies.set(COOKIE, signedCookie(anonymousId, SECRET, ''));
    expect((await planted.json('/me')).body).toEqual({ user: null, visits: 0 });
  });

  test('revokeOwner logs the user out on every device; other users stay', async () => {
    const app = await start();
    const laptop = new Browser(app.base);
    const phone = new Browser(app.base);
    const bob = new Browser(app.base);
    await laptop.json('/login?user=alice', { method: 'POST' });
    await phone.json('/login?user=alice', { method: 'POST' });
    await bob.json('/login?user=bob', { method: 'POST' });
    app.clock.advance(1);
    await app.secure.revokeOwner('alice');
    expect((await laptop.json('/me')).body.user).toBeNull();
    expect((await phone.json('/me')).body.user).toBeNull();
    expect((await bob.json('/me')).body.user).toBe('bob');
  });

  test('principal(): a session sealed to alice is refused with another credential, or none', async () => {
    const app = await start();
    const alice = new Browser(app.base);
    const anon = new Browser(app.base);
    await anon.json('/visit');
    await alice.json('/login?user=alice', { method: 'POST' });
    expect(await alice.json('/api/me', { headers: { 'x-verified-user': 'alice' } })).toEqual({ status: 200, body: { user: 'alice' } });
    expect(await alice.json('/api/me', { headers: { 'x-verified-user': 'mallory' } })).toMatchObject({ status: 403, body: { code: 'owner_mismatch' } });
    expect(alice.lastSetCookie).toEqual([]);
    expect((await alice.json('/api/me')).status).toBe(403);
    expect((await anon.json('/api/me', { headers: { 'x-verified-user': 'mallory' } })).status).toBe(200);
    expect((await alice.json('/me')).body.user).toBe('alice');
  });

  test('idle deadline: rolling renews it on every request; without rolling it ends with the cookie', async () => {
    const app = await start({ rolling: true });
    const b = new Browser(app.base);
    await b.json('/login?user=alice', { method: 'POST' });
    for (let i = 0; i < 4; i++) {
      app.clock.advance(8 * MINUTE);
      expect((await b.json('/me')).body.user).toBe('alice');
    }
    app.clock.advance(10 * MINUTE + 1);
    expect((await b.json('/me')).body.user).toBeNull();

    const fixed = await start({ rolling: false });
    const c = new Browser(fixed.base);
    await c.json('/login?user=alice', { method: 'POST' });
    fixed.clock.advance(8 * MINUTE);
    expect((await c.json('/me')).body.user).toBe('alice');
    fixed.clock.advance(2 * MINUTE + 1);
    expect((await c.json('/me')).body.user).toBeNull();
  });

  test('absolute lifetime: a 30-day "remember me" lives past 12 h when the store allows it; refused otherwise', async () => {
    const app = await start({ absoluteMs: 31 * DAY, maxAge: 30 * DAY });
    const b = new Browser(app.base);
    await b.json('/login?user=alice&remember=1', { method: 'POST' });
    app.clock.advance(20 * HOUR);
    expect((await b.json('/me')).body.user).toBe('alice');
    app.clock.advance(29 * DAY);
    expect((await b.json('/me')).body.user).toBe('alice');
    app.clock.advance(2 * DAY);
    expect((await b.json('/me')).body.user).toBeNull();

    const short = secureStore(new MemoryStore(), { keyring: Keyring.generate() });
    expect(() => sealedFastifyStore(short, { maxAge: 30 * DAY })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    const app12 = await start();
    const c = new Browser(app12.base);
    expect(await c.json('/login?user=alice&remember=1', { method: 'POST' })).toMatchObject({ status: 500, body: { code: 'invalid_input' } });
  });

  test('logout: session.destroy removes the record', async () => {
    const app = await start();
    const b = new Browser(app.base);
    await b.json('/login?user=alice', { method: 'POST' });
    const id = sessionIdOf(b.cookies.get(COOKIE))!;
    expect(await app.backend.loadRecord(id)).toBeDefined();
    expect((await b.json('/logout', { method: 'POST' })).status).toBe(200);
    expect(await app.backend.loadRecord(id)).toBeUndefined();
    expect((await b.json('/me')).body.user).toBeNull();
  });

  test('the cookie round trip: expires comes back a Date; a Date in the data comes back as its ISO text', async () => {
    const app = await start();
    const b = new Browser(app.base);
    await b.json('/visit');
    const id = sessionIdOf(b.cookies.get(COOKIE))!;
    const got = await new Promise<Record<string, unknown> | null | undefined>((resolve, reject) =>
      app.store.get(id, (err, s) => (err ? reject(err as Error) : resolve(s as Record<string, unknown> | null))),
    );
    expect((got?.cookie as { expires?: unknown }).expires).toBeInstanceOf(Date);
    expect((got?.cookie as { originalMaxAge?: unknown }).originalMaxAge).toBe(10 * MINUTE);
    expect(got?.seenAt).toBe(new Date(app.clock.now()).toISOString());
    expect(got).not.toHaveProperty(OWNER_KEY);
    expect((await b.json('/visit')).body.visits).toBe(2);
  });

  test('tampered and foreign session ids get a fresh session; nothing is overwritten', async () => {
    const events: AuditEvent[] = [];
    const app = await start({ onEvent: (e) => events.push(e) });
    const alice = new Browser(app.base);
    await alice.json('/login?user=alice', { method: 'POST' });
    const aliceId = sessionIdOf(alice.cookies.get(COOKIE))!;

    const tampered = new Browser(app.base);
    const flipped = `${aliceId.slice(0, -1)}${aliceId.endsWith('A') ? 'B' : 'A'}`;
    tampered.cookies.set(COOKIE, alice.cookies.get(COOKIE)!.replace(aliceId, flipped));
    expect((await tampered.json('/visit')).body).toEqual({ visits: 1, user: null });
    expect(sessionIdOf(tampered.cookies.get(COOKIE))).not.toBe(flipped);

    const other = secureStore(app.backend, { keyring: Keyring.generate(), namespace: 'fastify-test', now: app.clock.now });
    const foreignId = 'y'.repeat(32);
    await other.for({ subject: 'alice' }).save(foreignId, { user: 'alice', [OWNER_KEY]: 'alice' });
    const foreign = new Browser(app.base);
    foreign.cookies.set(COOKIE, signedCookie(foreignId, SECRET, ''));
    expect((await foreign.json('/visit')).body).toEqual({ visits: 1, user: null });
    expect(sessionIdOf(foreign.cookies.get(COOKIE))).not.toBe(foreignId);
    expect(events.some((e) => e.type === 'integrity')).toBe(true);

    expect((await alice.json('/me')).body.user).toBe('alice');
    await expect(other.for({ subject: 'alice' }).load(foreignId)).resolves.toMatchObject({ user: 'alice' });
    await other.close();
  });

  test('the backend holds ciphertext only', async () => {
    const app = await start();
    const b = new Browser(app.base);
    await b.json('/login?user=alice-the-owner', { method: 'POST' });
    await b.json('/visit');
    const id = sessionIdOf(b.cookies.get(COOKIE))!;
    const rec = await app.backend.loadRecord(id);
    expect(rec?.value).toBeInstanceOf(Uint8Array);
    const text = Buffer.from(rec!.value as Uint8Array).toString('latin1');
    for (const clear of ['alice-the-owner', 'visits', 'cookie', 'expires', OWNER_KEY]) expect(text).not.toContain(clear);
  });
});
