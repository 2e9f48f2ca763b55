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
import { ENV_VARIABLES, TEST_VARIABLE_PREFIX, closestName } from './known.js';
import { kmsFromEnv } from './keyset-kms.js';
import { adapterForUrl } from './validate.js';

type Env = Record<string, string | undefined>;

export interface LoadConfigOptions {
  /**
   * Receives a `ConfigError` for each unknown `SSS_*` variable (a warning: the configuration still
   * loads), and is copied into the configuration as its `onError`. Default: `process.emitWarning`.
   */
  onError?: (err: unknown) => void;
}

/** The fallback warning channel: Node's (also Deno's and Bun's), else the console. */
function emitWarning(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: { type: string; code: string }) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { type: 'SealedSessionStoreWarning', code: 'SSS_UNKNOWN_VARIABLE' });
  else console.warn(`sealed-session-store: ${message}`);
}

/**
 * An `SSS_*` variable that is not in the table (known.ts) is most likely a typo (`SSS_TTL` for
 * `SSS_TTL_MS`) that would otherwise run silently with the default: one warning each, an error
 * under `SSS_STRICT=1`. `SSS_TEST_*` belongs to the project's own tests and is ignored.
 */
function checkUnknownVariables(env: Env, strict: boolean, warn: (err: unknown) => void): void {
  const known = Object.keys(ENV_VARIABLES);
  for (const name of Object.keys(env)) {
    if (!name.startsWith('SSS_') || name.startsWith(TEST_VARIABLE_PREFIX) || known.includes(name) || env[name] === undefined) continue;
    const err = new ConfigError(name, `is not a sealed-session-store variable (did you mean ${closestName(name, known)}?); the variables are listed in docs/configuration.md`);
    if (strict) throw err;
    warn(err);
  }
}

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

/**
 * The adapter: `SSS_ADAPTER`, else `SSS_URL`'s scheme, else `SSS_PGLITE_DIR`, else a lone
 * `REDIS_URL` or `DATABASE_URL`, else memory. Both of those set and nothing else is refused: a
 * guess could put sessions in the wrong store (or in memory, lost at the next restart).
 */
function chooseAdapter(get: (name: string) => string | undefined): AdapterName {
  const named = get('SSS_ADAPTER');
  if (named !== undefined) {
    if (!ADAPTERS.includes(named as AdapterName)) throw new ConfigError('SSS_ADAPTER', `must be one of ${ADAPTERS.join(', ')}, got "${named}"`);
    return named as AdapterName;
  }
  const url = get('SSS_URL');
  if (url !== undefined) return adapterForUrl(url, 'SSS_URL');
  if (get('SSS_PGLITE_DIR') !== undefined) return 'pglite';
  const redis = get('REDIS_URL') !== undefined;
  const postgres = get('DATABASE_URL') !== undefined;
  if (redis && postgres) throw new ConfigError('SSS_ADAPTER', 'both REDIS_URL and DATABASE_URL are set: set SSS_ADAPTER=redis or SSS_ADAPTER=postgres to say which one holds the sessions');
  if (redis) return 'redis';
  if (postgres) return 'postgres';
  return 'memory';
}

/**
 * Reads a configuration from `SSS_*` variables (see docs/configuration.md). An unknown `SSS_*`
 * variable is reported through `options.onError` (an error under `SSS_STRICT=1`).
 */
export function loadConfigFromEnv(env: Env = process.env, options: LoadConfigOptions = {}): SessionStoreConfig {
  if (env === null || typeof env !== 'object') throw new ConfigError('env', 'must be an object of environment variables');
  if (options === null || typeof options !== 'object') throw new ConfigError('options', 'must be an object');
  if (options.onError !== undefined && typeof options.onError !== 'function') throw new ConfigError('onError', 'must be a function');
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  checkUnknownVariables(env, envFlag(env, 'SSS_STRICT') === true, options.onError ?? emitWarning);
  const url = get('SSS_URL');
  const pgliteDir = get('SSS_PGLITE_DIR');
  const adapter = chooseAdapter(get);

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
  if (options.onError !== undefined) common.onError = options.onError;
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
  ms('SSS_SWEEP_INTERVAL_MS', 'sweepIntervalMs');
  const sliding = envFlag(env, 'SSS_SLIDING');
  if (sliding !== undefined) config.sliding = sliding;

  const path = get('SSS_KEYSET');
  const json = get('SSS_KEYSET_JSON');
  const inStore = envFlag(env, 'SSS_KEYSET_STORE') === true;
  if ([path, json, inStore || undefined].filter((x) => x !== undefined).length > 1) {
    throw new ConfigError('SSS_KEYSET', 'set one of SSS_KEYSET (a file), SSS_KEYSET_JSON (the text), SSS_KEYSET_STORE=1 (kept in the store)');
  }
  if (path !== undefined || json !== undefined || inStore) {
    const keyset: KeysetConfig = inStore ? { store: true } : path !== undefined ? { path } : { json: json! };
    // Not trimmed: leading or trailing spaces may be part of a passphrase.
    const passphrase = env.SSS_KEYSET_PASSPHRASE;
    if (passphrase !== undefined && passphrase !== '') keyset.passphrase = passphrase;
    if (envFlag(env, 'SSS_KEYSET_INSECURE_CLEARTEXT') === true) keyset.insecureCleartext = true;
    if (envFlag(env, 'SSS_KEYSET_UNSAFE_LOW_COST') === true) keyset.unsafeLowCost = true;
    const follow = envFlag(env, 'SSS_KEYSET_FOLLOW');
    const followMs = get('SSS_KEYSET_FOLLOW_INTERVAL_MS');
    if (follow === false) keyset.follow = false;
    else if (followMs !== undefined) keyset.follow = { intervalMs: checkField('SSS_KEYSET_FOLLOW_INTERVAL_MS', () => parseIntOption(followMs, 1, 3_600_000, 'SSS_KEYSET_FOLLOW_INTERVAL_MS')) };
    const kms = kmsFromEnv(get);
    if (kms !== undefined) keyset.kms = kms;
    config.keyset = keyset;
  }
  return config;
}
