/**
 * sealed-session-store/web with a real Hono app under Node (@hono/node-server on 127.0.0.1:0),
 * over real HTTP (fetch, cookies kept by hand), over memory, Redis and PostgreSQL.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, Keyring, type RecordStore, type SecureStore, secureStore } from 'sealed-session-store';
import { tokenVerifier } from 'sealed-session-store/tokens';
import { type SealedSessionEnv, type WebSessions, sealedSession, verifySessionCookie, webSessions } from 'sealed-session-store/web';
import { Browser, HOUR, MINUTE, frontFixtures, manualClock } from './harness.js';

const COOKIE = '__Host-sid';

interface TestApp {
  base: string;
  clock: ReturnType<typeof manualClock>;
  secure: SecureStore;
  plain: WebSessions;
  events: AuditEvent[];
  close: () => Promise<void>;
}

async function startApp(backend: RecordStore, clock: ReturnType<typeof manualClock>, options: { persistent?: boolean } = {}): Promise<TestApp> {
  const events: AuditEvent[] = [];
  const secure = secureStore(backend, { keyring: Keyring.generate(), namespace: 'web-test', now: clock.now, ttl: { idleMs: 30 * MINUTE, absoluteMs: 12 * HOUR }, onEvent: (e) => events.push(e) });
  const cookie = { persistent: options.persistent ?? false };
  const plain = webSessions(secure, { now: clock.now, cookie });
  // A credential checked independently of the cookie; here a header stands in for a verified bearer token.
  const strict = webSessions(secure, { now: clock.now, cookie, principal: (req) => req.headers.get('x-verified-user') ?? undefined });
  const app = new Hono<SealedSessionEnv>();
  app.use('/s/*', sealedSession(plain));
  app.use('/api/*', sealedSession(strict));
  app.get('/s/me', (c) => {
    const session = c.get('session');
    return c.json({ user: session.subject ?? null, visits: session.get<number>('visits') ?? 0 });
  });
  app.post('/s/visit', (c) => {
    const session = c.get('session');
    session.set('visits', (session.get<number>('visits') ?? 0) + 1);
    return c.json({ visits: session.get('visits') });
  });
  app.post('/s/login', async (c) => {
    await c.get('session').login(c.req.query('user')!);
    return c.json({ ok: true });
  });
  app.post('/s/logout', async (c) => {
    await c.get('session').logout();
    return c.json({ ok: true });
  });
  app.get('/s/cached', (c) => {
    c.header('cache-control', 'public, max-age=600');
    c.get('session').set('seen', true);
    return c.text('hello');
  });
  app.get('/api/me', (c) => c.json({ user: c.get('session').subject ?? null }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    clock,
    secure,
    plain,
    events,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await secure.close();
    },
  };
}

/** `token` with one character of its signature changed. */
function flip(token: string): string {
  const i = token.length - 2;
  return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
}

/** The session id inside a cookie's token (its payload is base64url JSON, signed, not secret). */
function sidOf(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;
}

