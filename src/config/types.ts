/**
 * The configuration of `createSessionStore`: one type per adapter, joined in a union on `adapter`,
 * so an option given to an adapter that does not use it (a Redis `prefix` on PostgreSQL, a `dataDir`
 * on Redis) is a type error. JavaScript callers get the same refusals at run time from
 * `validateConfig`, as a `ConfigError` naming the field.
 */
import { InvalidInputError } from '../contract/errors.js';
import type { Keyring } from '../keys/keyring.js';
import type { AuditSink } from '../audit.js';

/**
 * The client `redisClient` takes: an ioredis `Redis` or `Cluster`, or a node-redis client or Cluster
 * (`redis` v5/v6), described by shape rather than by the libraries' own types so that `./config`'s
 * declarations name neither: a TypeScript project that uses `./config` without them installed still
 * type-checks with `skipLibCheck: false`.
 */
export type RedisClientLike = { readonly status: string; quit(): Promise<unknown> } | { readonly isOpen: boolean; sendCommand(...args: never[]): Promise<unknown>; withTypeMapping(...args: never[]): unknown };

/** The `pg` Pool `pgPool` takes, by shape for the same reason (no `pg` / `@types/pg` needed). */
export interface PgPoolLike {
  connect(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
}

export type AdapterName = 'memory' | 'redis' | 'postgres' | 'pglite';
export const ADAPTERS: readonly AdapterName[] = ['memory', 'redis', 'postgres', 'pglite'];

/** Default connect check budget (ms): long enough for a healthy server, short enough for a CLI. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3000;
/** Redis key prefix when none is given: per namespace, so two namespaces never list each other's sessions. */
export const defaultRedisPrefix = (namespace: string): string => `sss:${namespace}:`;

const DAY_MS = 86_400_000;
const MAX_TIMEOUT_MS = 10 * 60_000;
/** Bounds (ms, inclusive) of every duration option: the same whether it comes from code or from the environment. */
export const DURATION_BOUNDS = {
  ttlMs: [1, 366 * DAY_MS],
  absoluteTtlMs: [1, 366 * DAY_MS],
  connectTimeoutMs: [1, MAX_TIMEOUT_MS],
  sweepIntervalMs: [1, 6 * MAX_TIMEOUT_MS],
} as const satisfies Record<string, readonly [number, number]>;
export type DurationOption = keyof typeof DURATION_BOUNDS;

/** Where the keys come from. Exactly one of `keyring`, `path`, `json`, `store`. */
export interface KeysetConfig {
  /** A ready keyring (tests, or keys from your own secret manager). */
  keyring?: Keyring;
  /** A keyset file (writable: rotations go through its lock). */
  path?: string;
  /** The keyset text itself (JSON or base64url of it), e.g. from a secret store; read-only. */
  json?: string;
  /** Opens (and writes) a keyset wrapped by the passphrase provider. */
  passphrase?: string;
  /**
   * Opens (and writes) a keyset wrapped by AWS KMS (needs `@aws-sdk/client-kms`; docs/kms.md).
   * With `passphrase` too, a keyset under either opens and writes go to KMS (a move to KMS).
   */
  kms?: KeysetKmsConfig;
  /** Accept a CLEARTEXT keyset (JWK Set). Tests and local development only. */
  insecureCleartext?: boolean;
  /**
   * Open a keyset wrapped below the minimum scrypt cost (logN < 15), refused by default. Only to
   * re-wrap an old keyset at the current cost (`sealed-session keys rewrap`); a low cost makes a
   * stolen file cheap to brute-force. Default false.
   */
  unsafeLowCost?: boolean;
  /**
   * Keep the keyset in the session store itself (its keyset slot, beside the sessions), wrapped by
   * the passphrase: for fleets with no shared file system (docs/key-rotation-store.md). Every
   * process follows it (`follow`, default every 2000 ms) and picks up a rotation made anywhere. Not with `memory`.
   */
  store?: boolean;
  /** With `path` or `store`: create a freshly generated keyset when none exists (a file: when it does not exist; the store: with ifAbsent). Default false. */
  createIfMissing?: boolean;
  /**
   * With `path` or `store`: follow the keyset, so a rotation made elsewhere reaches this process
   * without a restart (docs/key-rotation.md). Default on, polling every 1000 ms (a file) or 2000 ms
   * (the store); `false` turns it off. A
   * failed reload keeps the keys and is reported to `onError` and to `onEvent` (`keyset_reload`).
   */
  follow?: boolean | { intervalMs?: number; onError?: (err: unknown) => void };
}

/** AWS KMS settings of a keyset (`SSS_KEYSET_KMS_*`). */
export interface KeysetKmsConfig {
  /** The KMS key that wraps the keyset: key id, key ARN, alias name or alias ARN. */
  keyId: string;
  /** Default: the AWS environment's region. */
  region?: string;
  /** A VPC endpoint, or an emulator in tests. */
  endpoint?: string;
  /** Further KMS keys whose wrapping this process opens (while the keyset moves between keys). */
  decryptKeyIds?: string[];
}

/** What every adapter accepts. */
export interface CommonConfig {
  /** Authenticated in every envelope; default `default`. Letters, digits and `._:-`, 1..128. */
  namespace?: string;
  /** Idle timeout (ms); default 30 min. */
  ttlMs?: number;
  /** Absolute session lifetime (ms); default 12 h. Also the keyring's sign/hash retirement delay. */
  absoluteTtlMs?: number;
  /** Renew the idle window on access. Default false. */
  sliding?: boolean;
  /** Periodic cleanup of expired sessions (ms); default off. */
  sweepIntervalMs?: number;
  /** Keys. Optional for `memory` only (an ephemeral keyring is generated). */
  keyset?: KeysetConfig;
  /** Budget of the connect check and of each connection attempt (ms); default 3000. Used by redis and postgres. */
  connectTimeoutMs?: number;
  /** MIGRATION ONLY: accept plaintext records and seal them on write / rekey. Default false. */
  unsafeAcceptPlaintext?: boolean;
  /** Re-seal on load records under an older key. Default true; off for read-only tools. */
  lazyReencrypt?: boolean;
  hideExistence?: boolean;
  now?: () => number;
  /** Audit sink: security events (integrity failures, owner mismatches, rotations, ...). */
  onEvent?: AuditSink;
  /**
   * Failures and warnings nobody awaits: a failed background sweep, and (passed to
   * `loadConfigFromEnv`) an unknown `SSS_*` variable. Default: sweep failures are counted in
   * `stats()` only; configuration warnings go to `process.emitWarning`.
   */
  onError?: (err: unknown) => void;
}

export interface MemoryConfig extends CommonConfig {
  adapter: 'memory';
}

export interface RedisConfig extends CommonConfig {
  adapter: 'redis';
  /** `redis://` or `rediss://`. */
  url: string;
  /** Redis key prefix; default `sss:<namespace>:`. */
  prefix?: string;
  /** An ioredis or node-redis client to use instead of creating one (not closed by `close()`). */
  redisClient?: RedisClientLike;
}

export interface PostgresConfig extends CommonConfig {
  adapter: 'postgres';
  /** `postgres://` or `postgresql://`. */
  url: string;
  /** Table (`name` or `schema.name`); default `sealed_sessions`. */
  table?: string;
  /**
   * Create the table if missing. Default false: schema changes are a deploy step, and the serving
   * role may lack DDL rights.
   */
  migrate?: boolean;
  /** A pg Pool to use instead of creating one (not ended by `close()`). */
  pgPool?: PgPoolLike;
}

export interface PgliteConfig extends CommonConfig {
  adapter: 'pglite';
  /** PGlite data directory. */
  dataDir: string;
  /** Table (`name` or `schema.name`); default `sealed_sessions`. */
  table?: string;
  /** Create the table if missing. Default true: the application owns its embedded database. */
  migrate?: boolean;
}

export type SessionStoreConfig = MemoryConfig | RedisConfig | PostgresConfig | PgliteConfig;

type AdapterOptions = Omit<MemoryConfig, 'adapter'> & Omit<RedisConfig, 'adapter'> & Omit<PostgresConfig, 'adapter'> & Omit<PgliteConfig, 'adapter'>;

/**
 * Every option of every adapter, all optional: a configuration being assembled (by the CLI, from
 * the environment and then its flags) before `validateConfig` says whether it is one of the union.
 */
export type ConfigDraft = Partial<AdapterOptions> & { adapter: AdapterName };

/** A configuration value is missing or malformed; `field` names it (a config key or an env variable). */
export class ConfigError extends InvalidInputError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

/**
 * Runs a `util/options` check of `field` and re-throws its `invalid_input` as a `ConfigError`
 * naming the field (so callers learn which variable or key to fix).
 */
export function checkField<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof InvalidInputError) || err instanceof ConfigError) throw err;
    const message = err.message.startsWith(`${field} `) ? err.message.slice(field.length + 1) : err.message;
    throw new ConfigError(field, message, { cause: err });
  }
}
