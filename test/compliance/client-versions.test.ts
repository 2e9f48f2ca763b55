/**
 * The compliance suite over each store with the OLDEST and the NEWEST accepted major of its client
 * library injected (package.json peerDependencies: ioredis, redis (node-redis), @electric-sql/pglite,
 * pg). The root install holds one version of each; test/clients holds the others as npm aliases
 * (`ioredis-oldest`, `redis-newest`, ...), installed by .ci/services. Without that install these
 * suites skip with the reason printed; under REQUIRE_SERVICES=1 (CI) they fail instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { RecordStore } from 'sealed-session-store';
import { PgliteStore } from 'sealed-session-store/pglite';
import { PostgresStore } from 'sealed-session-store/postgres';
import { RedisStore } from 'sealed-session-store/redis';
import { runStoreContract } from 'sealed-session-store/testing';
import { afterAll, beforeAll } from 'vitest';
import { postgresFixture } from '../support/fixtures/postgres.js';
import { deletePrefix, redisClient, redisPrefix } from '../support/fixtures/redis.js';
import { DATABASE_URL, REDIS_URL, REQUIRE_SERVICES, serviceSkipReason } from '../support/services.js';

const manifest = new URL('../clients/package.json', import.meta.url);
const installed = existsSync(new URL('../clients/node_modules/ioredis-oldest/package.json', import.meta.url));
// .ci/run sets SSS_TEST_CLIENT_MATRIX=0 on Node 22 and 24: the matrix tests client libraries, not the Node running them.
const turnedOff = process.env.SSS_TEST_CLIENT_MATRIX === '0' ? 'SSS_TEST_CLIENT_MATRIX=0 (it ran on the first Node)' : undefined;
const notInstalled = turnedOff ?? (installed ? undefined : 'test/clients is not installed (cd test/clients && npm ci)');
if (turnedOff !== undefined) console.warn(`[skip] client versions: ${turnedOff}`);
else if (notInstalled !== undefined) {
  if (REQUIRE_SERVICES) throw new Error(`REQUIRE_SERVICES=1 but ${notInstalled}`);
  console.warn(`[skip] client versions: ${notInstalled}`);
}
const require = createRequire(manifest);
/** Loads an alias from test/clients (ESM by its `import` entry, so ESM-only libraries load too). */
const load = async <T>(alias: string): Promise<T> => (await import(pathToFileURL(require.resolve(alias)).href)) as T;
const versionOf = (alias: string): string =>
  installed ? (JSON.parse(readFileSync(new URL(`../clients/node_modules/${alias}/package.json`, import.meta.url), 'utf8')) as { version: string }).version : '?';

const redisSkip = notInstalled ?? (await serviceSkipReason('redis'));
const postgresSkip = notInstalled ?? (await serviceSkipReason('postgres'));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

// ---- Redis: ioredis and node-redis -----------------------------------------------------------------

const prefixes: string[] = [];
if (redisSkip === undefined) {
  cleanups.push(async () => {
    const admin = redisClient();
    for (const p of prefixes) await deletePrefix(admin, p);
  });
}

for (const alias of ['ioredis-oldest', 'ioredis-newest']) {
  runStoreContract(
    `RedisStore over ioredis ${versionOf(alias)} (${alias})`,
    async ({ now }) => {
      const { Redis } = await load<{ Redis: new (url: string) => { on(e: string, f: () => void): void; disconnect(): void } }>(alias);
      const client = new Redis(REDIS_URL);
      client.on('error', () => {});
      cleanups.push(async () => client.disconnect());
      const prefix = redisPrefix();
      prefixes.push(prefix);
      return new RedisStore({ client: client as never, now, prefix });
    },
    { skip: redisSkip },
  );
}

for (const alias of ['redis-oldest', 'redis-newest']) {
  runStoreContract(
    `RedisStore over node-redis ${versionOf(alias)} (${alias})`,
    async ({ now }) => {
      type Client = { on(e: string, f: () => void): unknown; connect(): Promise<unknown>; destroy(): void };
      const { createClient } = await load<{ createClient: (o: object) => Client }>(alias);
      const client = createClient({ url: REDIS_URL });
      client.on('error', () => {});
      await client.connect();
      cleanups.push(async () => client.destroy());
      const prefix = redisPrefix();
      prefixes.push(prefix);
      return new RedisStore({ client: client as never, now, prefix });
    },
    { skip: redisSkip },
  );
}

// ---- PGlite: one in-memory instance per version, a table per store ---------------------------------

for (const alias of ['pglite-oldest', 'pglite-newest']) {
  let db: { close(): Promise<void> } | undefined;
  let tables = 0;
  // Starting PGlite takes seconds (more on a loaded machine): once per version, before the suite.
  beforeAll(async () => {
    if (notInstalled !== undefined) return;
    const { PGlite } = await load<{ PGlite: { create(): Promise<{ close(): Promise<void> }> } }>(alias);
    const instance = await PGlite.create();
    db = instance;
    cleanups.push(() => instance.close());
  }, 120_000);
  runStoreContract(
    `PgliteStore over @electric-sql/pglite ${versionOf(alias)} (${alias})`,
    async ({ now }) => {
      const store: RecordStore & { migrate(): Promise<void> } = new PgliteStore({ db: db as never, table: `v${++tables}`, now });
      await store.migrate();
      return store;
    },
    { skip: notInstalled },
  );
}

// ---- PostgreSQL: the oldest pg 8 accepted (the root install is the newest) ------------------------

{
  const alias = 'pg-oldest';
  let pool: { end(): Promise<void> } | undefined;
  if (postgresSkip === undefined) cleanups.push(() => postgresFixture.cleanup());
  runStoreContract(
    `PostgresStore over pg ${versionOf(alias)} (${alias})`,
    async ({ now }) => {
      if (pool === undefined) {
        const mod = await load<{ default: { Pool: new (o: object) => { end(): Promise<void>; on(e: string, f: () => void): void } } }>(alias);
        const p = new mod.default.Pool({ connectionString: DATABASE_URL, max: 4 });
        p.on('error', () => {});
        pool = p;
        cleanups.push(() => p.end());
      }
      const table = await postgresFixture.freshTable();
      const store = new PostgresStore({ pool: pool as never, table, now });
      await store.migrate();
      return store;
    },
    { skip: postgresSkip },
  );
}
