/**
 * Checks a configuration without connecting anywhere. The union type already refuses most mistakes
 * at compile time; these checks give JavaScript callers (and values read at run time) the same
 * refusals, each a `ConfigError` (code `invalid_input`) naming the field.
 */
import { intOption } from '../util/options.js';
import { Keyring } from '../keys/keyring.js';
import { CONFIG_KEYS, KEYSET_KEYS, closestName } from './known.js';
import { checkKms } from './keyset-kms.js';
import { redactUrl } from './redact.js';
import { ADAPTERS, type AdapterName, ConfigError, DURATION_BOUNDS, type DurationOption, type SessionStoreConfig, checkField } from './types.js';

export { redactUrl } from './redact.js';

const NAMESPACE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Options that belong to some adapters only, and which ones. */
const ADAPTER_ONLY: Record<string, readonly AdapterName[]> = {
  url: ['redis', 'postgres'],
  dataDir: ['pglite'],
  prefix: ['redis'],
  redisClient: ['redis'],
  table: ['postgres', 'pglite'],
  migrate: ['postgres', 'pglite'],
  pgPool: ['postgres'],
};

/** The adapter a server URL's scheme names; `ConfigError` on `field` for any other scheme. */
export function adapterForUrl(url: string, field: string): AdapterName {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return 'redis';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  throw new ConfigError(field, `cannot tell the adapter from URL scheme "${scheme ?? ''}" (expected redis://, rediss://, postgres:// or postgresql://)`);
}

function checkUrl(url: unknown, adapter: 'redis' | 'postgres'): void {
  if (typeof url !== 'string' || url === '') throw new ConfigError('url', `the ${adapter} adapter needs a URL`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError('url', `is not a valid URL (${adapter === 'redis' ? 'redis://host:6379' : 'postgres://user@host:5432/db'} expected)`);
  }
  if (adapterForUrl(url, 'url') !== adapter) throw new ConfigError('url', `${redactUrl(url)} is not a ${adapter} URL`);
  if (u.hostname === '') throw new ConfigError('url', `${redactUrl(url)} has no host`);
}

/**
 * An option name that is not in the table (known.ts) is a mistake, never ignored: a misspelt
 * `sweepIntervalMS` or `keyset.pasphrase` would otherwise silently run with the default.
 */
function refuseUnknownKeys(object: Record<string, unknown>, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) throw new ConfigError(`${prefix}${key}`, `is not a configuration option; did you mean ${prefix}${closestName(key, known)}?`);
  }
}

/** Checks a configuration without connecting anywhere; throws `ConfigError`. */
export function validateConfig(config: unknown): asserts config is SessionStoreConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('config', 'must be an object');
  const c = config as Record<string, unknown>;
  refuseUnknownKeys(c, CONFIG_KEYS, '');
  const adapter = c.adapter as AdapterName;
  if (!ADAPTERS.includes(adapter)) throw new ConfigError('adapter', `must be one of ${ADAPTERS.join(', ')}, got ${JSON.stringify(c.adapter)}`);
  if (adapter === 'redis' || adapter === 'postgres') checkUrl(c.url, adapter);
  if (adapter === 'pglite' && (typeof c.dataDir !== 'string' || c.dataDir === '')) throw new ConfigError('dataDir', 'the pglite adapter needs a data directory');
  for (const [field, adapters] of Object.entries(ADAPTER_ONLY)) {
    if (c[field] !== undefined && !adapters.includes(adapter)) {
      throw new ConfigError(field, `is only used by the ${adapters.join(' and ')} adapter${adapters.length > 1 ? 's' : ''}, not ${adapter}`);
    }
  }
  if (c.namespace !== undefined && (typeof c.namespace !== 'string' || !NAMESPACE.test(c.namespace))) {
    throw new ConfigError('namespace', `must match ${NAMESPACE}`);
  }
  for (const field of Object.keys(DURATION_BOUNDS) as DurationOption[]) {
    const [min, max] = DURATION_BOUNDS[field];
    checkField(field, () => intOption(c[field], min, min, max, field));
  }
  for (const field of ['now', 'onEvent', 'onError'] as const) {
    if (c[field] !== undefined && typeof c[field] !== 'function') throw new ConfigError(field, 'must be a function');
  }
  checkKeyset(c.keyset, adapter);
}

function checkKeyset(keyset: unknown, adapter: AdapterName): void {
  if (keyset === undefined) {
    if (adapter !== 'memory') {
      throw new ConfigError('keyset', `the ${adapter} adapter keeps sessions beyond this process, so it needs a persistent keyset (path, json or keyring); create one with \`sealed-session keys generate\``);
    }
    return;
  }
  if (keyset === null || typeof keyset !== 'object') throw new ConfigError('keyset', 'must be an object');
  const k = keyset as Record<string, unknown>;
  refuseUnknownKeys(k, KEYSET_KEYS, 'keyset.');
  const sources = [k.keyring, k.path, k.json, k.store === false ? undefined : k.store].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new ConfigError('keyset', 'needs exactly one of keyring, path, json, store');
  if (k.store !== undefined && typeof k.store !== 'boolean') throw new ConfigError('keyset.store', 'must be true or false');
  // Memory lives and dies with the process: a keyset kept there would be lost with it.
  if (k.store === true && adapter === 'memory') throw new ConfigError('keyset.store', 'the memory adapter cannot keep a keyset for other processes; use redis, postgres or pglite');
  if (k.keyring !== undefined && !(k.keyring instanceof Keyring)) throw new ConfigError('keyset.keyring', 'must be a Keyring');
  if (k.path !== undefined && (typeof k.path !== 'string' || k.path === '')) throw new ConfigError('keyset.path', 'must be a file path');
  if (k.json !== undefined && (typeof k.json !== 'string' || k.json === '')) throw new ConfigError('keyset.json', 'must be the keyset text');
  if (k.passphrase !== undefined && (typeof k.passphrase !== 'string' || k.passphrase.length < 8)) {
    throw new ConfigError('keyset.passphrase', 'must be a string of at least 8 characters');
  }
  checkKms(k.kms);
  if (k.keyring === undefined && k.passphrase === undefined && k.kms === undefined && k.insecureCleartext !== true) {
    throw new ConfigError('keyset.passphrase', 'a keyset at rest needs its passphrase (SSS_KEYSET_PASSPHRASE) or its KMS key (SSS_KEYSET_KMS_KEY_ID), or insecureCleartext: true for a cleartext development keyset');
  }
  if (k.unsafeLowCost !== undefined && typeof k.unsafeLowCost !== 'boolean') throw new ConfigError('keyset.unsafeLowCost', 'must be true or false');
  if (k.createIfMissing === true && k.path === undefined && k.store !== true) throw new ConfigError('keyset.createIfMissing', 'only applies to a keyset file (path) or a keyset kept in the store');
  checkFollow(k.follow, k.path !== undefined || k.store === true);
}

function checkFollow(follow: unknown, followable: boolean): void {
  if (follow === undefined || follow === false) return;
  if (!followable) throw new ConfigError('keyset.follow', 'only applies to a keyset file (path) or a keyset kept in the store (store: true)');
  if (follow === true) return;
  if (follow === null || typeof follow !== 'object') throw new ConfigError('keyset.follow', 'must be true, false or { intervalMs, onError }');
  const f = follow as Record<string, unknown>;
  checkField('keyset.follow.intervalMs', () => intOption(f.intervalMs, 1000, 1, 3_600_000, 'keyset.follow.intervalMs'));
  if (f.onError !== undefined && typeof f.onError !== 'function') throw new ConfigError('keyset.follow.onError', 'must be a function');
}
