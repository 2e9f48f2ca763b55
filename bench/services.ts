/**
 * Redis and PostgreSQL for the benchmark: probed first (an absent service skips its rows with a
 * note, never fails the run), given one unique key prefix / schema per run, and cleaned at the end:
 * every key under the prefix is unlinked and the schema is dropped, whatever happened in between.
 */
import { probe } from '../test/support/services.js';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const RUN = `${process.pid}_${Date.now().toString(36)}`;
/** Every Redis key this run creates starts with this. */
export const REDIS_PREFIX = `sssbench:${RUN}:`;
/** Every PostgreSQL table this run creates lives in this schema. */
export const PG_SCHEMA = `sss_bench_${RUN}`;


export interface Services {
  redis: Redis | undefined;
  redisSkip: string | undefined;
  pg: pg.Pool | undefined;
  pgSkip: string | undefined;
  /** Removes everything this run created and closes the connections. */
  cleanup(): Promise<void>;
}

export async function connectServices(options: { noServices: boolean }): Promise<Services> {
  let redis: Redis | undefined;
  let redisSkip: string | undefined;
  let pool: pg.Pool | undefined;
  let pgSkip: string | undefined;
  if (options.noServices) {
    redisSkip = pgSkip = 'skipped (--no-services)';
  } else {
    const [r, p] = await Promise.all([probe(REDIS_URL, 6379, 1000), probe(DATABASE_URL, 5432, 1000)]);
    if (r === undefined) {
      redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
      redis.on('error', () => {});
      try {
        await redis.ping();
      } catch (err) {
        redisSkip = `redis at ${REDIS_URL} did not answer PING (${(err as Error).message})`;
        redis.disconnect();
        redis = undefined;
      }
    } else {
      redisSkip = `redis unavailable (${r}); set REDIS_URL`;
    }
    if (p === undefined) {
      // 32 connections so "32 in flight" is never queued by the pool itself.
      pool = new pg.Pool({ connectionString: DATABASE_URL, max: 32 });
      pool.on('error', () => {});
      try {
        await pool.query(`CREATE SCHEMA IF NOT EXISTS "${PG_SCHEMA}"`);
      } catch (err) {
        pgSkip = `postgres at ${DATABASE_URL} refused (${(err as Error).message})`;
        await pool.end().catch(() => {});
        pool = undefined;
      }
    } else {
      pgSkip = `postgres unavailable (${p}); set DATABASE_URL`;
    }
  }
  return {
    redis,
    redisSkip,
    pg: pool,
    pgSkip,
    async cleanup() {
      if (redis !== undefined) {
        await deleteRedisPrefix(redis, REDIS_PREFIX).catch(() => 0);
        await redis.quit().catch(() => redis?.disconnect());
      }
      if (pool !== undefined) {
        await pool.query(`DROP SCHEMA IF EXISTS "${PG_SCHEMA}" CASCADE`).catch(() => {});
        await pool.end().catch(() => {});
      }
    },
  };
}

/** SCAN + UNLINK every key under `prefix`. */
export async function deleteRedisPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await client.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

let tableCounter = 0;
/** A fresh table name inside the run's schema. */
export function freshTable(name: string): string {
  return `${PG_SCHEMA}.${name}_${++tableCounter}`;
}
