/**
 * `sealed-session-store/config`: one factory that builds a backend and the security layers from a
 * plain object or from environment variables, so an application and the `sealed-session` CLI
 * build the SAME store (adapter, URL, key prefix / table, namespace, keyset) and the CLI sees
 * exactly what the application wrote. The namespace is authenticated in every envelope: a CLI
 * pointed at another namespace cannot open a single session, so it must come from here too.
 *
 * Client libraries (`ioredis`, `pg`, `@electric-sql/pglite`) are imported lazily, only for the
 * adapter chosen: importing this module loads none of them.
 *
 * Every validation failure is a `ConfigError` (code `invalid_input`) naming the field or
 * environment variable at fault. Connection failures are `backend_unavailable`, raised at once
 * by a short connect check rather than by the first request.
 */
import { existsSync } from 'node:fs';
import { BackendUnavailableError, InvalidInputError, KeyStateError } from './contract/errors.js';
import type { RecordStore } from './contract/store.js';
import { MemoryStore } from './backends/memory.js';
import { PgliteStore } from './backends/pglite.js';
import { type PgPool, PostgresStore } from './backends/postgres.js';
import { type RedisClient, RedisStore } from './backends/redis.js';
import { Keyring } from './keys/keyring.js';
import { passphraseProvider } from './keys/providers/passphrase.js';
import type { AuditSink } from './audit.js';
import { SecureStore, type SecureStoreOptions } from './secure-store.js';

export type AdapterName = 'memory' | 'redis' | 'postgres' | 'pglite';
export const ADAPTERS: readonly AdapterName[] = ['memory', 'redis', 'postgres', 'pglite'];

/** Default connect check budget (ms): long enough for a healthy server, short enough for a CLI. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3000;
/** Redis key prefix when none is given: per namespace, so two namespaces never list each other's sessions. */
export const defaultRedisPrefix = (namespace: string): string => `sss:${namespace}:`;

/** Where the keys come from. Exactly one of `keyring`, `path`, `json`. */
export interface KeysetConfig {
  /** A ready keyring (tests, or keys from your own secret manager). */
  keyring?: Keyring;
  /** A keyset file (writable: rotations go through its lock). */
  path?: string;
  /** The keyset text itself (JSON or base64url of it), e.g. from a secret store; read-only. */
  json?: string;
  /** Opens (and writes) a keyset wrapped by the passphrase provider. */
  passphrase?: string;
  /** Accept a CLEARTEXT keyset (JWK Set). Tests and local development only. */
  insecureCleartext?: boolean;
  /** With `path`: write a freshly generated keyset when the file does not exist. Default false. */
  createIfMissing?: boolean;
}

export interface SessionStoreConfig {
  adapter: AdapterName;
  /** `redis://` / `rediss://` for redis, `postgres://` / `postgresql://` for postgres. */
  url?: string;
  /** PGlite data directory. */
  dataDir?: string;
  /** Redis key prefix; default `sss:<namespace>:`. */
  prefix?: string;
  /** PostgreSQL / PGlite table (`name` or `schema.name`); default `sealed_sessions`. */
  table?: string;
  /**
   * Create the table if missing (postgres, pglite). Default: true for pglite (the application
   * owns its embedded database), false for postgres (schema changes are a deploy step, and the
   * serving role may lack DDL rights).
   */
  migrate?: boolean;
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
  /** Budget of the connect check and of each connection attempt (ms); default 3000. */
  connectTimeoutMs?: number;
  /** An ioredis client to use instead of creating one (not closed by `close()`). */
  redisClient?: RedisClient;
  /** A pg Pool to use instead of creating one (not ended by `close()`). */
  pgPool?: PgPool;
  /** MIGRATION ONLY: accept plaintext records and seal them on write / rekey. Default false. */
  unsafeAcceptPlaintext?: boolean;
  /** Re-seal on load records under an older key. Default true; off for read-only tools. */
  lazyReencrypt?: boolean;
  hideExistence?: boolean;
  now?: () => number;
  onEvent?: AuditSink;
}

export interface CreatedSessionStore {
  store: SecureStore;
  backend: RecordStore;
  keyring: Keyring;
  config: Readonly<SessionStoreConfig>;
  /** Closes the store, then ends the clients this factory created (never injected ones). Idempotent. */
  close(): Promise<void>;
}

