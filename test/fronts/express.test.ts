/**
 * sealed-session-store/express with the real express + express-session, over real HTTP (fetch
 * against a server on 127.0.0.1:0), over memory, Redis and PostgreSQL.
 */
import { createServer } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, Keyring, MemoryStore, type RecordStore, type SecureStore, secureStore } from 'sealed-session-store';
import { ANONYMOUS_SUBJECT, OWNER_KEY, SealedExpressStore, bindSession, sealedExpressStore } from 'sealed-session-store/express';
import { Browser, DAY, HOUR, MINUTE, frontFixtures, listen, manualClock, sessionIdOf, signedCookie } from './harness.js';

const SECRET = 'a test secret of the express front, not a real one';
const COOKIE = 'connect.sid';

declare module 'express-session' {
  interface SessionData {
    visits?: number;
    user?: string;
    seenAt?: unknown;
  }
}

interface AppOptions {
  absoluteMs?: number;
  maxAge?: number;
  touchAfterMs?: number;
  rolling?: boolean;
  onEvent?: (e: AuditEvent) => void;
}

interface TestApp {
  base: string;
  clock: ReturnType<typeof manualClock>;
  secure: SecureStore;
  backend: RecordStore;
  store: SealedExpressStore;
  close: () => Promise<void>;
}

async function startApp(backend: RecordStore, clock: ReturnType<typeof manualClock>, options: AppOptions = {}): Promise<TestApp> {
  const secure = secureStore(backend, {
    keyring: Keyring.generate(),
    namespace: 'express-test',
    now: clock.now,
    ttl: { absoluteMs: options.absoluteMs ?? 12 * HOUR },
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  const maxAge = options.maxAge ?? 10 * MINUTE;
  const store = sealedExpressStore(secure, { maxAge, now: clock.now, touchAfterMs: options.touchAfterMs ?? 0 });
  const app = express();
  app.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false, rolling: options.rolling ?? false, cookie: { maxAge } }));
  app.get('/visit', (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    req.session.seenAt = new Date(clock.now());
    res.json({ visits: req.session.visits, user: req.session.user ?? null });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.session.user ?? null, visits: req.session.visits ?? 0 });
  });
  app.post('/login', async (req, res) => {
    const user = String(req.query.user);
    await bindSession(req, user);
    req.session.user = user;
    if (req.query.remember === '1') {
      req.session.cookie.maxAge = 30 * DAY;
      // Saved before answering, as express-session advises for a login: a refusal reaches the client.
      await new Promise<void>((resolve, reject) => req.session.save((err: unknown) => (err ? reject(err as Error) : resolve())));
    }
    res.json({ ok: true });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
  });
  // A credential checked independently of the cookie; here a header stands in for a verified bearer token.
  app.get(
    '/api/me',
    store.principal((req) => req.get('x-verified-user')),
    (req, res) => {
      res.json({ user: req.session.user ?? null });
    },
  );
  app.use((err: Error & { status?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ code: err.code ?? 'error', message: err.message });
  });
  const server = await listen(createServer(app));
  return {
    base: server.base,
    clock,
    secure,
    backend,
    store,
    close: async () => {
      await server.close();
      await secure.close();
    },
  };
}

