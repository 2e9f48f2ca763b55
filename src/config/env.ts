/**
 * A configuration from `SSS_*` environment variables, so an application and the `sealed-session`
 * CLI read the same settings the same way. The variables and their meaning are listed once, in
 * docs/configuration.md. Every malformed value is a `ConfigError` naming the variable.
 */
import { parseIntOption } from '../util/options.js';
import {
  ADAPTERS,
  type AdapterName,
  type CommonConfig,
  ConfigError,
  DURATION_BOUNDS,
  type DurationOption,
  type KeysetConfig,
  type SessionStoreConfig,
  checkField,
} from './types.js';
import { kmsFromEnv } from './keyset-kms.js';
import { adapterForUrl } from './validate.js';

type Env = Record<string, string | undefined>;

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/**
 * The one reading of an on/off variable: `1|true|yes|on` or `0|false|no|off` (any case), undefined
 * when unset or blank, a `ConfigError` naming `name` for anything else. The CLI reads its
 * environment through `loadConfigFromEnv` too, so a flag means the same to the application and to
 * the tool.
 */
function envFlag(env: Env, name: string): boolean | undefined {
  const v = env[name]?.trim();
  if (v === undefined || v === '') return undefined;
  if (TRUE.test(v)) return true;
  if (FALSE.test(v)) return false;
  throw new ConfigError(name, `must be 1 or 0, got "${v}"`);
}

/** Reads a configuration from `SSS_*` variables (see docs/configuration.md). */
export function loadConfigFromEnv(env: Env = process.env): SessionStoreConfig {
  if (env === null || typeof env !== 'object') throw new ConfigError('env', 'must be an object of environment variables');
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

  // Options of one adapter only: set for another, they are a mistake worth hearing about.
  const only = (name: string, adapters: readonly AdapterName[]): string | undefined => {
    const v = get(name);
    if (v !== undefined && !adapters.includes(adapter)) throw new ConfigError(name, `is only used by the ${adapters.join(' and ')} adapter${adapters.length > 1 ? 's' : ''}, not ${adapter}`);
    return v;
  };
  const prefix = only('SSS_PREFIX', ['redis']);
  const table = only('SSS_TABLE', ['postgres', 'pglite']);
  const migrate = only('SSS_MIGRATE', ['postgres', 'pglite']) === undefined ? undefined : envFlag(env, 'SSS_MIGRATE');

  const common = commonFromEnv(env, get);
  switch (adapter) {
    case 'memory':
      return { adapter, ...common };
    case 'redis':
    case 'postgres': {
      const fallback = adapter === 'redis' ? 'REDIS_URL' : 'DATABASE_URL';
      const u = url ?? get(fallback);
      if (u === undefined) throw new ConfigError('SSS_URL', `the ${adapter} adapter needs SSS_URL or ${fallback}`);
      if (adapter === 'redis') return { adapter, url: u, ...(prefix === undefined ? {} : { prefix }), ...common };
      return { adapter, url: u, ...(table === undefined ? {} : { table }), ...(migrate === undefined ? {} : { migrate }), ...common };
    }
    case 'pglite':
      if (pgliteDir === undefined) throw new ConfigError('SSS_PGLITE_DIR', 'the pglite adapter needs a data directory');
      return { adapter, dataDir: pgliteDir, ...(table === undefined ? {} : { table }), ...(migrate === undefined ? {} : { migrate }), ...common };
  }
}

function commonFromEnv(env: Env, get: (name: string) => string | undefined): CommonConfig {
  const config: CommonConfig = {};
  const namespace = get('SSS_NAMESPACE');
  if (namespace !== undefined) config.namespace = namespace;
  const ms = (name: string, key: DurationOption): void => {
    const v = get(name);
    if (v === undefined) return;
    const [min, max] = DURATION_BOUNDS[key];
    config[key] = checkField(name, () => parseIntOption(v, min, max, name));
  };
  ms('SSS_TTL_MS', 'ttlMs');
  ms('SSS_ABSOLUTE_TTL_MS', 'absoluteTtlMs');
  ms('SSS_CONNECT_TIMEOUT_MS', 'connectTimeoutMs');

  const path = get('SSS_KEYSET');
  const json = get('SSS_KEYSET_JSON');
  if (path !== undefined && json !== undefined) throw new ConfigError('SSS_KEYSET', 'set SSS_KEYSET (a file) or SSS_KEYSET_JSON (the text), not both');
  if (path !== undefined || json !== undefined) {
    const keyset: KeysetConfig = path !== undefined ? { path } : { json: json! };
    // Not trimmed: leading or trailing spaces may be part of a passphrase.
    const passphrase = env.SSS_KEYSET_PASSPHRASE;
    if (passphrase !== undefined && passphrase !== '') keyset.passphrase = passphrase;
    if (envFlag(env, 'SSS_KEYSET_INSECURE_CLEARTEXT') === true) keyset.insecureCleartext = true;
    if (envFlag(env, 'SSS_KEYSET_UNSAFE_LOW_COST') === true) keyset.unsafeLowCost = true;
    const kms = kmsFromEnv(get);
    if (kms !== undefined) keyset.kms = kms;
    config.keyset = keyset;
  }
  return config;
}
