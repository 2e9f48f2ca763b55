/**
 * `createSessionStore`: the keyring, the backend and `secureStore()` over it, from one validated
 * configuration, plus a `close()` that ends only what this factory created.
 */
import { existsSync } from 'node:fs';
import { KeyStateError } from '../contract/errors.js';
import type { RecordStore } from '../contract/store.js';
import { hasKeysetSlot } from '../contract/keyset-slot.js';
import { MemoryStore } from '../backends/memory.js';
import { PgliteStore } from '../backends/pglite.js';
import { type PgPool, PostgresStore } from '../backends/postgres.js';
import { type RedisClient, RedisStore } from '../backends/redis/index.js';
import { type FollowOptions, Keyring } from '../keys/keyring.js';
import { SecureStore, type SecureStoreOptions } from '../secure-store.js';
import { keysetIdOf, locationOf, notePgPool, noteRedisClient, registerNamespace, registryOf } from '../admin/namespaces.js';
import { type Cleanups, connectPostgres, connectRedis } from './connect.js';
import { loadConfigFromEnv } from './env.js';
import { keysetProtection } from './keyset-kms.js';
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

/**
 * Loads the keyring a configuration names (file, text, the given instance, or, with `store: true`,
 * the keyset kept in `backend`, which is then required).
 */
export async function loadKeyring(config: SessionStoreConfig, backend?: RecordStore): Promise<Keyring> {
  if (config === null || typeof config !== 'object') throw new ConfigError('config', 'must be an object');
  const k = config.keyset;
  const options = {
    ...(config.absoluteTtlMs === undefined ? {} : { maxSessionLifetimeMs: config.absoluteTtlMs }),
    ...(config.now === undefined ? {} : { now: config.now }),
  };
  if (k === undefined) return Keyring.generate(options);
  if (k.keyring !== undefined) return k.keyring;
  const protection = keysetProtection(k);
  // A wrapped keyset opened without its passphrase must still say so clearly: let the decoder
  // speak (it names the provider) rather than guessing here.
  const both = protection.provider !== undefined && k.insecureCleartext === true ? { ...protection, insecureCleartext: true as const } : protection;
  if (k.store === true) {
    if (!hasKeysetSlot(backend)) throw new ConfigError('keyset.store', 'a keyset kept in the store is opened with its backend: use createSessionStore');
    return Keyring.fromStore(backend, { ...options, ...both, ...(k.createIfMissing === true ? { createIfMissing: true } : {}), follow: followOptions(config, DEFAULT_KEYSET_WATCH_MS) });
  }
  if (k.path !== undefined) {
    if (k.createIfMissing !== true && !existsSync(k.path)) {
      throw new KeyStateError(`keyset file ${k.path} does not exist; create one with \`sealed-session keys generate --keyset ${k.path}\``);
    }
    return Keyring.fromFile(k.path, { ...options, ...both, ...(k.createIfMissing === true ? { createIfMissing: true } : {}), follow: followOptions(config) });
  }
  return Keyring.fromEnv('keyset', { ...options, ...both, env: { keyset: k.json } });
}

/**
 * `keyset.follow` as keyring options: failed reloads (a torn file, a keyset that vanished from the
 * store, a store that is down) keep the keys in use and go to `onEvent` as `keyset_reload`, and to
 * its `onError` or else a process warning: an operator's alarm, never a silent log line.
 */