/** A configuration value is missing or malformed; `field` names it (a config key or an env variable). */
export class ConfigError extends InvalidInputError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

// ---------------------------------------------------------------------------------- env

type Env = Record<string, string | undefined>;

/**
 * Reads a configuration from environment variables:
 *
 * | variable | meaning |
 * |---|---|
 * | `SSS_ADAPTER` | memory, redis, postgres, pglite (default: from `SSS_URL`'s scheme, `SSS_PGLITE_DIR`, else memory) |
 * | `SSS_URL` | the server URL; else `REDIS_URL` (redis) or `DATABASE_URL` (postgres) |
 * | `SSS_PGLITE_DIR` | PGlite data directory |
 * | `SSS_PREFIX`, `SSS_TABLE`, `SSS_MIGRATE` | Redis key prefix; SQL table; create the table (1/0) |
 * | `SSS_NAMESPACE` | envelope namespace |
 * | `SSS_TTL_MS`, `SSS_ABSOLUTE_TTL_MS` | idle and absolute lifetimes |
 * | `SSS_KEYSET` / `SSS_KEYSET_JSON` | keyset file path / keyset text |
 * | `SSS_KEYSET_PASSPHRASE` | passphrase of a wrapped keyset |
 * | `SSS_KEYSET_INSECURE_CLEARTEXT` | 1 to accept a cleartext keyset (development only) |
 * | `SSS_CONNECT_TIMEOUT_MS` | connect check budget |
 */
export function loadConfigFromEnv(env: Env = process.env): SessionStoreConfig {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const url = get('SSS_URL');
  const pgliteDir = get('SSS_PGLITE_DIR');
  let adapter: AdapterName;
  const named = get('SSS_ADAPTER');
  if (named !== undefined) {
    if (!ADAPTERS.includes(named as AdapterName)) throw new ConfigError('SSS_ADAPTER', `must be one of ${ADAPTERS.join(', ')}, got "${named}"`);
    adapter = named as AdapterName;
  } else if (url !== undefined) {
    adapter = adapterForUrl(url, 'SSS_URL');
  } else {
    adapter = pgliteDir !== undefined ? 'pglite' : 'memory';
  }
  const config: SessionStoreConfig = { adapter };
  if (adapter === 'redis' || adapter === 'postgres') {
    const fallback = adapter === 'redis' ? 'REDIS_URL' : 'DATABASE_URL';
    const u = url ?? get(fallback);
    if (u === undefined) throw new ConfigError('SSS_URL', `the ${adapter} adapter needs SSS_URL or ${fallback}`);
    config.url = u;
  }
  if (adapter === 'pglite') {
    if (pgliteDir === undefined) throw new ConfigError('SSS_PGLITE_DIR', 'the pglite adapter needs a data directory');
    config.dataDir = pgliteDir;
  }
  const str = (name: string, key: 'prefix' | 'table' | 'namespace') => {
    const v = get(name);
    if (v !== undefined) config[key] = v;
  };
  str('SSS_PREFIX', 'prefix');
  str('SSS_TABLE', 'table');
  str('SSS_NAMESPACE', 'namespace');
  const int = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    if (!/^[0-9]{1,15}$/.test(v)) throw new ConfigError(name, `must be a whole number of milliseconds, got "${v}"`);
    return Number(v);
  };
  const ttl = int('SSS_TTL_MS');
  if (ttl !== undefined) config.ttlMs = ttl;
  const abs = int('SSS_ABSOLUTE_TTL_MS');
  if (abs !== undefined) config.absoluteTtlMs = abs;
  const timeout = int('SSS_CONNECT_TIMEOUT_MS');
  if (timeout !== undefined) config.connectTimeoutMs = timeout;
  const migrate = flag(get('SSS_MIGRATE'), 'SSS_MIGRATE');
  if (migrate !== undefined) config.migrate = migrate;

  const path = get('SSS_KEYSET');
  const json = get('SSS_KEYSET_JSON');
  if (path !== undefined && json !== undefined) throw new ConfigError('SSS_KEYSET', 'set SSS_KEYSET (a file) or SSS_KEYSET_JSON (the text), not both');
  if (path !== undefined || json !== undefined) {
    const keyset: KeysetConfig = path !== undefined ? { path } : { json: json! };
    const passphrase = env.SSS_KEYSET_PASSPHRASE;
    if (passphrase !== undefined && passphrase !== '') keyset.passphrase = passphrase;
    if (flag(get('SSS_KEYSET_INSECURE_CLEARTEXT'), 'SSS_KEYSET_INSECURE_CLEARTEXT') === true) keyset.insecureCleartext = true;
    config.keyset = keyset;
  }
  return config;
}

