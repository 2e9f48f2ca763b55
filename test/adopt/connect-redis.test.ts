/**
 * Adopting a connect-redis database in place, end to end over real HTTP: a real express +
 * express-session + connect-redis 9 app (node-redis 6 client) logs users in; the same app with the
 * `store:` line changed to the sealed store keeps every user logged in (also 13 h later on the
 * injected clock, their 30-day cookie allowing it); `sealed-session adopt connect-redis` seals the
 * rest, resumable after an interruption, counting what it cannot open; afterwards Redis holds no
 * plaintext session and a planted plaintext login is refused and audited.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, Keyring, secureStore } from 'sealed-session-store';
import { ConnectRedisAdopter, adoptConnectRedis, sealedExpressStore } from 'sealed-session-store/express';
import { RedisStore } from 'sealed-session-store/redis';
import { Browser, DAY, HOUR, listen, manualClock, sessionIdOf, signedCookie } from '../fronts/harness.js';
import { cli, json } from '../cli/helpers.js';
import { REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';

const SECRET = 'a test secret of the adoption test, not a real one';
const COOKIE = 'connect.sid';
const MAX_AGE = 30 * DAY;
const NAMESPACE = 'adopt-test';

declare module 'express-session' {
  interface SessionData {
    user?: string;
  }
}

const skip = await serviceSkipReason('redis');

function routes(app: express.Express): void {
  app.get('/login', (req, res) => {
    req.session.user = String(req.query.user);
    res.json({ user: req.session.user });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.session.user ?? null });
  });
}

describe.skipIf(skip !== undefined)('adopting a connect-redis database (express + connect-redis 9 over node-redis)', () => {
  const suffix = uniqueSuffix();
  const legacy = `sess-${suffix}:`;
  const ours = `sss-${suffix}:`;
  const manifest = `sss-adopt:${legacy}`;
  const keyring = Keyring.generate();
  const dir = mkdtempSync(join(tmpdir(), 'sss-adopt-'));
  const keyset = join(dir, 'keyset.json');
  let nodeRedis: ReturnType<typeof createClient>;
  let io: Redis;

  const legacyKeys = async (): Promise<string[]> => (await io.keys(`${legacy}*`)).sort();

  beforeAll(async () => {
    nodeRedis = createClient({ url: REDIS_URL });
    await nodeRedis.connect();
    io = new Redis(REDIS_URL);
    writeFileSync(keyset, JSON.stringify(keyring.insecureExportCleartextJwks()), { mode: 0o600 });
  });

  afterAll(async () => {
    for (const pattern of [`${legacy}*`, `${ours}*`, `${manifest}*`]) {
      const keys = await io.keys(pattern);
      if (keys.length > 0) await io.del(...keys);
    }
    await nodeRedis?.quit();
    io?.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every user logged in through the switch and the bulk pass; plaintext is a window, then refused', async () => {
    // 1. The app as it runs today: express-session + connect-redis.
    const before = express();
    before.use(session({ secret: SECRET, name: COOKIE, store: new ConnectRedisStore({ client: nodeRedis, prefix: legacy }), resave: false, saveUninitialized: false, cookie: { maxAge: MAX_AGE } }));
    routes(before);
    const old = await listen(createServer(before));
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const browsers = new Map<string, Browser>();
    for (const user of users) {
      const b = new Browser(old.base);
      expect((await b.json(`/login?user=${user}`)).body.user).toBe(user);
      browsers.set(user, b);
    }
    await old.close();
    expect(await legacyKeys()).toHaveLength(users.length);
    // Records it cannot open: a string that is not JSON, a key of another type.
    await io.set(`${legacy}broken`, 'not json at all', 'EX', 3600);
    await io.hset(`${legacy}a-hash`, 'f', 'v');

    // 2. The same app, the `store:` line changed; the injected clock starts at the real time.
    const clock = manualClock(Date.now());
    const events: AuditEvent[] = [];
    const sealed = secureStore(new RedisStore({ client: io, prefix: ours, now: clock.now }), {
      keyring,
      namespace: NAMESPACE,
      now: clock.now,
      ttl: { absoluteMs: 31 * DAY },
      onEvent: (e) => events.push(e),
    });
    const after = express();
    after.use(
      session({
        secret: SECRET,
        name: COOKIE,
        store: sealedExpressStore(sealed, { maxAge: MAX_AGE, now: clock.now, adopt: adoptConnectRedis({ client: nodeRedis, prefix: legacy }) }),
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: MAX_AGE },
      }),
    );
    routes(after);
    const app = await listen(createServer(after));
    try {
      // Each user's browser, its cookie unchanged, now talking to the switched app.
      const on = (user: string): Browser => {
        const b = new Browser(app.base);
        b.cookies.set(COOKIE, browsers.get(user)!.cookies.get(COOKIE)!);
        return b;
      };
      const alice = on('alice');
      const aliceId = sessionIdOf(alice.cookies.get(COOKIE))!;
      expect((await alice.json('/me')).body.user).toBe('alice');
      expect(await io.exists(`${legacy}${aliceId}`)).toBe(0); // sealed, then the plaintext removed
      expect(await io.hget(`${ours}${aliceId}`, 't')).toBe('b'); // an envelope
      expect(events.filter((e) => e.type === 'adopted')).toHaveLength(1);
      expect(JSON.stringify(events)).not.toContain(aliceId); // audit carries keyed hashes only

      // A plaintext login planted after the migration started is refused, and audited.
      const planted = 'planted-session-id-0123456789ab';
      const forged = JSON.stringify({ cookie: { originalMaxAge: MAX_AGE, expires: new Date(Date.now() + DAY).toISOString(), httpOnly: true, path: '/' }, user: 'admin' });
      await io.set(`${legacy}${planted}`, forged, 'EX', 3600);
      const mallory = new Browser(app.base);
      mallory.cookies.set(COOKIE, signedCookie(planted, SECRET));
      expect((await mallory.json('/me')).body.user).toBe(null);
      expect(events.filter((e) => e.type === 'plaintext_refused').map((e) => e.operation)).toEqual(['adopt:not_in_snapshot']);

      // 13 h later on the injected clock: past the default 12 h, within the 30-day cookie.
      clock.advance(13 * HOUR);
      expect((await alice.json('/me')).body.user).toBe('alice');
      expect((await on('bob').json('/me')).body.user).toBe('bob'); // adopted on its first request, 13 h in

      // 3. The bulk pass, interrupted after its first SCAN step, then resumed by the CLI.
      const ac = new AbortController();
      const partial = await new ConnectRedisAdopter(sealed, { client: nodeRedis, prefix: legacy, now: clock.now }).adoptAll({ batchSize: 1, signal: ac.signal, onProgress: () => ac.abort() });
      expect(partial.done).toBe(false);
      expect(partial.cursor).toMatch(/^[1-9]\d*$/);
      const env = { SSS_ABSOLUTE_TTL_MS: String(31 * DAY) };
      const common = ['--redis', REDIS_URL, '--prefix', ours, '--namespace', NAMESPACE, '--keyset', keyset, '--insecure-cleartext', '--legacy-prefix', legacy, '--json'];
      const run = await cli(['adopt', 'connect-redis', ...common, '--cursor', partial.cursor!, '--batch-size', '1000'], { env });
      const doc = json(run);
      expect(run.code, run.stderr).toBe(0);
      expect(doc.done).toBe(true);
      expect(doc.unreadable + partial.unreadable).toBe(2);
      expect(doc.refused + partial.refused).toBe(1); // the planted key, deleted by the pass
      expect(doc.adopted + partial.adopted).toBe(users.length - 2);
      expect(run.stderr).not.toContain(aliceId);

      // Redis holds no plaintext session: what is left under the prefix is what no one can open.
      expect(await legacyKeys()).toEqual([`${legacy}a-hash`, `${legacy}broken`].sort());
      for (const key of await io.keys(`${ours}*`)) if ((await io.type(key)) === 'hash' && (await io.hexists(key, 't'))) expect(await io.hget(key, 't')).toBe('b');

      // Every user is still logged in, sessions adopted by the CLI included.
      for (const user of users) expect((await on(user).json('/me')).body.user).toBe(user);

      // The window is closed: a plaintext login planted now is refused too.
      await io.set(`${legacy}${planted}`, forged, 'EX', 3600);
      expect((await mallory.json('/me')).body.user).toBe(null);
      expect(events.filter((e) => e.type === 'plaintext_refused').at(-1)?.operation).toBe('adopt:closed');
      // Running the command again is harmless: nothing left to adopt, the window stays closed.
      const again = json(await cli(['adopt', 'connect-redis', ...common], { env }));
      expect(again.adopted).toBe(0);
      expect((await mallory.json('/me')).body.user).toBe(null);
    } finally {
      await app.close();
      await sealed.close();
    }
  });

  it('parallel first requests on two instances all stay logged in; a logout removes the plaintext copy too', async () => {
    const legacy2 = `${legacy}p:`;
    const ours2 = `${ours}p:`;
    const clock = manualClock(Date.now());
    // Sessions as connect-redis writes them (its own `set`, node-redis client).
    const writer = new ConnectRedisStore({ client: nodeRedis, prefix: legacy2 });
    const ids = ['parallel-session-id-number-0001', 'parallel-session-id-number-0002'];
    for (const [i, sid] of ids.entries()) {
      const cookie = { originalMaxAge: MAX_AGE, expires: new Date(Date.now() + MAX_AGE), httpOnly: true, path: '/' };
      await writer.set(sid, { cookie, user: `user-${i}` } as unknown as session.SessionData);
    }
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const secure = secureStore(new RedisStore({ client: io, prefix: ours2, now: clock.now }), { keyring, namespace: NAMESPACE, now: clock.now, ttl: { absoluteMs: 31 * DAY } });
        const app = express();
        app.use(session({ secret: SECRET, name: COOKIE, store: sealedExpressStore(secure, { maxAge: MAX_AGE, now: clock.now, adopt: adoptConnectRedis({ client: nodeRedis, prefix: legacy2 }) }), resave: false, saveUninitialized: false, cookie: { maxAge: MAX_AGE } }));
        routes(app);
        app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
        return { secure, server: await listen(createServer(app)) };
      }),
    );
    try {
      const browse = (sid: string, n: number) => {
        const b = new Browser(instances[n % 2]!.server.base);
        b.cookies.set(COOKIE, signedCookie(sid, SECRET));
        return b;
      };
      // A page's first requests after the deploy, at once, spread over both instances (whether two
      // adopt at the same instant is up to timing; window.test.ts checks the second look itself).
      const answers = await Promise.all(Array.from({ length: 8 }, (_, n) => browse(ids[0]!, n).json('/me')));
      expect(answers.map((a) => a.body.user)).toEqual(Array(8).fill('user-0'));
      // Logout of a session adopted on that very request: neither copy survives.
      expect((await browse(ids[1]!, 0).json('/logout')).body.ok).toBe(true);
      expect(await io.exists(`${legacy2}${ids[1]}`, `${ours2}${ids[1]}`)).toBe(0);
      expect((await browse(ids[1]!, 1).json('/me')).body.user).toBe(null);
      // The store's destroy on a session never adopted removes the plaintext copy as well.
      await writer.set('never-adopted-session-id-000003', { cookie: { originalMaxAge: MAX_AGE, expires: new Date(Date.now() + MAX_AGE) } } as unknown as session.SessionData);
      const store = sealedExpressStore(instances[0]!.secure, { adopt: adoptConnectRedis({ client: nodeRedis, prefix: legacy2 }) });
      await new Promise<void>((resolve, reject) => store.destroy('never-adopted-session-id-000003', (err) => (err ? reject(err as Error) : resolve())));
      expect(await io.exists(`${legacy2}never-adopted-session-id-000003`)).toBe(0);
    } finally {
      for (const { secure, server } of instances) {
        await server.close();
        await secure.close();
      }
    }
  });
});
