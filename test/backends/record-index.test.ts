/**
 * What the per-index listing looks like inside each service-backed backend (the behaviour itself is
 * the compliance suite's record-index topic): the SQL migration of a revision-1 table in place, and
 * the Redis key layout, TTLs and pruning of filings whose record is gone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PgliteStore } from 'sealed-session-store/pglite';
import { parseTableName } from '../../src/backends/sql.js';
import { pgliteFixture } from '../support/fixtures/pglite.js';
import { createRedisStore, redisClient, redisFixture } from '../support/fixtures/redis.js';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;

function clock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const pgliteSkip = await pgliteFixture.skipReason();
afterAll(() => pgliteFixture.cleanup());

describe.skipIf(pgliteSkip !== undefined)('SQL schema revision 2 (on PGlite)', () => {
  it('migrate() adds the index column to a revision-1 table in place; old rows start unfiled, filed on their next write', async () => {
    const anchor = await pgliteFixture.anchor();
    const table = `rev1_${Date.now().toString(36)}`;
    const t = parseTableName(table).quoted;
    // The revision-1 DDL, as an earlier release created it.
    await anchor.db.query(`CREATE TABLE ${t} (
  id text COLLATE "C" PRIMARY KEY, value_json jsonb, value_bytes bytea, version text NOT NULL, expires_at bigint NOT NULL,
  CONSTRAINT "one_value" CHECK ((value_json IS NULL) <> (value_bytes IS NULL)))`);
    await anchor.db.query(`INSERT INTO ${t} (id, value_json, version, expires_at) VALUES ('old', '{"a":1}', 'v-old', $1)`, [T0 + MINUTE]);
    const c = clock();
    const store = new PgliteStore({ db: anchor.db, table, now: c.now });
    // Before the migration: a typed refusal that says what to do.
    await expect(store.saveRecord('new', { a: 2 }, { expiresAt: T0 + MINUTE, index: 'X' })).rejects.toMatchObject({
      code: 'backend_unavailable',
      message: expect.stringContaining('migrate()'),
    });
    await store.migrate();
    await store.migrate();
    expect(await store.loadRecord('old')).toMatchObject({ value: { a: 1 }, version: 'v-old' });
    expect((await store.listByIndex('X')).ids).toEqual([]);
    await store.saveRecord('old', { a: 3 }, { expiresAt: T0 + MINUTE, index: 'X' });
    await store.saveRecord('new', { a: 2 }, { expiresAt: T0 + MINUTE, index: 'X' });
    expect((await store.listByIndex('X')).ids).toEqual(['new', 'old']);
    const comment = await anchor.db.query<{ c: string }>(`SELECT obj_description($1::regclass, 'pg_class') AS c`, [t]);
    expect(comment.rows[0]?.c).toBe('sealed-session-store schema 3');
    await store.close();
  }, 120_000);
});

const redisSkip = await redisFixture.skipReason();
afterAll(() => redisFixture.cleanup());

describe.skipIf(redisSkip !== undefined)('RedisStore index keys', () => {
  it('keeps an index as a sorted set and a hash of filing times, never named like a record, with a TTL', async () => {
    const c = clock();
    const store = createRedisStore({ now: c.now });
    const redis = redisClient();
    await store.saveRecord('a', { n: 1 }, { expiresAt: c.now() + MINUTE, index: 'X' });
    const set = `${store.prefix}~ix {X}`;
    expect(await redis.type(set)).toBe('zset');
    expect(await redis.type(`${set}:t`)).toBe('hash');
    expect(await redis.zrange(set, 0, -1)).toEqual(['a']);
    expect(await redis.hget(`${store.prefix}a`, 'i')).toBe('X');
    const ttl = await redis.pttl(set);
    expect(ttl).toBeGreaterThan(MINUTE);
    // Stretched to twice the record's native TTL, so renewals of this process's own writes skip the filing.
    expect(ttl).toBeLessThanOrEqual(2 * (MINUTE + store.graceMs));
    // A listing of all records never mistakes the index keys for sessions.
    expect((await store.listActive()).ids).toEqual(['a']);
    await store.close();
  });

  it('files again unless the write updates this process own last write within the index lifetime', async () => {
    const c = clock();
    const store = createRedisStore({ now: c.now });
    const other = createRedisStore({ now: c.now }, { prefix: store.prefix });
    const redis = redisClient();
    const times = `${store.prefix}~ix {X}:t`;
    const filedAt = async () => Number(await redis.hget(times, 'a'));
    let v = await store.saveRecord('a', { n: 1 }, { expiresAt: c.now() + MINUTE, index: 'X' });
    expect(await filedAt()).toBe(T0);
    // Its own last write, same index, within the stretched lifetime: not filed again.
    c.advance(1000);
    v = await store.saveRecord('a', { n: 2 }, { ifVersion: v, expiresAt: c.now() + MINUTE, index: 'X' });
    expect(await filedAt()).toBe(T0);
    // Another process wrote in between: the next write of this one files again.
    c.advance(1000);
    const w = await other.saveRecord('a', { n: 3 }, { ifVersion: v, expiresAt: c.now() + MINUTE, index: 'X' });
    v = await store.saveRecord('a', { n: 4 }, { ifVersion: w, expiresAt: c.now() + MINUTE, index: 'X' });
    expect(await filedAt()).toBe(T0 + 2000);
    // A renewal reaching past the index keys' lifetime files again (and stretches them).
    c.advance(1000);
    v = await store.saveRecord('a', { n: 5 }, { ifVersion: v, expiresAt: c.now() + 3 * MINUTE + store.graceMs, index: 'X' });
    expect(await filedAt()).toBe(T0 + 3000);
    // An unconditional write (or a create) always files.
    c.advance(1000);
    await store.deleteRecord('a');
    await store.saveRecord('a', { n: 6 }, { ifAbsent: true, expiresAt: c.now() + MINUTE, index: 'X' });
    expect(await filedAt()).toBe(T0 + 4000);
    expect((await store.listByIndex('X')).ids).toEqual(['a']);
    await store.close();
    await other.close();
  });

  it('prunes a filing whose record is gone only once no save can still be in flight for it', async () => {
    const c = clock();
    const store = createRedisStore({ now: c.now }, { commandTimeoutMs: 1000, retry: { maxAttempts: 1 } });
    const redis = redisClient();
    const set = `${store.prefix}~ix {X}`;
    await store.saveRecord('gone', { n: 1 }, { expiresAt: c.now() + 10 * MINUTE, index: 'X' });
    await store.saveRecord('kept', { n: 1 }, { expiresAt: c.now() + 10 * MINUTE, index: 'X' });
    // A create whose filing landed but whose record write has not yet: it must survive listings.
    await redis.zadd(set, 0, 'inflight');
    await redis.hset(`${set}:t`, 'inflight', String(c.now()));
    await store.deleteRecord('gone');
    expect((await store.listByIndex('X')).ids).toEqual(['kept']);
    expect((await redis.zrange(set, 0, -1)).sort()).toEqual(['gone', 'inflight', 'kept']);
    c.advance(2 * MINUTE + 1);
    expect((await store.listByIndex('X')).ids).toEqual(['kept']);
    expect(await redis.zrange(set, 0, -1)).toEqual(['kept']);
    expect(await redis.hkeys(`${set}:t`)).toEqual(['kept']);
    await store.close();
  });

  it('a filing renewed after it was read is not pruned (the prune compares the filing time)', async () => {
    const c = clock();
    const store = createRedisStore({ now: c.now }, { commandTimeoutMs: 1000, retry: { maxAttempts: 1 } });
    const redis = redisClient();
    const set = `${store.prefix}~ix {X}`;
    await store.saveRecord('a', { n: 1 }, { expiresAt: c.now() + 10 * MINUTE, index: 'X' });
    await store.deleteRecord('a');
    c.advance(5 * MINUTE);
    // Re-created (filed again, now) between a listing's read and its prune: the prune script refuses.
    const oldTime = await redis.hget(`${set}:t`, 'a');
    await store.saveRecord('a', { n: 2 }, { expiresAt: c.now() + 10 * MINUTE, index: 'X' });
    expect(await redis.hget(`${set}:t`, 'a')).not.toBe(oldTime);
    expect((await store.listByIndex('X')).ids).toEqual(['a']);
    await store.close();
  });
});
