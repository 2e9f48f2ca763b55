/** The shared compliance suite over RedisStore on the real server (skips with a reason when Redis is absent). */
import { afterAll } from 'vitest';
import { runStoreContract } from 'sealed-session-store/testing';
import { disposeRedisStore, redisFixture } from '../support/fixtures/redis.js';

const skip = await redisFixture.skipReason();

runStoreContract('RedisStore', (ctx) => redisFixture.create(ctx), {
  skip,
  teardown: async (store) => {
    if (skip === undefined) await disposeRedisStore(store as Parameters<typeof disposeRedisStore>[0]);
  },
});

afterAll(async () => {
  if (skip === undefined) await redisFixture.cleanup();
});
