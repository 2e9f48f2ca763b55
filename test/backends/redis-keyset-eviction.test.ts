/**
 * RedisStore.keysetWarnings: an `allkeys-*` eviction policy may evict the stored keyset (it has no
 * TTL, so `volatile-*` never does), read through CONFIG GET maxmemory-policy; a server where CONFIG
 * is disabled (managed Redis) gets a warning that the policy could not be checked, never an error.
 * A stub client answers CONFIG, so no shared server's settings are ever changed.
 */
import { describe, expect, it } from 'vitest';
import { RedisStore } from 'sealed-session-store/redis';

function stubClient(config: (...args: string[]) => Promise<unknown>) {
  return { status: 'ready', config } as unknown as ConstructorParameters<typeof RedisStore>[0]['client'];
}

class ReplyError extends Error {
  override name = 'ReplyError';
}

describe('RedisStore keyset eviction warning', () => {
  for (const policy of ['allkeys-lru', 'allkeys-lfu', 'allkeys-random']) {
    it(`warns under ${policy}`, async () => {
      const store = new RedisStore({ client: stubClient(async () => ['maxmemory-policy', policy]), prefix: 'p:' });
      const warnings = await store.keysetWarnings();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(policy);
      expect(warnings[0]).toContain('p:~keyset v1');
    });
  }

  for (const policy of ['noeviction', 'volatile-lru', 'volatile-ttl']) {
    it(`is quiet under ${policy}`, async () => {
      const store = new RedisStore({ client: stubClient(async () => ['maxmemory-policy', policy]) });
      expect(await store.keysetWarnings()).toEqual([]);
    });
  }

  it('CONFIG disabled: says the policy could not be checked, without failing', async () => {
    const store = new RedisStore({
      client: stubClient(async () => {
        throw new ReplyError("ERR unknown command 'CONFIG'");
      }),
      retry: { maxAttempts: 1 },
    });
    const warnings = await store.keysetWarnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not read the Redis eviction policy.*unknown command/);
  });
});
