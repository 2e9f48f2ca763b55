/** The shared compliance suite over RedisStore through a node-redis client (skips with a reason when Redis is absent). */
import { afterAll } from 'vitest';
import { runStoreContract } from 'sealed-session-store/testing';
import { disposeNodeRedisStore, nodeRedisFixture } from '../support/fixtures/redis-node.js';

const skip = await nodeRedisFixture.skipReason();

runStoreContract('RedisStore (node-redis)', (ctx) => nodeRedisFixture.create(ctx), {
  skip,
  teardown: async (store) => {
    if (skip === undefined) await disposeNodeRedisStore(store as Parameters<typeof disposeNodeRedisStore>[0]);
  },
});

afterAll(async () => {
  if (skip === undefined) await nodeRedisFixture.cleanup();
});