describe.each(frontFixtures)('the web front (Hono) over $name', (fixture) => {
  let skip: string | undefined;
  const apps: TestApp[] = [];
  const start = async (options: { persistent?: boolean } = {}): Promise<TestApp> => {
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

  test('no data, no session: a visit that stores nothing sets no cookie and writes nothing', async () => {
    const app = await start();
    const browser = new Browser(app.base);
    const res = await browser.fetch('/s/me');
    expect(res.status).toBe(200);
    expect(browser.lastSetCookie).toEqual([]);
    expect((await app.secure.listActive()).ids).toEqual([]);
  });

  test('login: a new id bound to the user, a __Host- cookie with secure attributes, an authenticated request', async () => {
    const app = await start();
    const alice = new Browser(app.base);
    expect((await alice.json('/s/visit', { method: 'POST' })).body).toEqual({ visits: 1 });
    const anonymousId = sidOf(alice.cookies.get(COOKIE))!;
    expect(anonymousId).toBeDefined();

    const res = await alice.fetch('/s/login?user=alice', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(alice.lastSetCookie).toHaveLength(1);
    const line = alice.lastSetCookie[0]!;
    expect(line.startsWith(`${COOKIE}=`)).toBe(true);
    const attrs = line.split('; ').slice(1);
    expect(attrs).toEqual(['Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax']); // no Domain, no Max-Age: a browser-session cookie
    expect(res.headers.get('cache-control')).toBe('no-store');

    const boundId = sidOf(alice.cookies.get(COOKIE))!;
    expect(boundId).not.toBe(anonymousId); // OWASP: a new id at login (no session fixation)
    await expect(app.secure.for({ subject: '~anonymous' }).load(anonymousId)).rejects.toMatchObject({ code: 'not_found' });
    await expect(app.secure.for({ subject: 'alice' }).load(boundId)).resolves.toMatchObject({ visits: 1, '~owner': 'alice' });
    await expect(app.secure.for({ subject: 'bob' }).load(boundId)).rejects.toMatchObject({ code: 'owner_mismatch' });

    // The cookie's value names no one: a signed token, never the user in clear.
    expect(Buffer.from(alice.cookies.get(COOKIE)!.split('.')[1]!, 'base64url').toString()).not.toContain('alice');
    expect((await alice.json('/s/me')).body).toEqual({ user: 'alice', visits: 1 });
    expect(alice.lastSetCookie).toEqual([]); // nothing to set again
  });

  test('a tampered cookie is refused before the store, cleared, and reported as an invalid token', async () => {
    const app = await start();
    const alice = new Browser(app.base);
    await alice.fetch('/s/login?user=alice', { method: 'POST' });
    const token = alice.cookies.get(COOKIE)!;
    const [h, p, s] = token.split('.');
    const otherSid = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sid: 'A'.repeat(32) })).toString('base64url');
    for (const forged of [flip(token), `${h}.${otherSid}.${s}`, 'not-a-token', `${token}x`]) {
      const mallory = new Browser(app.base);
      mallory.cookies.set(COOKIE, forged);
      app.events.length = 0;
      expect((await mallory.json('/s/me')).body).toEqual({ user: null, visits: 0 });
      expect(mallory.lastSetCookie.some((l) => l.startsWith(`${COOKIE}=;`) && l.includes('Max-Age=0'))).toBe(true);
    }
    // The well-formed forgeries were reported as verifyToken reports them.
    const mallory = new Browser(app.base);
    mallory.cookies.set(COOKIE, `${h}.${otherSid}.${s}`);
    app.events.length = 0;
    await mallory.fetch('/s/me');
    expect(app.events).toContainEqual(expect.objectContaining({ type: 'invalid_token' }));
    expect((await alice.json('/s/me')).body).toEqual({ user: 'alice', visits: 0 });
  });

  test("another user's token for the session, or a principal that is not the session's user, is refused", async () => {
    const app = await start();
    const alice = new Browser(app.base);
    await alice.fetch('/s/login?user=alice', { method: 'POST' });
    const aliceSid = sidOf(alice.cookies.get(COOKIE))!;
    // A validly signed token for alice's session id but minted for bob: its owner hash is not the session's.
    const mallory = new Browser(app.base);
    mallory.cookies.set(COOKIE, app.secure.issueToken(aliceSid, { subject: 'bob' }));
    expect((await mallory.json('/s/me')).body).toEqual({ user: null, visits: 0 });

    // With a principal resolver: the session's user must be the caller's.
    expect(await alice.json('/api/me', { headers: { 'x-verified-user': 'alice' } })).toEqual({ status: 200, body: { user: 'alice' } });
    const stolen = new Browser(app.base);
    stolen.cookies.set(COOKIE, alice.cookies.get(COOKIE)!);
    expect(await stolen.json('/api/me', { headers: { 'x-verified-user': 'mallory' } })).toEqual({ status: 403, body: { error: 'owner_mismatch' } });
    expect((await stolen.json('/api/me')).status).toBe(403);
    // Refused, not destroyed: the session stays for its owner.
    expect((await alice.json('/s/me')).body).toEqual({ user: 'alice', visits: 0 });
  });

  test('logout deletes the session and clears the cookie; the old cookie replayed opens nothing', async () => {
    const app = await start();
    const alice = new Browser(app.base);
    await alice.fetch('/s/login?user=alice', { method: 'POST' });
    const old = alice.cookies.get(COOKIE)!;
    await alice.fetch('/s/logout', { method: 'POST' });
    expect(alice.lastSetCookie).toHaveLength(1);
    expect(alice.lastSetCookie[0]).toMatch(/^__Host-sid=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
    expect(alice.cookies.has(COOKIE)).toBe(false);
    await expect(app.secure.for({ subject: 'alice' }).load(sidOf(old)!)).rejects.toMatchObject({ code: 'not_found' });
    const replay = new Browser(app.base);
    replay.cookies.set(COOKIE, old);
    expect((await replay.json('/s/me')).body).toEqual({ user: null, visits: 0 });
  });

  test('idle and absolute deadlines (injected clock), and revokeOwner, end the session; a request renews the idle window', async () => {
    const app = await start();
    const alice = new Browser(app.base);
    await alice.fetch('/s/login?user=alice', { method: 'POST' });
    app.clock.advance(20 * MINUTE);
    expect((await alice.json('/s/me')).body.user).toBe('alice'); // renews the 30-minute idle window
    app.clock.advance(20 * MINUTE);
    expect((await alice.json('/s/me')).body.user).toBe('alice');
    const cookie = alice.cookies.get(COOKIE)!;
    app.clock.advance(31 * MINUTE);
    expect((await alice.json('/s/me')).body.user).toBeNull();
    expect(alice.cookies.has(COOKIE)).toBe(false);

    // The absolute deadline holds however often the session is used.
    const bob = new Browser(app.base);
    await bob.fetch('/s/login?user=bob', { method: 'POST' });
    for (let i = 0; i < 25; i++) {
      app.clock.advance(29 * MINUTE);
      await bob.fetch('/s/me');
    }
    expect((await bob.json('/s/me')).body.user).toBeNull();
    expect(cookie).toBeDefined();

    const carol = new Browser(app.base);
    await carol.fetch('/s/login?user=carol', { method: 'POST' });
    app.clock.advance(1000);
    await app.secure.revokeOwner('carol');
    expect((await carol.json('/s/me')).body.user).toBeNull();
  });

  test('persistent cookies live until the absolute deadline; a response that sets the cookie is never publicly cacheable', async () => {
    const app = await start({ persistent: true });
    const alice = new Browser(app.base);
    await alice.fetch('/s/login?user=alice', { method: 'POST' });
    expect(alice.lastSetCookie[0]).toContain(`Max-Age=${12 * 3600}`);
    const res = await new Browser(app.base).fetch('/s/cached');
    expect(res.headers.getSetCookie()).toHaveLength(1);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('the edge check: tokenVerifier with the token keys only tells anonymous, user and owner sessions apart', async () => {
    const app = await start();
    const verifier = tokenVerifier(app.secure.keyring.insecureExportTokenKeys(), { now: app.clock.now });
    const request = (browser: Browser) => new Request('https://example.test/', { headers: { cookie: `other=1; ${COOKIE}=${browser.cookies.get(COOKIE) ?? ''}` } });
    const anon = new Browser(app.base);
    await anon.fetch('/s/visit', { method: 'POST' });
    expect(verifySessionCookie(request(anon), verifier)).toMatchObject({ kind: 'anonymous', sessionId: sidOf(anon.cookies.get(COOKIE)) });
    const alice = new Browser(app.base);
    await alice.fetch('/s/login?user=alice', { method: 'POST' });
    expect(verifySessionCookie(request(alice), verifier)).toEqual({ kind: 'user' });
    expect(verifySessionCookie(request(alice), verifier, { owner: { subject: 'alice' } })).toMatchObject({ kind: 'owner', sessionId: sidOf(alice.cookies.get(COOKIE)) });
    expect(verifySessionCookie(request(alice), verifier, { owner: { subject: 'bob' } })).toBeUndefined();
    const forged = new Browser(app.base);
    forged.cookies.set(COOKIE, flip(alice.cookies.get(COOKIE)!));
    expect(verifySessionCookie(request(forged), verifier)).toBeUndefined();
    expect(verifySessionCookie(new Request('https://example.test/'), verifier)).toBeUndefined();
    // Past the token's exp (the absolute deadline), a user token is not taken for a live one.
    app.clock.advance(12 * HOUR + MINUTE);
    expect(verifySessionCookie(request(alice), verifier)).toBeUndefined();
  });
});