function flag(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(name, `must be 1 or 0, got "${v}"`);
}

function adapterForUrl(url: string, field: string): AdapterName {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return 'redis';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  throw new ConfigError(field, `cannot tell the adapter from URL scheme "${scheme ?? ''}" (expected redis://, rediss://, postgres:// or postgresql://)`);
}

// ---------------------------------------------------------------------------------- validation

const NAMESPACE = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_TIMEOUT_MS = 10 * 60_000;

/** The URL without credentials, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}

function checkUrl(config: SessionStoreConfig, adapter: 'redis' | 'postgres'): URL {
  if (typeof config.url !== 'string' || config.url === '') throw new ConfigError('url', `the ${adapter} adapter needs a URL`);
  let u: URL;
  try {
    u = new URL(config.url);
  } catch {
    throw new ConfigError('url', `is not a valid URL (${adapter === 'redis' ? 'redis://host:6379' : 'postgres://user@host:5432/db'} expected)`);
  }
  if (adapterForUrl(config.url, 'url') !== adapter) throw new ConfigError('url', `${redactUrl(config.url)} is not a ${adapter} URL`);
  if (u.hostname === '') throw new ConfigError('url', `${redactUrl(config.url)} has no host`);
  return u;
}

function checkMs(value: unknown, field: string, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `must be an integer number of milliseconds in ${min}..${max}`);
  }
}

/** Checks a configuration without connecting anywhere; throws `ConfigError`. */
export function validateConfig(config: SessionStoreConfig): void {
  if (config === null || typeof config !== 'object') throw new ConfigError('config', 'must be an object');
  if (!ADAPTERS.includes(config.adapter)) throw new ConfigError('adapter', `must be one of ${ADAPTERS.join(', ')}, got ${JSON.stringify(config.adapter)}`);
  if (config.adapter === 'redis' || config.adapter === 'postgres') checkUrl(config, config.adapter);
  else if (config.url !== undefined) throw new ConfigError('url', `is not used by the ${config.adapter} adapter`);
  if (config.adapter === 'pglite' && (typeof config.dataDir !== 'string' || config.dataDir === '')) throw new ConfigError('dataDir', 'the pglite adapter needs a data directory');
  if (config.adapter !== 'pglite' && config.dataDir !== undefined) throw new ConfigError('dataDir', `is not used by the ${config.adapter} adapter`);
  if (config.prefix !== undefined && config.adapter !== 'redis') throw new ConfigError('prefix', 'is only used by the redis adapter');
  if (config.table !== undefined && config.adapter !== 'postgres' && config.adapter !== 'pglite') throw new ConfigError('table', 'is only used by the postgres and pglite adapters');
  if (config.namespace !== undefined && (typeof config.namespace !== 'string' || !NAMESPACE.test(config.namespace))) {
    throw new ConfigError('namespace', `must match ${NAMESPACE}`);
  }
  checkMs(config.ttlMs, 'ttlMs', 1, 366 * 86_400_000);
  checkMs(config.absoluteTtlMs, 'absoluteTtlMs', 1, 366 * 86_400_000);
  checkMs(config.connectTimeoutMs, 'connectTimeoutMs', 1, MAX_TIMEOUT_MS);
  checkMs(config.sweepIntervalMs, 'sweepIntervalMs', 1, MAX_TIMEOUT_MS * 6);
  const k = config.keyset;
  if (k === undefined) {
    if (config.adapter !== 'memory') {
      throw new ConfigError('keyset', `the ${config.adapter} adapter keeps sessions beyond this process, so it needs a persistent keyset (path, json or keyring); create one with \`sealed-session keys generate\``);
    }
    return;
  }
  if (k === null || typeof k !== 'object') throw new ConfigError('keyset', 'must be an object');
  const sources = [k.keyring, k.path, k.json].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new ConfigError('keyset', 'needs exactly one of keyring, path, json');
  if (k.keyring !== undefined && !(k.keyring instanceof Keyring)) throw new ConfigError('keyset.keyring', 'must be a Keyring');
  if (k.path !== undefined && (typeof k.path !== 'string' || k.path === '')) throw new ConfigError('keyset.path', 'must be a file path');
  if (k.json !== undefined && (typeof k.json !== 'string' || k.json === '')) throw new ConfigError('keyset.json', 'must be the keyset text');
  if (k.passphrase !== undefined && (typeof k.passphrase !== 'string' || k.passphrase.length < 8)) {
    throw new ConfigError('keyset.passphrase', 'must be a string of at least 8 characters');
  }
  if (k.keyring === undefined && k.passphrase === undefined && k.insecureCleartext !== true) {
    throw new ConfigError('keyset.passphrase', 'a keyset at rest needs its passphrase (SSS_KEYSET_PASSPHRASE), or insecureCleartext: true for a cleartext development keyset');
  }
  if (k.createIfMissing === true && k.path === undefined) throw new ConfigError('keyset.createIfMissing', 'only applies to a keyset file (path)');
}

