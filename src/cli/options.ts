/**
 * The options shared by commands, and how they become the library's configuration: the SSS_*
 * environment first (exactly what `loadConfigFromEnv` gives the application), then the command
 * line on top. So by default the CLI opens the same backend, namespace and keyset as the app, and
 * reads every variable by the library's own rules.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CreatedSessionStore, loadConfigFromEnv, loadKeyring, validateConfig } from '../config/index.js';
import { openSessionStore } from '../config/create.js';
import { type CommonConfig, type ConfigDraft, DURATION_BOUNDS } from '../config/types.js';
import { isSessionStoreError } from '../internal.js';
import type { Keyring } from '../internal.js';
import { parseIntOption } from '../internal.js';
import { CliError, type CliIo, UsageError } from './io.js';

export interface KeysetOptions {
  keyset?: string;
  keysetInStore?: boolean;
  passphraseEnv?: string;
  insecureCleartext?: boolean;
  unsafeLowCost?: boolean;
  json?: boolean;
}

export interface StoreOptions extends KeysetOptions {
  redis?: string;
  postgres?: string;
  pglite?: string;
  namespace?: string;
  prefix?: string;
  table?: string;
  connectTimeout?: string;
}

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON document on stdout (for scripts)');
}

export function addKeysetOptions(cmd: Command): Command {
  return addJsonOption(
    cmd
      .option('--keyset <path>', 'keyset file (default: $SSS_KEYSET)')
      .option('--keyset-in-store', 'the keyset kept in the store itself, wrapped ($SSS_KEYSET_STORE=1); the store is $SSS_ADAPTER / $SSS_URL (or --redis / --postgres / --pglite where offered)')
      .option('--passphrase-env <VAR>', 'name of the environment variable holding the keyset passphrase (default: SSS_KEYSET_PASSPHRASE)')
      .option('--insecure-cleartext', 'accept a CLEARTEXT keyset file (development only; $SSS_KEYSET_INSECURE_CLEARTEXT=1)')
      .option('--unsafe-low-cost', 'open a keyset wrapped below the minimum scrypt cost, to re-wrap it with `keys rewrap` ($SSS_KEYSET_UNSAFE_LOW_COST=1)'),
  );
}

export function addStoreOptions(cmd: Command): Command {
  return addKeysetOptions(
    cmd
      .option('--redis <url>', 'use the Redis server at <url> (default: from $SSS_ADAPTER / $SSS_URL)')
      .option('--postgres <url>', 'use the PostgreSQL server at <url>')
      .option('--pglite <dir>', 'use the PGlite data directory <dir> (refused while another process holds it)')
      .option('--namespace <ns>', 'envelope namespace the application uses (default: $SSS_NAMESPACE or "default")')
      .option('--prefix <prefix>', 'Redis key prefix (default: $SSS_PREFIX or "sss:<namespace>:")')
      .option('--table <table>', 'PostgreSQL / PGlite table (default: $SSS_TABLE or "sealed_sessions")')
      .option('--connect-timeout <ms>', 'give up connecting after <ms> milliseconds (default 3000)'),
  );
}

/**
 * A whole-number option (`util/options` rules, like every integer option of the library), or
 * undefined when absent. A bad value is a usage error naming the option.
 */
