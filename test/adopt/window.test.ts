/**
 * The adoption window and one session's adoption, against a real Redis through ioredis (the
 * end-to-end test uses node-redis): remaining lifetime kept, expired sessions dropped, the
 * operator's deadline, a forged window state, a key of another type under RedisStore's prefix.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, Keyring, MemoryStore, type SecureStore, secureStore } from 'sealed-session-store';
import { adoptConnectRedis } from 'sealed-session-store/express';
import { RedisStore } from 'sealed-session-store/redis';
import { DAY, HOUR, manualClock } from '../fronts/harness.js';
import { REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';

const skip = await serviceSkipReason('redis');

function legacySession(expiresAt: number, user = 'alice'): string {
  return JSON.stringify({ cookie: { originalMaxAge: 30 * DAY, expires: new Date(expiresAt).toISOString(), httpOnly: true, path: '/' }, user });
}

describe.skipIf(skip !== undefined)('adoption of connect-redis sessions (ioredis client)', () => {
  let io: Redis;
  const prefixes: string[] = [];

  beforeAll(() => {
    io = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const p of prefixes) {
      const keys = [...(await io.keys(`${p}*`)), ...(await io.keys(`sss-adopt:${p}*`))];
      if (keys.length > 0) await io.del(...keys);
    }
    io?.disconnect();
  });

  function setup(options: { until?: number } = {}) {
    const prefix = `sess-w-${uniqueSuffix()}:`;
    prefixes.push(prefix);
    const clock = manualClock(Date.now());
    const events: AuditEvent[] = [];
    const store: SecureStore = secureStore(new MemoryStore({ now: clock.now }), { keyring: Keyring.generate(), now: clock.now, ttl: { absoluteMs: 31 * DAY }, onEvent: (e) => events.push(e) });
    const adopter = adoptConnectRedis({ client: io, prefix, ...(options.until === undefined ? {} : { until: options.until }) })(store, { now: clock.now });
    return { prefix, clock, events, store, adopter };
  }

  it('seals a session with its remaining lifetime (the shorter of PTTL and the cookie) and removes the plaintext', async () => {
    const { prefix, clock, store, adopter } = setup();
    await io.set(`${prefix}sid-one`, legacySession(clock.now() + 2 * DAY), 'PX', HOUR);
    expect(await adopter.adoptOne('sid-one', false)).toBe('adopted');
    expect(await io.exists(`${prefix}sid-one`)).toBe(0);
    const seen = await store.inspect('sid-one');
    expect(seen.state.user).toBe('alice');
    expect(seen.expiresAt).toBeLessThanOrEqual(clock.now() + HOUR);
    expect(seen.expiresAt).toBeGreaterThan(clock.now() + HOUR - 60_000);
  });

  it('drops a session whose cookie has expired by the injected clock, without adopting it', async () => {
    const { prefix, clock, store, adopter } = setup();
    await io.set(`${prefix}sid-old`, legacySession(clock.now() + HOUR), 'EX', 3 * 3600);
    clock.advance(2 * HOUR);
    expect(await adopter.adoptOne('sid-old', false)).toBe('expired');
    expect(await io.exists(`${prefix}sid-old`)).toBe(0);
    await expect(store.inspect('sid-old')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses every plaintext session once the operator deadline has passed, and audits it', async () => {
    const now = Date.now();
    const { prefix, clock, events, adopter } = setup({ until: now + HOUR });
    await io.set(`${prefix}sid-a`, legacySession(now + DAY), 'EX', 3600);
    await io.set(`${prefix}sid-b`, legacySession(now + DAY), 'EX', 3600);
    expect(await adopter.adoptOne('sid-a', false)).toBe('adopted');
    clock.advance(HOUR);
    expect(await adopter.adoptOne('sid-b', false)).toBe('refused');
    expect(events.map((e) => [e.type, e.operation])).toContainEqual(['plaintext_refused', 'adopt:deadline']);
    expect(await io.exists(`${prefix}sid-b`)).toBe(1); // a request leaves it; the bulk pass removes it
  });

  it('treats a window state edited in Redis (without the hash key) as closed', async () => {
    const { prefix, clock, events, adopter } = setup();
    await io.set(`${prefix}sid-a`, legacySession(clock.now() + DAY), 'EX', 3600);
    await io.set(`${prefix}sid-b`, legacySession(clock.now() + DAY), 'EX', 3600);
    expect(await adopter.adoptOne('sid-a', false)).toBe('adopted'); // takes the snapshot
    // Someone with Redis access reopens a closed window or moves its deadline: the tag no longer matches.
    await io.hset(`sss-adopt:${prefix}state`, 'deadline', String(clock.now() + 365 * DAY));
    expect(await adopter.adoptOne('sid-b', false)).toBe('refused');
    expect(events.at(-1)).toMatchObject({ type: 'plaintext_refused', operation: 'adopt:tampered' });
    // Put back, the state opens again for ids of the snapshot; a hash of someone's own choosing
    // in the snapshot set admits nothing planted after it.
    await io.hset(`sss-adopt:${prefix}state`, 'deadline', '');
    await io.set(`${prefix}sid-planted`, legacySession(clock.now() + DAY), 'EX', 3600);
    await io.sadd(`sss-adopt:${prefix}ids`, 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(await adopter.adoptOne('sid-planted', false)).toBe('refused');
    expect(events.at(-1)).toMatchObject({ type: 'plaintext_refused', operation: 'adopt:not_in_snapshot' });
    expect(await adopter.adoptOne('sid-b', false)).toBe('adopted');
  });

  it('counts unreadable records in the bulk pass instead of failing, and closes the window', async () => {
    const { prefix, clock, adopter } = setup();
    await io.set(`${prefix}good`, legacySession(clock.now() + DAY), 'EX', 3600);
    await io.set(`${prefix}not-json`, '{nope', 'EX', 3600);
    await io.set(`${prefix}no-cookie`, JSON.stringify({ user: 'x' }), 'EX', 3600);
    await io.rpush(`${prefix}a-list`, 'x');
    const result = await adopter.adoptAll();
    expect(result).toMatchObject({ done: true, adopted: 1, unreadable: 3, refused: 0 });
    await io.set(`${prefix}later`, legacySession(clock.now() + DAY), 'EX', 3600);
    expect(await adopter.adoptOne('later', false)).toBe('refused');
  });

  it('asks the caller to look again when the legacy key is gone while the window is open (another process sealed it first)', async () => {
    const { prefix, clock, adopter } = setup();
    await io.set(`${prefix}sid-a`, legacySession(clock.now() + DAY), 'EX', 3600);
    expect(await adopter.adopt('sid-a')).toBe(true);
    // The second of two parallel requests finds the plaintext already deleted: the sealed copy is there.
    expect(await adopter.adopt('sid-a')).toBe(true);
    await adopter.adoptAll();
    await io.set(`${prefix}sid-late`, legacySession(clock.now() + DAY), 'EX', 3600);
    expect(await adopter.adopt('sid-late')).toBe(false); // closed: seen here, so no second look for anyone
    expect(await adopter.adopt('sid-unknown')).toBe(false);
  });

  it('refuses a client that is neither node-redis nor ioredis', () => {
    expect(() => adoptConnectRedis({ client: {} })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('RedisStore reads a connect-redis string under its prefix as a foreign record (integrity), not an outage', async () => {
    const prefix = `sess-w-${uniqueSuffix()}:`;
    prefixes.push(prefix);
    await io.set(`${prefix}abcdefabcdefabcdefabcdef`, legacySession(Date.now() + DAY), 'EX', 3600);
    const backend = new RedisStore({ client: io, prefix });
    await expect(backend.loadRecord('abcdefabcdefabcdefabcdef')).rejects.toMatchObject({ code: 'integrity' });
    const store = secureStore(backend, { keyring: Keyring.generate() });
    await expect(store.rekey()).resolves.toMatchObject({ done: true, failed: 0 });
  });
});
