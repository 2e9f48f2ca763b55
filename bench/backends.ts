/**
 * Fresh backends for the benchmark, one factory per engine. Each store gets its own Redis prefix or
 * PostgreSQL table under the run's prefix / schema, so `listActive` and `cleanupExpired` see only
 * what that store wrote, and the run's cleanup removes all of it.
 */
import { MemoryStore, type RecordStore } from '../src/index.js';
import { PostgresStore } from '../src/backends/postgres.js';
import { RedisStore } from '../src/backends/redis/index.js';
import type { Ctx } from './context.js';
import { REDIS_PREFIX, freshTable } from './services.js';

export type BackendName = 'memory' | 'redis' | 'postgres';
export const BACKENDS: BackendName[] = ['memory', 'redis', 'postgres'];

let storeCounter = 0;

/** A fresh store, or the reason it cannot be had. */
export async function makeBackend(ctx: Ctx, name: BackendName, now: () => number): Promise<RecordStore | string> {
  switch (name) {
    case 'memory':
      return new MemoryStore({ now, maxEntries: 400_000, maxBytes: 1024 * 1024 * 1024, maxRecordBytes: 8 * 1024 * 1024 });
    case 'redis': {
      const client = ctx.services.redis;
      if (client === undefined) return ctx.services.redisSkip ?? 'redis unavailable';
      return new RedisStore({ client, now, prefix: `${REDIS_PREFIX}s${++storeCounter}:` });
    }
    case 'postgres': {
      const pool = ctx.services.pg;
      if (pool === undefined) return ctx.services.pgSkip ?? 'postgres unavailable';
      const store = new PostgresStore({ pool, now, table: freshTable('sessions') });
      await store.migrate();
      return store;
    }
  }
}
