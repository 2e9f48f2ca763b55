/**
 * `sealed-session keys …`: the keyset file's lifecycle. Every change goes through the keyring's
 * `transaction()` (exclusive lock, reload, change, atomic 0600 write), so a CLI rotation racing an
 * application's rotation never loses a key. Nothing here ever prints key material: only kids,
 * purposes, statuses and times.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { type Command, Argument } from 'commander';
import { isSessionStoreError } from '../internal.js';
import { Keyring, type KeyringManager } from '../internal.js';
import { passphraseProvider } from '../internal.js';
import { KEY_PURPOSES, type KeyInfo, type KeyPurpose } from '../internal.js';
import { CliError, type CliIo, Output, UsageError, formatDuration, iso } from './io.js';
import { readOnlyKeysetFailure } from './readonly-keyset.js';
import { registerRewrapCommand } from './rewrap.js';
import { type GuardReport, type GuardedVerb, assertEncryptKeyUnused, warnForced } from './key-guard.js';
import { type KeysetOptions, type StoreOptions, addKeysetOptions, addStoreOptions, openKeyring, openStoreKeyset, passphraseFrom, resolveConfig } from './options.js';

export const DEFAULT_KEYSET_PATH = 'keys/sessions.keyset.json';

function keyRow(k: KeyInfo, now: number): Record<string, unknown> {
  return {
    kid: k.kid,
    purpose: k.purpose,
    status: k.status,
    createdAt: iso(k.createdAt),
    ageMs: now - k.createdAt,
    ...(k.demotedAt === undefined ? {} : { demotedAt: iso(k.demotedAt) }),
  };
}

function printKeys(out: Output, keys: KeyInfo[], now: number): void {
  const order = (k: KeyInfo) => KEY_PURPOSES.indexOf(k.purpose) * 10 + ['primary', 'active', 'retired', 'destroyed'].indexOf(k.status);
  const sorted = [...keys].sort((a, b) => order(a) - order(b) || b.createdAt - a.createdAt);
  out.table([
    ['KID', 'PURPOSE', 'STATUS', 'AGE', 'CREATED', 'DEMOTED'],
    ...sorted.map((k) => [k.kid, k.purpose, k.status, formatDuration(now - k.createdAt), iso(k.createdAt), k.demotedAt === undefined ? '-' : `${iso(k.demotedAt)} (${formatDuration(now - k.demotedAt)} ago)`]),
  ]);
}

/** Runs `fn` inside the keyset's transaction, turning an unknown kid into a message naming the keyset. */
async function change<T>(keyring: Keyring, kid: string | undefined, fn: (manager: KeyringManager) => T): Promise<T> {
  try {
    return await keyring.transaction(fn);
  } catch (err) {
    if (isSessionStoreError(err, 'unknown_key') && kid !== undefined) throw new CliError(`no key ${kid} in ${keyring.sourceDescription ?? 'the keyset'}`, 1, 'unknown_key');
    throw readOnlyKeysetFailure(err) ?? err;
  }
}

/** `keys generate --keyset-in-store`: creates the store's keyset with ifAbsent; never replaces one. */
async function generateInStore(opts: KeysetOptions, io: CliIo, out: Output, now: () => number): Promise<void> {
  const config = resolveConfig({ ...opts, keysetInStore: true }, io);
  const started = now();
  const created = await openStoreKeyset({ ...config, now, keyset: { ...config.keyset, createIfMissing: true } }, io);
  const list = created.keyring.list();
  if (list.some((k) => k.createdAt < started)) throw new CliError('refusing to replace the keyset kept in the store: it already holds one (rotate its keys with `sealed-session keys rotate --keyset-in-store`)', 1, 'exists');
  out.line(`Created the keyset in the store (${config.keyset?.passphrase === undefined ? 'CLEARTEXT: development only' : 'wrapped under the passphrase'}):`);
  printKeys(out, list, now());
  out.line();
  out.line('Point the application and this tool at it:  export SSS_KEYSET_STORE=1');
  out.result({ ok: true, store: true, wrapped: config.keyset?.passphrase !== undefined, keys: list.map((k) => keyRow(k, now())) });
}

