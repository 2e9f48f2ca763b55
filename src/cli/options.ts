/**
 * The options shared by commands, and how they become the library's configuration: the SSS_*
 * environment first (exactly what `loadConfigFromEnv` gives the application), then the command
 * line on top. So by default the CLI opens the same backend, namespace and keyset as the app.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CreatedSessionStore, type SessionStoreConfig, createSessionStore, loadConfigFromEnv, loadKeyring, validateConfig } from '../config.js';
import { isSessionStoreError } from '../contract/errors.js';
import type { Keyring } from '../keys/keyring.js';
import { CliError, type CliIo, UsageError } from './io.js';

export interface KeysetOptions {
  keyset?: string;
  passphraseEnv?: string;
  insecureCleartext?: boolean;
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
      .option('--passphrase-env <VAR>', 'name of the environment variable holding the keyset passphrase (default: SSS_KEYSET_PASSPHRASE)')
      .option('--insecure-cleartext', 'accept a CLEARTEXT keyset file (development only; $SSS_KEYSET_INSECURE_CLEARTEXT=1)'),
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

const ADAPTER_ENV = ['SSS_ADAPTER', 'SSS_URL', 'SSS_PGLITE_DIR'];

/** The configuration: environment, then command-line overrides. Throws `UsageError` / `ConfigError`. */
export function resolveConfig(opts: StoreOptions, io: CliIo): SessionStoreConfig {
  const chosen = [opts.redis, opts.postgres, opts.pglite].filter((x) => x !== undefined).length;
  if (chosen > 1) throw new UsageError('choose one of --redis, --postgres, --pglite');
  const env = { ...io.env };
  if (chosen === 1) for (const k of ADAPTER_ENV) delete env[k];
  const config = loadConfigFromEnv(env);
  if (opts.redis !== undefined) {
    config.adapter = 'redis';
    config.url = opts.redis;
  } else if (opts.postgres !== undefined) {
    config.adapter = 'postgres';
    config.url = opts.postgres;
  } else if (opts.pglite !== undefined) {
    config.adapter = 'pglite';
    config.dataDir = resolve(io.cwd, opts.pglite);
    delete config.url;
  }
  if (config.adapter !== 'redis' && config.adapter !== 'postgres') delete config.url;
  if (config.dataDir !== undefined) config.dataDir = resolve(io.cwd, config.dataDir);
  if (opts.namespace !== undefined) config.namespace = opts.namespace;
  if (opts.prefix !== undefined) config.prefix = opts.prefix;
  if (opts.table !== undefined) config.table = opts.table;
  if (opts.connectTimeout !== undefined) {
    if (!/^[0-9]{1,7}$/.test(opts.connectTimeout)) throw new UsageError('--connect-timeout must be a whole number of milliseconds');
    config.connectTimeoutMs = Number(opts.connectTimeout);
  }
  // Keyset: --keyset replaces whatever the environment named.
  if (opts.keyset !== undefined) config.keyset = { path: opts.keyset };
  if (config.keyset?.path !== undefined) config.keyset.path = resolve(io.cwd, config.keyset.path);
  if (config.keyset !== undefined) {
    const passphrase = passphraseFrom(opts, io);
    if (passphrase !== undefined) config.keyset.passphrase = passphrase;
    if (opts.insecureCleartext === true || io.env.SSS_KEYSET_INSECURE_CLEARTEXT === '1') config.keyset.insecureCleartext = true;
  }
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

function requireKeyset(config: SessionStoreConfig): void {
  const k = config.keyset;
  if (k === undefined) throw new UsageError('no keyset: pass --keyset PATH or set SSS_KEYSET (create one with `sealed-session keys generate`)');
  if (k.path === undefined || k.passphrase !== undefined || k.insecureCleartext === true) return;
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
  if (doc !== null && typeof doc === 'object' && typeof doc.provider === 'string') {
    throw new UsageError(`keyset file ${k.path} is wrapped by "${doc.provider}": set SSS_KEYSET_PASSPHRASE, or name the variable holding the passphrase with --passphrase-env VAR`);
  }
  throw new CliError(`keyset file ${k.path} is neither a wrapped keyset nor a JWK Set`, 1, 'key_state');
}

/** Explains a keyset that does not open in words an operator can act on. */
function keysetFailure(err: unknown, config: SessionStoreConfig): never {
  const where = config.keyset?.path !== undefined ? `keyset file ${config.keyset.path}` : 'keyset from SSS_KEYSET_JSON';
  if (isSessionStoreError(err, 'integrity')) throw new CliError(`cannot open ${where}: wrong passphrase, or the file was damaged or tampered with`, 1, 'integrity');
  if (isSessionStoreError(err)) throw new CliError(err.message, 1, err.code);
  throw err;
}

/** The keyring the configuration names (for key commands: no backend is contacted). */
export async function openKeyring(opts: KeysetOptions, io: CliIo): Promise<{ keyring: Keyring; config: SessionStoreConfig }> {
  const config = resolveConfig({ ...opts }, io);
  requireKeyset(config);
  // Only the keyset matters here: check it, whatever the backend settings say.
  validateConfig({ adapter: 'memory', keyset: config.keyset! });
  try {
    return { keyring: await loadKeyring(config), config };
  } catch (err) {
    keysetFailure(err, config);
  }
}

/** The store the application uses. Closes nothing: call `close()` on the result. */
export async function openStore(
  opts: StoreOptions,
  io: CliIo,
  extra: Partial<SessionStoreConfig> = {},
): Promise<CreatedSessionStore> {
  const config = { ...resolveConfig(opts, io), ...extra };
  requireKeyset(config);
  validateConfig(config);
  let keyring: Keyring;
  try {
    keyring = await loadKeyring(config);
  } catch (err) {
    keysetFailure(err, config);
  }
  // The file-backed keyring itself, so key changes made through the store (retireKey) are locked
  // and saved to the same file.
  return createSessionStore({ ...config, keyset: { keyring } });
}
