/**
 * `sealed-session-store/redis`: RedisStore over an injected ioredis client (./store.ts), with its
 * SCAN walks (./scan.ts) and its transport (./connection.ts). ioredis is a peer dependency, imported
 * for its types only.
 */
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_GRACE_MS,
  DEFAULT_REDIS_PREFIX,
  RedisStore,
  type RedisRetryPolicy,
  type RedisStoreOptions,
} from './store.js';
export type { RedisClient } from './connection.js';