export function registerKeysCommands(program: Command, io: CliIo): void {
  const now = () => (io.now ?? Date.now)();
  const keys = program.command('keys').description('create, list, rotate, promote, retire and destroy keys in a keyset file');

  addKeysetOptions(
    keys
      .command('generate')
      .description(
        `write a new keyset file (one primary key per purpose), mode 0600; refuses to overwrite. Default path: $SSS_KEYSET or ${DEFAULT_KEYSET_PATH}. Wrapped under the passphrase in $VAR with --passphrase-env VAR, or CLEARTEXT with --insecure-cleartext (development only)`,
      ),
  ).action(async (opts: KeysetOptions) => {
    const out = new Output(io, opts.json === true);
    const passphrase = passphraseFrom(opts, io);
    if (passphrase === undefined && opts.insecureCleartext !== true) {
      throw new UsageError('choose how the keyset is stored: --passphrase-env VAR (wrapped under the passphrase in $VAR) or --insecure-cleartext (development only)');
    }
    if (opts.keysetInStore === true || (opts.keyset === undefined && /^(1|true|yes|on)$/i.test(io.env.SSS_KEYSET_STORE ?? ''))) return generateInStore(opts, io, out, now);
    const path = resolve(io.cwd, opts.keyset ?? io.env.SSS_KEYSET ?? DEFAULT_KEYSET_PATH);
    if (existsSync(path)) throw new CliError(`refusing to overwrite ${path}: it already exists (rotate its keys with \`sealed-session keys rotate\`)`, 1, 'exists');
    let provider;
    try {
      provider = passphrase === undefined ? undefined : passphraseProvider(passphrase);
    } catch (err) {
      throw new UsageError(`passphrase: ${(err as Error).message}`);
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const started = now();
    // createIfMissing writes only under the file's lock and only when it is still absent, so a
    // file created meanwhile by someone else is opened, never replaced.
    const ring = await Keyring.fromFile(path, { ...(provider === undefined ? { insecureCleartext: true } : { provider }), createIfMissing: true, now });
    const list = ring.list();
    if (list.some((k) => k.createdAt < started)) throw new CliError(`refusing to overwrite ${path}: another process created it first`, 1, 'exists');
    out.line(`Wrote ${relative(io.cwd, path) || path} (mode 0600, ${provider === undefined ? 'CLEARTEXT: development only' : `wrapped by ${provider.name}`}):`);
    printKeys(out, list, now());
    out.line();
    out.line(`Point the application and this tool at it:  export SSS_KEYSET=${relative(io.cwd, path) || path}`);
    out.result({ ok: true, path, wrapped: provider !== undefined, keys: list.map((k) => keyRow(k, now())) });
  });

  addKeysetOptions(keys.command('list').description('list every key: kid, purpose, status, age (never key material)')).action(async (opts: KeysetOptions) => {
    const out = new Output(io, opts.json === true);
    const { keyring } = await openKeyring(opts, io);
    const list = keyring.list();
    printKeys(out, list, now());
    out.result({ ok: true, keyset: keyring.sourceDescription, keys: list.map((k) => keyRow(k, now())) });
  });

  addKeysetOptions(
    keys
      .command('rotate')
      .description('add a new key of <purpose> and make it primary (the old primary stays active: it still opens / verifies)')
      .addArgument(new Argument('<purpose>', 'key purpose').choices(KEY_PURPOSES as KeyPurpose[]))
      .option('--add-only', 'add the new key as active only (fleet step 1: add everywhere, then `keys promote`)'),
  ).action(async (purpose: KeyPurpose, opts: KeysetOptions & { addOnly?: boolean }) => {
    const out = new Output(io, opts.json === true);
    const { keyring } = await openKeyring(opts, io);
    const before = keyring.list().find((k) => k.purpose === purpose && k.status === 'primary')?.kid;
    const info = await change(keyring, undefined, (manager) => manager.rotate(purpose, { activate: opts.addOnly !== true }));
    out.line(
      opts.addOnly === true
        ? `Added ${purpose} key ${info.kid} as active (promote it with \`sealed-session keys promote ${info.kid}\` once every instance has reloaded).`
        : `New primary ${purpose} key ${info.kid}${before === undefined ? '' : `; ${before} is now active`}.`,
    );
    if (purpose === 'encrypt' && opts.addOnly !== true) out.line('Sessions sealed under the old key still open; run `sealed-session rekey` to re-seal them all, then retire it.');
    out.result({ ok: true, kid: info.kid, purpose, status: info.status, ...(before === undefined ? {} : { previous: before }) });
  });

  addKeysetOptions(keys.command('promote').description('make an active key the primary of its purpose').argument('<kid>', 'key id')).action(
    async (kid: string, opts: KeysetOptions) => {
      const out = new Output(io, opts.json === true);
      const { keyring } = await openKeyring(opts, io);
      await change(keyring, kid, (manager) => manager.promote(kid));
      const info = keyring.get(kid)!;
      out.line(`${info.purpose} key ${kid} is now primary.`);
      out.result({ ok: true, kid, purpose: info.purpose, status: info.status });
    },
  );

  addStoreOptions(
    keys
      .command('retire')
      .description(
        "stop using a key. For an encrypt key, first walks the application's store (every namespace recorded on that server, MCP events included) and refuses while anything live is sealed under it, when no store is configured, or when the walk opened nothing. A sign / hash key is refused before demotedAt + the longest session lifetime. --force skips both checks",
      )
      .argument('<kid>', 'key id')
      .option('--force', 'retire anyway, without counting: sessions, events or tokens still using the key stop working'),
  ).action(async (kid: string, opts: StoreOptions & { force?: boolean }) => {
    const out = new Output(io, opts.json === true);
    const { keyring } = await openKeyring(opts, io);
    const info = keyring.get(kid);
    if (info === undefined) throw new CliError(`no key ${kid} in ${keyring.sourceDescription ?? 'the keyset'}`, 1, 'unknown_key');
    const report = await guardEncrypt(info, 'retire', opts, out);
    await change(keyring, kid, (manager) => manager.retire(kid, opts.force === true ? { force: true } : {}));
    out.line(`${info.purpose} key ${kid} is retired${opts.force === true ? ' (forced)' : ''}. It can be reactivated until destroyed (\`sealed-session keys reactivate ${kid}\`); \`sealed-session keys destroy ${kid}\` erases it.`);
    out.result({ ok: true, kid, purpose: info.purpose, status: 'retired', forced: opts.force === true, ...(report === undefined ? {} : { walked: report.places }) });
  });

  addKeysetOptions(keys.command('reactivate').description('bring a retired key back to active (undoes `keys retire`; a destroyed key cannot come back)').argument('<kid>', 'key id')).action(
    async (kid: string, opts: KeysetOptions) => {
      const out = new Output(io, opts.json === true);
      const { keyring } = await openKeyring(opts, io);
      await change(keyring, kid, (manager) => manager.reactivate(kid));
      const info = keyring.get(kid)!;
      out.line(`${info.purpose} key ${kid} is active again: it opens / verifies again (promote it with \`sealed-session keys promote ${kid}\` to use it for new work).`);
      out.result({ ok: true, kid, purpose: info.purpose, status: info.status });
    },
  );

  registerRewrapCommand(keys, io);

  addStoreOptions(
    keys
      .command('destroy')
      .description('erase a retired key for good (its kid stays listed, never reused). For an encrypt key, refused like `keys retire` while anything live is still sealed under it, unless --force')
      .argument('<kid>', 'key id')
      .option('--force', 'destroy without counting: anything still sealed under the key is lost for good'),
  ).action(async (kid: string, opts: StoreOptions & { force?: boolean }) => {
    const out = new Output(io, opts.json === true);
    const { keyring } = await openKeyring(opts, io);
    const info = keyring.get(kid);
    if (info === undefined) throw new CliError(`no key ${kid} in ${keyring.sourceDescription ?? 'the keyset'}`, 1, 'unknown_key');
    // The keyset's own rule first (only a retired key), so a live key is refused without a walk.
    if (info.status !== 'retired' && info.status !== 'destroyed') throw new CliError(`key ${kid} is ${info.status}; retire it before destroying it`, 1, 'key_state');
    const report = await guardEncrypt(info, 'destroy', opts, out);
    await change(keyring, kid, (manager) => manager.destroy(kid));
    out.line(`Key ${kid} is destroyed: its material is gone from the keyset file.`);
    out.result({ ok: true, kid, status: 'destroyed', forced: opts.force === true, ...(report === undefined ? {} : { walked: report.places }) });
  });
}

/** The walk before an encrypt key stops opening data (key-guard.ts); a forced run warns instead. */
async function guardEncrypt(info: KeyInfo, verb: GuardedVerb, opts: StoreOptions & { force?: boolean }, out: Output): Promise<GuardReport | undefined> {
  if (info.purpose !== 'encrypt' || info.status === 'destroyed' || (verb === 'retire' && info.status === 'retired')) return undefined;
  if (opts.force === true) {
    warnForced(out, info.kid, verb);
    return undefined;
  }
  return assertEncryptKeyUnused(info.kid, verb, opts, out.io);
}
