/**
 * `sealed-session-store/config`: one factory that builds a backend and the security layers from a
 * plain object or from environment variables, so an application and the `sealed-session` CLI
 * build the SAME store (adapter, URL, key prefix / table, namespace, keyset) and the CLI sees
 * exactly what the application wrote. The namespace is authenticated in every envelope: a CLI
 * pointed at another namespace cannot open a single session, so it must come from here too.
 * The `SSS_*` variables are listed in docs/configuration.md.
 *
 * - known.ts: the one table of configuration keys and `SSS_*` variables;
 * - env.ts: `loadConfigFromEnv`, the `SSS_*` variables;
 * - validate.ts: `validateConfig`, the run-time twin of the per-adapter union type (types.ts);
 * - create.ts: `createSessionStore`, `loadKeyring`;
 * - connect.ts: the Redis and PostgreSQL clients the factory creates, imported lazily.
 *
 * Client libraries (`ioredis`, `pg`, `@electric-sql/pglite`) are imported only for the adapter
 * chosen: importing this module loads none of them. Every validation failure is a `ConfigError`
 * (code `invalid_input`) naming the field or environment variable at fault. Connection failures
 * are `backend_unavailable`, raised at once by a short connect check rather than by the first
 * request.
 */
export {
  ADAPTERS,
  type AdapterName,
  type CommonConfig,
  ConfigError,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type KeysetConfig,
  type KeysetKmsConfig,
  type MemoryConfig,
  type PgliteConfig,
  type PgPoolLike,
  type PostgresConfig,
  type RedisClientLike,
  type RedisConfig,
  type SessionStoreConfig,
} from './types.js';
export { type LoadConfigOptions, loadConfigFromEnv } from './env.js';
export { validateConfig } from './validate.js';
export { type CreatedSessionStore, createSessionStore, loadKeyring } from './create.js';
