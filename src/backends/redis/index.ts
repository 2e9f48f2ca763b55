/**
 * `sealed-session-store/redis`: RedisStore over an injected ioredis or node-redis client
 * (./store.ts), with its SCAN walks (./scan.ts), its transport (./connection.ts) and the client
 * adapters (./adapt.ts, ./commands.ts). ioredis and redis are optional peers, imported for types only.
 */
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_GRACE_MS,
  DEFAULT_REDIS_PREFIX,
  RedisStore,
  type RedisRetryPolicy,
  type RedisStoreOptions,
} from './store.js';
export type { RedisClient } from './adapt.js';
export type { IoRedisClient } from './ioredis-client.js';
export type { NodeRedisClient, NodeRedisClientLike, NodeRedisClusterLike } from './node-redis-client.js';
