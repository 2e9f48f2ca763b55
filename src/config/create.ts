/**
 * `createSessionStore`: the keyring, the backend and `secureStore()` over it, from one validated
 * configuration, plus a `close()` that ends only what this factory created.
 */
import { existsSync } from 'node:fs';
import { KeyStateError } from '../contract/errors.js';
import type { RecordStore } from '../contract/store.js';
import { MemoryStore } from '../backends/memory.js';
import { PgliteStore } from '../backends/pglite.js';
import { type PgPool, PostgresStore } from '../backends/postgres.js';
import { type RedisClient, RedisStore } from '../backends/redis/index.js';
import { Keyring } from '../keys/keyring.js';
import { passphraseProvider } from '../keys/providers/passphrase.js';
import { SecureStore, type SecureStoreOptions } from '../secure-store.js';
import { type Cleanups, connectPostgres, connectRedis } from './connect.js';
import { loadConfigFromEnv } from './env.js';
import { ConfigError, DEFAULT_CONNECT_TIMEOUT_MS, type SessionStoreConfig, defaultRedisPrefix } from './types.js';
import { validateConfig } from './validate.js';

export interface CreatedSessionStore {
  store: SecureStore;
  backend: RecordStore;
  keyring: Keyring;
  config: Readonly<SessionStoreConfig>;
  /** Closes the store, then ends the clients this factory created (never injected ones). Idempotent. */
  close(): Promise<void>;
}

/** Loads the keyring a configuration names (file, text, or the given instance). */
export async function loadKeyring(config: SessionStoreConfig): Promise<Keyring> {
  if (config === null || typeof config !== 'object') throw new ConfigError('config', 'must be an object');
  const k = config.keyset;
  const options = {
    ...(config.absoluteTtlMs === undefined ? {} : { maxSessionLifetimeMs: config.absoluteTtlMs }),
    ...(config.now === undefined ? {} : { now: config.now }),
  };
  if (k === undefined) return Keyring.generate(options);
  if (k.keyring !== undefined) return k.keyring;
  const protection = k.passphrase !== undefined ? { provider: passphraseProvider(k.passphrase, k.unsafeLowCost === true ? { unsafeLowCost: true } : {}) } : { insecureCleartext: true as const };
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

/** The backend a configuration names, connected; what it created is pushed on `cleanups`. */
async function openBackend(config: SessionStoreConfig, namespace: string, cleanups: Cleanups): Promise<RecordStore> {
  const timeoutMs = config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const common = config.now === undefined ? {} : { now: config.now };
  switch (config.adapter) {
    case 'memory':
      return new MemoryStore(common);
    case 'redis': {
      // The option is typed by shape (types.ts: RedisClientLike); what it holds is the caller's ioredis
      // or node-redis client (RedisStore tells them apart, and refuses anything else).
      const client = (config.redisClient as RedisClient | undefined) ?? (await connectRedis(config.url, timeoutMs, cleanups));
      return new RedisStore({ client, prefix: config.prefix ?? defaultRedisPrefix(namespace), commandTimeoutMs: Math.max(timeoutMs, 1000), ...common });
    }
    case 'postgres': {
      const pool = (config.pgPool as PgPool | undefined) ?? (await connectPostgres(config.url, timeoutMs, cleanups));
      const store = new PostgresStore({ pool, timeoutMs: Math.max(timeoutMs, 1000), ...(config.table === undefined ? {} : { table: config.table }), ...common });
      cleanups.unshift(() => store.close());
      if (config.migrate === true) await store.migrate();
      return store;
    }
    case 'pglite': {
      const store = await PgliteStore.open({
        dataDir: config.dataDir,
        migrate: config.migrate ?? true,
        ...(config.table === undefined ? {} : { table: config.table }),
        ...common,
      });
      cleanups.unshift(() => store.close());
      return store;
    }
  }
}

/**
 * Builds the backend and `secureStore()` over it. Connects (with a short timeout) before
 * resolving, so a wrong URL or an unreachable server fails here, with `backend_unavailable`.
 */
export async function createSessionStore(config: SessionStoreConfig = loadConfigFromEnv()): Promise<CreatedSessionStore> {
  validateConfig(config);
  const keyring = await loadKeyring(config);
  const namespace = config.namespace ?? 'default';
  const cleanups: Cleanups = [];
  const runCleanups = async () => {
    for (const c of cleanups) await c().catch(() => {});
  };
  let backend: RecordStore;
  try {
    backend = await openBackend(config, namespace, cleanups);
  } catch (err) {
    await runCleanups();
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
      ...(config.now === undefined ? {} : { now: config.now }),
      ...(config.hideExistence === undefined ? {} : { hideExistence: config.hideExistence }),
      ...(config.onEvent === undefined ? {} : { onEvent: config.onEvent }),
    });
    await store.start();
  } catch (err) {
    await backend.close().catch(() => {});
    await runCleanups();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      try {
        await store.close();
      } finally {
        await runCleanups();
      }
    })();
    return closing;
  };
  return { store, backend, keyring, config: withHiddenSecrets(config), close };
}

/**
 * The configuration as handed back: the keyset's passphrase and text stay readable
 * (`config.keyset.passphrase`) but are non-enumerable getters, so logging, JSON.stringify or
 * structuredClone of the result never prints them (threat: key material and passphrases in logs).
 */
function withHiddenSecrets(config: SessionStoreConfig): Readonly<SessionStoreConfig> {
  if (config.keyset === undefined) return Object.freeze({ ...config });
  const keyset = { ...config.keyset };
  for (const name of ['passphrase', 'json'] as const) {
    const value = keyset[name];
    if (value === undefined) continue;
    delete keyset[name];
    Object.defineProperty(keyset, name, { get: () => value, enumerable: false });
  }
  return Object.freeze({ ...config, keyset: Object.freeze(keyset) });
}