function followOptions(config: SessionStoreConfig, defaultIntervalMs?: number): false | FollowOptions {
  const follow = config.keyset?.follow;
  if (follow === false) return false;
  const f = typeof follow === 'object' ? follow : {};
  const intervalMs = f.intervalMs ?? defaultIntervalMs;
  const warn = f.onError ?? ((err: unknown) => process.emitWarning(`sealed-session-store: ${err instanceof Error ? err.message : String(err)}`, 'SealedSessionKeysetWarning'));
  return {
    ...(intervalMs === undefined ? {} : { intervalMs }),
    onError: (err) => {
      try {
        config.onEvent?.({ type: 'keyset_reload', operation: 'reload_failed' });
      } finally {
        warn(err);
      }
    },
  };
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
      const store = new RedisStore({ client, prefix: config.prefix ?? defaultRedisPrefix(namespace), commandTimeoutMs: Math.max(timeoutMs, 1000), ...common });
      noteRedisClient(store, client); // the namespace registry and the CLI's walk share this connection
      return store;
    }
    case 'postgres': {
      const pool = (config.pgPool as PgPool | undefined) ?? (await connectPostgres(config.url, timeoutMs, cleanups));
      const store = new PostgresStore({ pool, timeoutMs: Math.max(timeoutMs, 1000), ...(config.table === undefined ? {} : { table: config.table }), ...common });
      cleanups.unshift(() => store.close());
      notePgPool(store, pool); // other recorded tables are walked on this pool (src/admin/namespaces.ts)
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
export function createSessionStore(config: SessionStoreConfig = loadConfigFromEnv()): Promise<CreatedSessionStore> {
  return openSessionStore(config, { register: true });
}

/**
 * `createSessionStore`, with the choice of recording the namespace in the namespace registry
 * (src/admin/namespaces.ts). Internal: the CLI opens stores without recording them, so an
 * operator's mistyped namespace never becomes one the registry lists.
 */
export async function openSessionStore(config: SessionStoreConfig, options: { register: boolean }): Promise<CreatedSessionStore> {
  validateConfig(config);
  const inStore = config.keyset?.store === true;
  const keyring = inStore ? undefined : await loadKeyring(config);
  const namespace = config.namespace ?? 'default';
  // A keyring this factory loaded follows its file: stop its polling on close (never an injected one's).
  const cleanups: Cleanups = config.keyset?.keyring === undefined && keyring !== undefined ? [async () => keyring.close()] : [];
  const runCleanups = async () => {
    for (const c of cleanups) await c().catch(() => {});
  };
  let backend: RecordStore;
  let ring: Keyring;
  try {
    backend = await openBackend(config, namespace, cleanups);
    ring = keyring ?? (await openStoreKeyset(config, backend, cleanups));
  } catch (err) {
    await runCleanups();
    throw err;
  }
  const ttl: NonNullable<SecureStoreOptions['ttl']> = {};
  if (config.ttlMs !== undefined) ttl.idleMs = config.ttlMs;
  if (config.absoluteTtlMs !== undefined) ttl.absoluteMs = config.absoluteTtlMs;
  if (config.sliding !== undefined) ttl.sliding = config.sliding;
  if (config.sweepIntervalMs !== undefined) ttl.sweepIntervalMs = config.sweepIntervalMs;
  if (config.onError !== undefined) ttl.onSweepError = config.onError;
  const encryption: NonNullable<SecureStoreOptions['encryption']> = {};
  if (config.unsafeAcceptPlaintext === true) encryption.unsafeAcceptPlaintext = true;
  if (config.lazyReencrypt !== undefined) encryption.lazyReencrypt = config.lazyReencrypt;
  let store: SecureStore;
  try {
    store = new SecureStore(backend, {
      keyring: ring,
      namespace,
      ttl,
      encryption,
      ...(config.now === undefined ? {} : { now: config.now }),
      ...(config.hideExistence === undefined ? {} : { hideExistence: config.hideExistence }),
      ...(config.onEvent === undefined ? {} : { onEvent: config.onEvent }),
    });
    await store.start();
    if (options.register) await recordNamespace(backend, ring, namespace, config.now ?? Date.now);
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
  return { store, backend, keyring: ring, config: withHiddenSecrets(config), close };
}

/**
 * The keyring kept in the store (`keyset.store`), followed like a keyset file (`keyset.follow`,
 * default every `DEFAULT_KEYSET_WATCH_MS`) until close; a Redis eviction policy that could evict
 * the keyset is reported as a process warning.
 */
async function openStoreKeyset(config: SessionStoreConfig, backend: RecordStore, cleanups: Cleanups): Promise<Keyring> {
  const ring = await loadKeyring(config, backend);
  cleanups.unshift(async () => ring.close());
  if (hasKeysetSlot(backend) && backend.keysetWarnings !== undefined) {
    for (const warning of await backend.keysetWarnings()) process.emitWarning(`sealed-session-store: ${warning}`, 'SealedSessionKeysetWarning');
  }
  return ring;
}

/** How often a process polls a keyset kept in the store, by default: a rotation reaches it within this plus one read. */
export const DEFAULT_KEYSET_WATCH_MS = 2000;

/**
 * Records where this store's sessions live, so `sealed-session keys retire` / `destroy` / `rekey`
 * find them whatever namespace the operator names. Best effort: a backend whose permissions refuse
 * the registry record (a Redis ACL limited to the app's prefix) still opens; the CLI then refuses
 * when its walk opens nothing, rather than trusting an empty count.
 */
async function recordNamespace(backend: RecordStore, keyring: Keyring, namespace: string, now: () => number): Promise<void> {
  const registry = registryOf(backend, now);
  const location = locationOf(backend);
  if (registry === undefined || location === undefined) return;
  await registerNamespace(registry, { keyset: keysetIdOf(keyring), kind: 'sessions', namespace, ...location }, now()).catch(() => {});
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
