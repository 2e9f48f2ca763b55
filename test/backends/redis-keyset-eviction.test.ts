/**
 * RedisStore.keysetWarnings: an `allkeys-*` eviction policy may evict the stored keyset (it has no
 * TTL, so `volatile-*` never does), read through CONFIG GET maxmemory-policy; a server where CONFIG
 * is disabled (managed Redis) gets a warning that the policy could not be checked, never an error.
 * Each case runs against a private redis-server (so no shared server's settings are ever changed),
 * through ioredis and through node-redis.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from 'sealed-session-store/redis';
import { type PrivateRedis, redisCommand, startRedis } from '../support/servers.js';
import { REQUIRE_SERVICES } from '../support/services.js';

let server: PrivateRedis | undefined;
let locked: PrivateRedis | undefined;
let skip: string | undefined;
try {
  server = await startRedis();
  locked = await startRedis({ args: ['--rename-command', 'CONFIG', ''] });
} catch (err) {
  if (REQUIRE_SERVICES) throw err;
  skip = `cannot start a private redis-server: ${(err as Error).message}`;
  console.warn(`[skip] ${skip}`);
}

type Open = (url: string) => Promise<{ client: ConstructorParameters<typeof RedisStore>[0]['client']; close(): Promise<unknown> }>;
const clients: [string, Open][] = [
  ['ioredis', async (url) => {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await c.connect();
    return { client: c, close: () => c.quit() };
  }],
  ['node-redis', async (url) => {
    const c = createClient({ url });
    c.on('error', () => {});
    await c.connect();
    return { client: c as never, close: () => c.quit() };
  }],
];

describe.skipIf(skip !== undefined)('RedisStore keyset eviction warning (private redis-server)', () => {
  afterAll(async () => {
    await server?.stop();
    await locked?.stop();
  });

  for (const [library, open] of clients) {
    describe(library, () => {
      for (const policy of ['allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction', 'volatile-lru', 'volatile-ttl']) {
        it(`${policy.startsWith('allkeys-') ? 'warns' : 'is quiet'} under ${policy}`, async () => {
          expect(await redisCommand(server!.port, 'CONFIG', 'SET', 'maxmemory-policy', policy)).toBe('+OK');
          const { client, close } = await open(server!.url);
          try {
            const warnings = await new RedisStore({ client, prefix: 'p:' }).keysetWarnings();
            if (policy.startsWith('allkeys-')) {
              expect(warnings).toHaveLength(1);
              expect(warnings[0]).toContain(policy);
              expect(warnings[0]).toContain('p:~keyset v1');
            } else {
              expect(warnings).toEqual([]);
            }
          } finally {
            await close();
          }
        });
      }

      it('CONFIG disabled: says the policy could not be checked, without failing', async () => {
        const { client, close } = await open(locked!.url);
        try {
          const warnings = await new RedisStore({ client, retry: { maxAttempts: 1 } }).keysetWarnings();
          expect(warnings).toHaveLength(1);
          expect(warnings[0]).toMatch(/could not read the Redis eviction policy/);
        } finally {
          await close();
        }
      });
    });
  }
});