// ---------------------------------------------------------------------------------- factory

/** Loads the keyring a configuration names (file, text, or the given instance). */
export async function loadKeyring(config: SessionStoreConfig): Promise<Keyring> {
  const k = config.keyset;
  const options = {
    ...(config.absoluteTtlMs === undefined ? {} : { maxSessionLifetimeMs: config.absoluteTtlMs }),
    ...(config.now === undefined ? {} : { now: config.now }),
  };
  if (k === undefined) return Keyring.generate(options);
  if (k.keyring !== undefined) return k.keyring;
  const protection = k.passphrase !== undefined ? { provider: passphraseProvider(k.passphrase) } : { insecureCleartext: true as const };
  // A wrapped keyset opened without its passphrase must still say so clearly: let the decoder
  // speak (it names the provider) rather than guessing here.
  const both = k.passphrase !== undefined && k.insecureCleartext === true ? { ...protection, insecureCleartext: true as const } : protection;
  if (k.path !== undefined) {
    if (k.createIfMissing !== true && !existsSync(k.path)) {
      throw new KeyStateError(`keyset file ${k.path} does not exist; create one with \`sealed-session keys generate --keyset ${k.path}\``);
    }
    return Keyring.fromFile(k.path, { ...options, ...both, ...(k.createIfMissing === true ? { createIfMissing: true } : {}) });
  }
  return Keyring.fromEnv('keyset', { ...options, ...both, env: { keyset: k.json } });
}

/**
 * Builds the backend and `secureStore()` over it. Connects (with a short timeout) before
 * resolving, so a wrong URL or an unreachable server fails here, with `backend_unavailable`.
 */