export function intArg(value: string | undefined, min: number, max: number, name: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseIntOption(value, min, max, name);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const ADAPTER_ENV = ['SSS_ADAPTER', 'SSS_URL', 'SSS_PGLITE_DIR'];

function nonEmpty(value: string, flag: string): string {
  if (value.trim() === '') throw new UsageError(`${flag} needs a value`);
  return value;
}

/**
 * The configuration: environment, then command-line overrides. The flags that choose the store or
 * the keyset replace the variables of the same meaning before config's own parser reads them, so a
 * value means the same whichever way it came (SSS_KEYSET_INSECURE_CLEARTEXT=yes is
 * --insecure-cleartext, as the application reads it). The result is a draft: `openStore`
 * validates it whole, key commands use its keyset only. Throws `UsageError` / `ConfigError`.
 */
export function resolveConfig(opts: StoreOptions, io: CliIo): ConfigDraft {
  const chosen = [opts.redis, opts.postgres, opts.pglite].filter((x) => x !== undefined).length;
  if (chosen > 1) throw new UsageError('choose one of --redis, --postgres, --pglite');
  const env = { ...io.env };
  if (chosen === 1) for (const k of ADAPTER_ENV) delete env[k];
  if (opts.redis !== undefined) Object.assign(env, { SSS_ADAPTER: 'redis', SSS_URL: nonEmpty(opts.redis, '--redis') });
  if (opts.postgres !== undefined) Object.assign(env, { SSS_ADAPTER: 'postgres', SSS_URL: nonEmpty(opts.postgres, '--postgres') });
  if (opts.pglite !== undefined) Object.assign(env, { SSS_ADAPTER: 'pglite', SSS_PGLITE_DIR: nonEmpty(opts.pglite, '--pglite') });
  // Keyset: --keyset (or --keyset-in-store) replaces whatever the environment named.
  if (opts.keyset !== undefined && opts.keysetInStore === true) throw new UsageError('choose --keyset PATH or --keyset-in-store, not both');
  if (opts.keyset !== undefined) {
    delete env.SSS_KEYSET_JSON;
    delete env.SSS_KEYSET_STORE;
    env.SSS_KEYSET = nonEmpty(opts.keyset, '--keyset');
  }
  if (opts.keysetInStore === true) {
    delete env.SSS_KEYSET;
    delete env.SSS_KEYSET_JSON;
    env.SSS_KEYSET_STORE = '1';
  }
  if (opts.insecureCleartext === true) env.SSS_KEYSET_INSECURE_CLEARTEXT = '1';
  if (opts.unsafeLowCost === true) env.SSS_KEYSET_UNSAFE_LOW_COST = '1';
  if (opts.passphraseEnv !== undefined) env.SSS_KEYSET_PASSPHRASE = passphraseFrom(opts, io);
  // A command runs once and makes the keyset changes itself: it has nothing to follow (no poll timer).
  env.SSS_KEYSET_FOLLOW = '0';

  // An unknown SSS_* variable (a typo) is one warning on stderr; an error under SSS_STRICT=1.
  const config: ConfigDraft = loadConfigFromEnv(env, { onError: (err) => io.stderr(`warning: ${(err as Error).message}\n`) });
  if (config.dataDir !== undefined) config.dataDir = resolve(io.cwd, config.dataDir);
  if (config.keyset?.path !== undefined) config.keyset.path = resolve(io.cwd, config.keyset.path);
  // Backend options go onto the draft, so a misplaced one is reported by its config name.
  if (opts.namespace !== undefined) config.namespace = opts.namespace;
  if (opts.prefix !== undefined) config.prefix = opts.prefix;
  if (opts.table !== undefined) config.table = opts.table;
  const [minMs, maxMs] = DURATION_BOUNDS.connectTimeoutMs;
  const timeout = intArg(opts.connectTimeout, minMs, maxMs, '--connect-timeout');
  if (timeout !== undefined) config.connectTimeoutMs = timeout;
  return config;
}

/** The passphrase named by --passphrase-env (or $SSS_KEYSET_PASSPHRASE), never taken from argv. */
export function passphraseFrom(opts: KeysetOptions, io: CliIo): string | undefined {
  if (opts.passphraseEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.passphraseEnv)) throw new UsageError('--passphrase-env takes the NAME of an environment variable, not the passphrase');
    const v = io.env[opts.passphraseEnv];
    if (v === undefined || v === '') throw new UsageError(`environment variable ${opts.passphraseEnv} (named by --passphrase-env) is not set`);
    return v;
  }
  const v = io.env.SSS_KEYSET_PASSPHRASE;
  return v === undefined || v === '' ? undefined : v;
}

export function requireKeyset(config: ConfigDraft): void {
  const k = config.keyset;
  if (k === undefined) throw new UsageError('no keyset: pass --keyset PATH or set SSS_KEYSET (create one with `sealed-session keys generate`), or --keyset-in-store');
  if (k.store === true) return;
  if (k.path === undefined || k.passphrase !== undefined || k.kms !== undefined || k.insecureCleartext === true) return;
  // Neither a passphrase nor the cleartext flag: say which one this file needs.
  let text: string;
  try {
    text = readFileSync(k.path, 'utf8');
  } catch {
    throw new CliError(`keyset file ${k.path} does not exist or cannot be read; create one with \`sealed-session keys generate --keyset ${k.path}\``, 1, 'key_state');
  }
  let doc: { format?: unknown; provider?: unknown; keys?: unknown } | undefined;
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new CliError(`keyset file ${k.path} is not JSON (damaged, or not a keyset)`, 1, 'key_state');
  }
  if (doc !== null && typeof doc === 'object' && Array.isArray(doc.keys)) {
    throw new UsageError(`keyset file ${k.path} is a CLEARTEXT keyset: pass --insecure-cleartext (or SSS_KEYSET_INSECURE_CLEARTEXT=1) to accept it, development only`);
  }
  if (doc !== null && typeof doc === 'object' && doc.provider === 'aws-kms') {
    throw new UsageError(`keyset file ${k.path} is wrapped by AWS KMS: set SSS_KEYSET_KMS_KEY_ID (and SSS_KEYSET_KMS_REGION) to the key that wraps it`);
  }
  if (doc !== null && typeof doc === 'object' && typeof doc.provider === 'string') {
    throw new UsageError(`keyset file ${k.path} is wrapped by "${doc.provider}": set SSS_KEYSET_PASSPHRASE, or name the variable holding the passphrase with --passphrase-env VAR`);
  }
  throw new CliError(`keyset file ${k.path} is neither a wrapped keyset nor a JWK Set`, 1, 'key_state');
}

