/**
 * THE table of configuration names: every key a configuration object may hold and every `SSS_*`
 * environment variable the library reads. Validation refuses a key that is not here (naming the
 * closest one that is), and `loadConfigFromEnv` warns about an `SSS_*` variable that is not here
 * (an error under `SSS_STRICT=1`), so a typo can never silently fall back to a default.
 *
 * To add an option: add its key to `CONFIG_KEYS` (or `KEYSET_KEYS`), its variable to `ENV_VARIABLES`
 * (mapped to the key it sets), and a row to docs/configuration.md (a test checks the two list the same names).
 */

/** Keys of the configuration object (every adapter's, see types.ts). */
export const CONFIG_KEYS = [
  'adapter',
  'namespace',
  'ttlMs',
  'absoluteTtlMs',
  'sliding',
  'sweepIntervalMs',
  'keyset',
  'connectTimeoutMs',
  'unsafeAcceptPlaintext',
  'lazyReencrypt',
  'hideExistence',
  'now',
  'onEvent',
  'onError',
  // adapter-specific (validate.ts says which adapter uses each)
  'url',
  'prefix',
  'redisClient',
  'table',
  'migrate',
  'pgPool',
  'dataDir',
] as const;

/** Keys of `config.keyset`. */
export const KEYSET_KEYS = [
  'keyring',
  'path',
  'json',
  'passphrase',
  'insecureCleartext',
  'unsafeLowCost',
  'createIfMissing',
  'follow',
  'store',
  'kms',
] as const;

/**
 * Every `SSS_*` variable, mapped to the configuration key it sets (`keyset.x` for a keyset key), or
 * to `(cli)` / `(config)` for a variable that sets no key of its own.
 */
export const ENV_VARIABLES: Readonly<Record<string, string>> = {
  SSS_ADAPTER: 'adapter',
  SSS_URL: 'url',
  SSS_PGLITE_DIR: 'dataDir',
  SSS_PREFIX: 'prefix',
  SSS_TABLE: 'table',
  SSS_MIGRATE: 'migrate',
  SSS_NAMESPACE: 'namespace',
  SSS_TTL_MS: 'ttlMs',
  SSS_ABSOLUTE_TTL_MS: 'absoluteTtlMs',
  SSS_SLIDING: 'sliding',
  SSS_SWEEP_INTERVAL_MS: 'sweepIntervalMs',
  SSS_CONNECT_TIMEOUT_MS: 'connectTimeoutMs',
  SSS_KEYSET: 'keyset.path',
  SSS_KEYSET_JSON: 'keyset.json',
  SSS_KEYSET_PASSPHRASE: 'keyset.passphrase',
  SSS_KEYSET_INSECURE_CLEARTEXT: 'keyset.insecureCleartext',
  SSS_KEYSET_UNSAFE_LOW_COST: 'keyset.unsafeLowCost',
  SSS_KEYSET_FOLLOW: 'keyset.follow',
  SSS_KEYSET_FOLLOW_INTERVAL_MS: 'keyset.follow',
  SSS_KEYSET_STORE: 'keyset.store',
  SSS_KEYSET_KMS_KEY_ID: 'keyset.kms',
  SSS_KEYSET_KMS_REGION: 'keyset.kms',
  SSS_KEYSET_KMS_ENDPOINT: 'keyset.kms',
  SSS_KEYSET_KMS_DECRYPT_KEY_IDS: 'keyset.kms',
  SSS_STRICT: '(config)',
  SSS_DEBUG: '(cli)',
};

/** Variables with this prefix belong to the project's own tests and benchmarks: config ignores them. */
export const TEST_VARIABLE_PREFIX = 'SSS_TEST_';

/** Edit distance (insert, delete, substitute; case-insensitive), for "did you mean". */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `name` (ties: the first listed). A candidate that `name` begins (a
 * truncated name: `SSS_TTL` for `SSS_TTL_MS`) counts as one edit away.
 */
export function closestName(name: string, candidates: readonly string[]): string {
  let best = candidates[0]!;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase().startsWith(name.toLowerCase()) ? 1 : distance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