describe.each(frontFixtures)('express-session over $name', (fixture) => {
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
    expect(boundId).not.toBe(anonymousId); // OWASP: a new id at login (no session fixation)
    expect(await app.backend.loadRecord(anonymousId)).toBeUndefined();
    expect(await app.store.core.ownerOf(boundId)).toBe('alice');
    expect((await alice.json('/me')).body).toEqual({ user: 'alice', visits: 1 });

    // The sealed owner is alice's: her scoped view opens the session, another's does not.
    await expect(app.secure.for({ subject: 'alice' }).load(boundId)).resolves.toMatchObject({ user: 'alice', [OWNER_KEY]: 'alice' });
    await expect(app.secure.for({ subject: 'bob' }).load(boundId)).rejects.toMatchObject({ code: 'owner_mismatch' });

    // The old cookie (a planted pre-login id) leads nowhere.
    const planted = new Browser(app.base);
    planted.cookies.set(COOKIE, signedCookie(anonymousId, SECRET));
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
    expect((await phone.json('/me')).body.user).toBe('alice');

    app.clock.advance(1);
    await app.secure.revokeOwner('alice');
    expect((await laptop.json('/me')).body.user).toBeNull();
    expect((await phone.json('/me')).body.user).toBeNull();
    expect((await bob.json('/me')).body.user).toBe('bob');

    // Logging in again after the revocation works.
    app.clock.advance(1);
    await laptop.json('/login?user=alice', { method: 'POST' });
    expect((await laptop.json('/me')).body.user).toBe('alice');
  });

  test('principal(): a session sealed to alice is refused with another credential, or none', async () => {
    const app = await start();
    const alice = new Browser(app.base);
    const anon = new Browser(app.base);
    await anon.json('/visit');
    await alice.json('/login?user=alice', { method: 'POST' });

    expect(await alice.json('/api/me', { headers: { 'x-verified-user': 'alice' } })).toEqual({ status: 200, body: { user: 'alice' } });
    const stolen = await alice.json('/api/me', { headers: { 'x-verified-user': 'mallory' } });
    expect(stolen).toMatchObject({ status: 403, body: { code: 'owner_mismatch' } });
    expect(alice.lastSetCookie).toEqual([]);
    expect((await alice.json('/api/me')).status).toBe(403);
    // Anonymous sessions carry nobody's data: they pass.
    expect((await anon.json('/api/me', { headers: { 'x-verified-user': 'mallory' } })).status).toBe(200);
    // The refused request did not end alice's session.
    expect((await alice.json('/me')).body.user).toBe('alice');
  });

  test('idle deadline: the cookie maxAge, renewed by every request (touch), rolling or not', async () => {
    for (const rolling of [false, true]) {
      const app = await start({ rolling, maxAge: 10 * MINUTE });
      const b = new Browser(app.base);
      await b.json('/login?user=alice', { method: 'POST' });
      for (let i = 0; i < 4; i++) {
        app.clock.advance(8 * MINUTE); // 32 minutes in all, never 10 idle
        const res = await b.json('/me');
        expect(res.body.user).toBe('alice');
        // rolling: express-session re-sends the cookie on every response
        expect(b.lastSetCookie.some((c) => c.startsWith(`${COOKIE}=`))).toBe(rolling);
      }
      app.clock.advance(10 * MINUTE + 1);
      expect((await b.json('/me')).body.user).toBeNull();
    }
  });

  test('touchAfterMs: touches within the interval of the last renewal are skipped (one write fewer, a deadline that may come earlier)', async () => {
    const app = await start({ touchAfterMs: 5 * MINUTE });
    const b = new Browser(app.base);
    await b.json('/login?user=alice', { method: 'POST' });
    app.clock.advance(3 * MINUTE);
    expect((await b.json('/me')).body.user).toBe('alice'); // touch skipped: renewed 3 min ago
    app.clock.advance(7 * MINUTE + 1);
    expect((await b.json('/me')).body.user).toBeNull(); // 10 min after the last renewal

    const c = new Browser(app.base);
    await c.json('/login?user=carol', { method: 'POST' });
    app.clock.advance(6 * MINUTE);
    expect((await c.json('/me')).body.user).toBe('carol'); // 6 min > 5: renewed
    app.clock.advance(9 * MINUTE);
    expect((await c.json('/me')).body.user).toBe('carol');
  });

  test('absolute lifetime: a 30-day "remember me" lives past 12 h when the store allows it, and is refused at startup when it does not', async () => {
    const app = await start({ absoluteMs: 31 * DAY, maxAge: 30 * DAY });
    const b = new Browser(app.base);
    await b.json('/login?user=alice&remember=1', { method: 'POST' });
    app.clock.advance(20 * HOUR);
    expect((await b.json('/me')).body.user).toBe('alice');
    app.clock.advance(29 * DAY);
    expect((await b.json('/me')).body.user).toBe('alice');
    app.clock.advance(2 * DAY); // past the absolute lifetime, whatever the cookie says
    expect((await b.json('/me')).body.user).toBeNull();

    const short = secureStore(new MemoryStore(), { keyring: Keyring.generate() });
    expect(() => sealedExpressStore(short, { maxAge: 30 * DAY })).toThrow(/absolute session lifetime/);
    expect(() => sealedExpressStore(short, { maxAge: 30 * DAY })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    // A cookie set longer at run time than the store allows is refused loudly, never cut silently.
    const app12 = await start({ maxAge: 10 * MINUTE });
    const c = new Browser(app12.base);
    expect(await c.json('/login?user=alice&remember=1', { method: 'POST' })).toMatchObject({ status: 500, body: { code: 'invalid_input' } });
  });

  test('logout: req.session.destroy removes the record', async () => {
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
    const got = await new Promise<session.SessionData | null | undefined>((resolve, reject) => app.store.get(id, (err, s) => (err ? reject(err as Error) : resolve(s))));
    expect(got?.cookie.expires).toBeInstanceOf(Date);
    expect(got?.cookie.originalMaxAge).toBe(10 * MINUTE);
    expect(got?.seenAt).toBe(new Date(app.clock.now()).toISOString());
    expect(got).not.toHaveProperty(OWNER_KEY);
    expect((await b.json('/visit')).body.visits).toBe(2);
    // all / ids / length / clear
    const all = await new Promise<Record<string, unknown>>((resolve, reject) => app.store.all((err, s) => (err ? reject(err as Error) : resolve(s as Record<string, unknown>))));
    expect(Object.keys(all)).toEqual([id]);
    expect(await new Promise((resolve) => app.store.ids((_e, ids) => resolve(ids)))).toEqual([id]);
    expect(await new Promise((resolve) => app.store.length((_e, n) => resolve(n)))).toBe(1);
    await new Promise<void>((resolve, reject) => app.store.clear((err) => (err ? reject(err as Error) : resolve())));
    expect(await new Promise((resolve) => app.store.length((_e, n) => resolve(n)))).toBe(0);
  });

  test('tampered and foreign session ids get a fresh session; nothing is overwritten', async () => {
    const events: AuditEvent[] = [];
    const app = await start({ onEvent: (e) => events.push(e) });
    const alice = new Browser(app.base);
    await alice.json('/login?user=alice', { method: 'POST' });
    const aliceId = sessionIdOf(alice.cookies.get(COOKIE))!;

    // Tampered: one character of the signed id changed (express-session's signature check).
    const tampered = new Browser(app.base);
    const flipped = `${aliceId.slice(0, -1)}${aliceId.endsWith('A') ? 'B' : 'A'}`;
    tampered.cookies.set(COOKIE, alice.cookies.get(COOKIE)!.replace(aliceId, flipped));
    expect((await tampered.json('/visit')).body).toEqual({ visits: 1, user: null });
    expect(sessionIdOf(tampered.cookies.get(COOKIE))).not.toBe(flipped);

    // Foreign: a record another store (another keyring) wrote under an id, presented with a valid signature.
    const other = secureStore(app.backend, { keyring: Keyring.generate(), namespace: 'express-test', now: app.clock.now });
    const foreignId = 'x'.repeat(32);
    await other.for({ subject: 'alice' }).save(foreignId, { user: 'alice', [OWNER_KEY]: 'alice' });
    const foreign = new Browser(app.base);
    foreign.cookies.set(COOKIE, signedCookie(foreignId, SECRET));
    expect((await foreign.json('/visit')).body).toEqual({ visits: 1, user: null });
    expect(sessionIdOf(foreign.cookies.get(COOKIE))).not.toBe(foreignId);
    expect(events.some((e) => e.type === 'integrity')).toBe(true);
    // A reserved or malformed id is no session either.
    const reserved = new Browser(app.base);
    reserved.cookies.set(COOKIE, signedCookie('~rv.x', SECRET));
    expect((await reserved.json('/me')).status).toBe(200);

    // A session of this store sealed without an owner key (written through the plain API) does not open here.
    const plainId = await app.secure.for({ subject: 'alice' }).create({ user: 'alice' });
    const plain = new Browser(app.base);
    plain.cookies.set(COOKIE, signedCookie(plainId, SECRET));
    expect((await plain.json('/me')).body.user).toBeNull();
    // A session sealed to alice whose data names bob: the named owner must match the sealed owner hash.
    const misnamedId = await app.secure.for({ subject: 'alice' }).create({ user: 'bob', [OWNER_KEY]: 'bob' });
    const misnamed = new Browser(app.base);
    misnamed.cookies.set(COOKIE, signedCookie(misnamedId, SECRET));
    expect((await misnamed.json('/me')).body.user).toBeNull();
    expect(events.some((e) => e.type === 'owner_mismatch')).toBe(true);

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

describe('the express store on its own', () => {
  it('a state the store refuses names the user\'s own field, not an internal wrapper', async () => {
    const secure = secureStore(new MemoryStore(), { keyring: Keyring.generate() });
    await expect(secure.for({ subject: 'a' }).create({ cookie: { expires: new Date() } } as never)).rejects.toThrow(/^state\.cookie\.expires /);
    const store = sealedExpressStore(secure);
    const err = await new Promise<unknown>((resolve) => store.set('a'.repeat(32), { cookie: {}, big: 1n } as never, resolve));
    expect(err).toMatchObject({ code: 'invalid_input' });
    await secure.close();
  });

  it('bindSession refuses the anonymous subject and a request without the sealed store', async () => {
    const secure = secureStore(new MemoryStore(), { keyring: Keyring.generate() });
    const store = sealedExpressStore(secure);
    await expect(store.bindSession({} as Request, ANONYMOUS_SUBJECT)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(bindSession({ sessionStore: new session.MemoryStore() } as unknown as Request, 'alice')).rejects.toMatchObject({ code: 'invalid_input' });
    expect(() => sealedExpressStore(secure, { maxAge: -1 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    await secure.close();
  });
});