/** Explains a keyset that does not open in words an operator can act on. */
export function keysetFailure(err: unknown, config: ConfigDraft): never {
  const where = config.keyset?.path !== undefined ? `keyset file ${config.keyset.path}` : config.keyset?.store === true ? 'the keyset kept in the store' : 'keyset from SSS_KEYSET_JSON';
  // A KMS refusal says which one it was (wrong context, other key, access denied): keep its words.
  if (isSessionStoreError(err, 'integrity') && config.keyset?.kms !== undefined) throw new CliError(`${where}: ${err.message}`, 1, 'integrity');
  if (isSessionStoreError(err, 'integrity')) throw new CliError(`cannot open ${where}: wrong passphrase, or the file was damaged or tampered with`, 1, 'integrity');
  if (isSessionStoreError(err)) throw new CliError(err.message, 1, err.code);
  throw err;
}

/** The keyring the configuration names (for key commands: no backend is contacted). */
export async function openKeyring(opts: KeysetOptions, io: CliIo): Promise<{ keyring: Keyring; config: ConfigDraft }> {
  // Key commands contact no backend: server URLs in the environment (both set is otherwise refused) do not matter.
  const config = resolveConfig({ ...opts }, { ...io, env: { ...io.env, REDIS_URL: undefined, DATABASE_URL: undefined } });
  requireKeyset(config);
  if (config.keyset?.store === true) return { keyring: (await openStoreKeyset(config, io)).keyring, config };
  // Only the keyset (and the lifetime its sign/hash keys are retired by) matters here: check it,
  // whatever the backend settings say.
  const keysOnly = { adapter: 'memory', keyset: config.keyset, ...(config.absoluteTtlMs === undefined ? {} : { absoluteTtlMs: config.absoluteTtlMs }) };
  validateConfig(keysOnly);
  try {
    return { keyring: await loadKeyring(keysOnly), config };
  } catch (err) {
    keysetFailure(err, config);
  }
}

/** The store the application uses. Closes nothing: call `close()` on the result. */
export async function openStore(
  opts: StoreOptions,
  io: CliIo,
  extra: Pick<CommonConfig, 'lazyReencrypt' | 'unsafeAcceptPlaintext'> = {},
): Promise<CreatedSessionStore> {
  const config: ConfigDraft = { ...resolveConfig(opts, io), ...extra };
  // An unconfigured CLI would otherwise walk an empty in-process store and report success.
  if (config.adapter === undefined || config.adapter === 'memory') {
    throw new UsageError("no store is configured: name the application's store (--redis URL, --postgres URL, --pglite DIR, or SSS_ADAPTER and SSS_URL as the application sets them)");
  }
  requireKeyset(config);
  validateConfig(config);
  // A keyset kept in the store opens with the store: one connection, closed by the caller.
  if (config.keyset?.store === true) return openStoreKeyset(config, io, false);
  let keyring: Keyring;
  try {
    keyring = await loadKeyring(config);
  } catch (err) {
    keysetFailure(err, config);
  }
  // The file-backed keyring itself, so key changes made through the store (retireKey) are locked
  // and saved to the same file.
  // Not recorded in the namespace registry: a namespace an operator names is not one the app uses.
  return openSessionStore({ ...config, keyset: { keyring } }, { register: false });
}

/** What commands opened for a keyset kept in the store, closed by `closeOpened` when the command ends. */
const opened = new WeakMap<CliIo, (() => Promise<void>)[]>();

/**
 * The store and its keyset (`--keyset-in-store`): the backend comes from the same configuration
 * as the application's. With `closeAtEnd`, closed by `closeOpened(io)` once the command ends (key
 * commands, which only need the keyring); otherwise the caller closes it.
 */
export async function openStoreKeyset(config: ConfigDraft, io: CliIo, closeAtEnd = true): Promise<CreatedSessionStore> {
  validateConfig(config);
  let created: CreatedSessionStore;
  try {
    created = await openSessionStore(config, { register: false });
  } catch (err) {
    keysetFailure(err, config);
  }
  if (closeAtEnd) {
    const list = opened.get(io) ?? [];
    list.push(() => created.close());
    opened.set(io, list);
  }
  return created;
}

/** Closes what `openStoreKeyset` opened for this invocation. */
export async function closeOpened(io: CliIo): Promise<void> {
  const list = opened.get(io) ?? [];
  opened.delete(io);
  for (const close of list.reverse()) await close().catch(() => {});
}