export async function createSessionStore(config: SessionStoreConfig = loadConfigFromEnv()): Promise<CreatedSessionStore> {
  validateConfig(config);
  const keyring = await loadKeyring(config);
  const namespace = config.namespace ?? 'default';
  const timeoutMs = config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const cleanups: Array<() => Promise<void>> = [];
  const common = config.now === undefined ? {} : { now: config.now };
  let backend: RecordStore;
  try {
    switch (config.adapter) {
      case 'memory':
        backend = new MemoryStore(common);
        break;
      case 'redis': {
        const client = config.redisClient ?? (await connectRedis(config.url!, timeoutMs, cleanups));
        backend = new RedisStore({ client, prefix: config.prefix ?? defaultRedisPrefix(namespace), commandTimeoutMs: Math.max(timeoutMs, 1000), ...common });
        break;
      }
      case 'postgres': {
        const pool = config.pgPool ?? (await connectPostgres(config.url!, timeoutMs, cleanups));
        const store = new PostgresStore({ pool, timeoutMs: Math.max(timeoutMs, 1000), ...(config.table === undefined ? {} : { table: config.table }), ...common });
        cleanups.unshift(() => store.close());
        if (config.migrate === true) await store.migrate();
        backend = store;
        break;
      }
      case 'pglite': {
        const store = await PgliteStore.open({
          dataDir: config.dataDir!,
          migrate: config.migrate ?? true,
          ...(config.table === undefined ? {} : { table: config.table }),
          ...common,
        });
        cleanups.unshift(() => store.close());
        backend = store;
        break;
      }
    }
  } catch (err) {
    for (const c of cleanups) await c().catch(() => {});
    throw err;
  }
  const ttl: NonNullable<SecureStoreOptions['ttl']> = {};
  if (config.ttlMs !== undefined) ttl.idleMs = config.ttlMs;
  if (config.absoluteTtlMs !== undefined) ttl.absoluteMs = config.absoluteTtlMs;
  if (config.sliding !== undefined) ttl.sliding = config.sliding;
  if (config.sweepIntervalMs !== undefined) ttl.sweepIntervalMs = config.sweepIntervalMs;
  const encryption: NonNullable<SecureStoreOptions['encryption']> = {};
  if (config.unsafeAcceptPlaintext === true) encryption.unsafeAcceptPlaintext = true;
  if (config.lazyReencrypt !== undefined) encryption.lazyReencrypt = config.lazyReencrypt;
  let store: SecureStore;
  try {
    store = new SecureStore(backend, {
      keyring,
      namespace,
      ttl,
      encryption,
      ...common,
      ...(config.hideExistence === undefined ? {} : { hideExistence: config.hideExistence }),
      ...(config.onEvent === undefined ? {} : { onEvent: config.onEvent }),
    });
    await store.start();
  } catch (err) {
    await backend.close().catch(() => {});
    for (const c of cleanups) await c().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      try {
        await store.close();
      } finally {
        for (const c of cleanups) await c().catch(() => {});
      }
    })();
    return closing;
  };
  return { store, backend, keyring, config: Object.freeze({ ...config }), close };
}

// ---------------------------------------------------------------------------------- clients

function describeFailure(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  if (e !== null && typeof e === 'object') {
    if (typeof e.code === 'string') return e.code;
    // AggregateError from a dual-stack connect: report the first cause's code.
    if (Array.isArray(e.errors) && e.errors.length > 0) return describeFailure(e.errors[0]);
    if (typeof e.message === 'string' && e.message !== '') return e.message;
  }
  return String(err);
}

async function connectRedis(url: string, timeoutMs: number, cleanups: Array<() => Promise<void>>): Promise<RedisClient> {
  let mod: typeof import('ioredis');
  try {
    mod = await import('ioredis');
  } catch (err) {
    throw new BackendUnavailableError('the redis adapter needs the optional peer dependency ioredis: npm install ioredis', { cause: err });
  }
  let connected = false;
  const client = new mod.Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 2,
    // Fail fast while the first connection is being made (a CLI must not hang on a wrong URL);
    // once connected, reconnect with a capped backoff like any long-lived client.
    retryStrategy: (times: number) => (connected ? Math.min(50 * 2 ** times, 2000) : null),
  });
  // We created this client, so its error events are ours: failures surface as typed errors from
  // the store's operations, never as "Unhandled error event" noise.
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  cleanups.push(async () => {
    await client.quit().catch(() => client.disconnect());
  });
  try {
    await withTimeout(client.connect(), timeoutMs);
    connected = true;
  } catch (err) {
    client.disconnect();
    const cause = lastError ?? err;
    throw new BackendUnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${describeFailure(cause)}`, { cause });
  }
  return client;
}

async function connectPostgres(url: string, timeoutMs: number, cleanups: Array<() => Promise<void>>): Promise<PgPool> {
  let mod: typeof import('pg');
  try {
    mod = await import('pg');
  } catch (err) {
    throw new BackendUnavailableError('the postgres adapter needs the optional peer dependency pg: npm install pg', { cause: err });
  }
  const Pool = (mod.default ?? mod).Pool;
  const pool = new Pool({ connectionString: url, connectionTimeoutMillis: timeoutMs, max: 10 });
  pool.on('error', () => {});
  let ended = false;
  const end = async () => {
    if (ended) return;
    ended = true;
    await pool.end().catch(() => {});
  };
  cleanups.push(end);
  try {
    await withTimeout(pool.query('SELECT 1'), timeoutMs);
  } catch (err) {
    await end();
    cleanups.splice(cleanups.indexOf(end), 1);
    throw new BackendUnavailableError(`cannot reach PostgreSQL at ${redactUrl(url)}: ${describeFailure(err)}`, { cause: err });
  }
  return pool;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
