/**
 * `sealed-session keys rewrap`: writes the keyset file again under another key-encryption key,
 * keys unchanged: from a passphrase to AWS KMS (`--to kms`), from one KMS key to another, back to
 * a passphrase (`--to passphrase`), or (no `--to`) under the same provider at its current cost.
 *
 * The keyset opens with what the configuration names (SSS_KEYSET_PASSPHRASE / --passphrase-env,
 * SSS_KEYSET_KMS_*), the same as the application; the target comes from the flags. Only the keyset
 * file is rewritten, through the keyring's transaction (its lock, compare-before-write, atomic
 * 0600 rename): no session is touched, since sessions are sealed under the keys inside the keyset,
 * never under the key-encryption key. A running application that can open both the old and the
 * new wrapping (docs/kms.md) follows the file without a restart.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { keysetProtection } from '../config/keyset-kms.js';
import type { KeysetKmsConfig } from '../config/types.js';
import { Keyring, KeysetFileSource, type KeyEncryptionProvider, type KeysetProtection } from '../internal.js';
import { CliError, type CliIo, Output, UsageError } from './io.js';
import { type KeysetOptions, addKeysetOptions, keysetFailure, passphraseFrom, requireKeyset, resolveConfig } from './options.js';

interface RewrapOptions extends KeysetOptions {
  to?: 'kms' | 'passphrase';
  kmsKeyId?: string;
  kmsRegion?: string;
  kmsEndpoint?: string;
  newPassphraseEnv?: string;
}

/** The provider the keyset is written under, from the flags (and the configuration's defaults). */
function targetProvider(opts: RewrapOptions, current: KeysetProtection, configured: { kms?: KeysetKmsConfig; passphrase?: string }, io: CliIo): KeyEncryptionProvider {
  const kmsFlags = [opts.kmsKeyId, opts.kmsRegion, opts.kmsEndpoint].some((v) => v !== undefined);
  if (opts.to !== 'kms' && kmsFlags) throw new UsageError('--kms-key-id, --kms-region and --kms-endpoint name the target key: use them with --to kms');
  if (opts.to !== 'passphrase' && opts.newPassphraseEnv !== undefined) throw new UsageError('--new-passphrase-env names the target passphrase: use it with --to passphrase');
  try {
    if (opts.to === 'kms') {
      const keyId = opts.kmsKeyId ?? configured.kms?.keyId;
      if (keyId === undefined) throw new UsageError('--to kms needs the KMS key to wrap under: --kms-key-id <key id, ARN or alias>');
      const region = opts.kmsRegion ?? configured.kms?.region;
      const endpoint = opts.kmsEndpoint ?? configured.kms?.endpoint;
      if (endpoint !== undefined && !URL.canParse(endpoint)) throw new UsageError('--kms-endpoint must be a URL');
      return keysetProtection({ kms: { keyId, ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) } }).provider!;
    }
    if (opts.to === 'passphrase') {
      const passphrase = opts.newPassphraseEnv !== undefined ? passphraseFrom({ passphraseEnv: opts.newPassphraseEnv }, io) : configured.passphrase;
      if (passphrase === undefined) throw new UsageError('--to passphrase needs the passphrase: name its variable with --new-passphrase-env VAR (or set SSS_KEYSET_PASSPHRASE)');
      return keysetProtection({ passphrase }).provider!;
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new UsageError((err as Error).message);
  }
  if (current.provider === undefined) throw new UsageError('the keyset is cleartext: choose how to wrap it with --to kms or --to passphrase');
  return current.provider;
}

async function wrappedBy(path: string): Promise<string> {
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as { provider?: unknown; keys?: unknown };
    return typeof doc.provider === 'string' ? doc.provider : Array.isArray(doc.keys) ? 'cleartext' : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function registerRewrapCommand(keys: Command, io: CliIo): void {
  addKeysetOptions(
    keys
      .command('rewrap')
      .description(
        'write the keyset file again under another key-encryption key (keys and sessions unchanged): --to kms --kms-key-id ID (passphrase to KMS, or KMS to another KMS key), --to passphrase (back to a passphrase), or no --to: the same provider at its current scrypt cost. The keyset opens with the configured passphrase or SSS_KEYSET_KMS_KEY_ID',
      )
      .addOption(new Option('--to <provider>', 'wrap under AWS KMS or a passphrase').choices(['kms', 'passphrase']))
      .option('--kms-key-id <id>', 'with --to kms: the KMS key (key id, ARN, alias/NAME; default $SSS_KEYSET_KMS_KEY_ID)')
      .option('--kms-region <region>', 'with --to kms: its region (default $SSS_KEYSET_KMS_REGION, then the AWS environment)')
      .option('--kms-endpoint <url>', 'with --to kms: a KMS endpoint (VPC endpoint, emulator; default $SSS_KEYSET_KMS_ENDPOINT)')
      .option('--new-passphrase-env <VAR>', 'with --to passphrase: the variable holding the passphrase to wrap under (default: SSS_KEYSET_PASSPHRASE)'),
  ).action(async (opts: RewrapOptions) => {
    const out = new Output(io, opts.json === true);
    const config = resolveConfig({ ...opts }, io);
    requireKeyset(config);
    const k = config.keyset!;
    if (k.path === undefined) throw new UsageError('keys rewrap rewrites a keyset file: pass --keyset PATH or set SSS_KEYSET (SSS_KEYSET_JSON is read-only)');
    const current = keysetProtection(k);
    const target = targetProvider(opts, current, { ...(k.kms === undefined ? {} : { kms: k.kms }), ...(k.passphrase === undefined ? {} : { passphrase: k.passphrase }) }, io);
    const from = await wrappedBy(k.path);
    // Opens with every provider the configuration names (the current wrapping), writes with the target.
    const openers = [current.provider, ...(current.alsoOpenWith ?? [])].filter((p): p is KeyEncryptionProvider => p !== undefined && p !== target);
    const protection: KeysetProtection = { provider: target, alsoOpenWith: openers, ...(k.insecureCleartext === true ? { insecureCleartext: true } : {}) };
    const options = config.absoluteTtlMs === undefined ? {} : { maxSessionLifetimeMs: config.absoluteTtlMs };
    let keyring: Keyring;
    try {
      keyring = await Keyring.fromSource(new KeysetFileSource(k.path, protection), options);
    } catch (err) {
      keysetFailure(err, config);
    }
    try {
      await keyring.transaction(() => undefined);
    } catch (err) {
      keysetFailure(err, config);
    }
    const summary = JSON.parse(JSON.stringify(target)) as { name: string; keyId?: string; logN?: number };
    const detail = summary.keyId !== undefined ? ` key ${summary.keyId}` : summary.logN !== undefined ? ` (scrypt logN ${summary.logN})` : '';
    out.line(`Re-wrapped ${keyring.sourceDescription ?? k.path} from ${from} to ${target.name}${detail}; its keys and every session are unchanged.`);
    if (from !== target.name) out.line('Applications that open it need the new setting (docs/kms.md): keep the old one alongside until every instance has it.');
    out.result({ ok: true, keyset: keyring.sourceDescription, from, to: target.name, ...(summary.keyId === undefined ? {} : { keyId: summary.keyId }) });
  });
}
