/**
 * Keyrings that follow their keyset file (issue 16, item 1): polling through atomic renames and
 * `..data`-style symlink swaps, one rate-limited reload on an unknown kid, failed reloads that keep
 * the old keys and are reported, close(), and writes that go through a symlink to its target or are
 * refused on a read-only file. Polling tests use a short interval and wait for the change event.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSessionStoreError } from '../../src/contract/errors.js';
import { ReadOnlyKeysetError } from '../../src/keys/file.js';
import type { KeysetJwks } from '../../src/keys/jwks.js';
import type { KeyringSource } from '../../src/keys/source.js';
import { createSessionStore } from '../../src/config/index.js';
import { loadConfigFromEnv } from '../../src/config/env.js';
import { validateConfig } from '../../src/config/validate.js';
import { Keyring, MemoryStore, passphraseProvider, secureStore } from 'sealed-session-store';
import type { AuditEvent } from 'sealed-session-store';
import { cli } from '../cli/helpers.js';

const dirs: string[] = [];
const rings: Keyring[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sss-follow-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const r of rings.splice(0)) r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
});
const keep = (r: Keyring) => (rings.push(r), r);
const cleartext = { insecureCleartext: true as const };
const changed = (r: Keyring) => new Promise<void>((resolve) => r.onChange(resolve));
const json = (r: Keyring) => `${JSON.stringify(r.insecureExportCleartextJwks())}\n`;

/** `dir/keys.json -> ..data/keys.json`, `..data -> v1/`: a Kubernetes secret volume's layout. */
function secretVolume(text: string): { path: string; swap: (text: string) => void } {
  const dir = tmp();
  let n = 1;
  mkdirSync(join(dir, 'v1'));
  writeFileSync(join(dir, 'v1', 'keys.json'), text);
  symlinkSync('v1', join(dir, '..data'));
  symlinkSync('..data/keys.json', join(dir, 'keys.json'));
  return {
    path: join(dir, 'keys.json'),
    swap(next) {
      const v = `v${++n}`;
      mkdirSync(join(dir, v));
      writeFileSync(join(dir, v, 'keys.json'), next);
      symlinkSync(v, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data')); // atomic swap of the directory link
    },
  };
}

/** An in-memory source that counts its reads (the cost a forged kid could multiply). */
function countingSource(initial: KeysetJwks) {
  let current = initial;
  const stops: number[] = [];
  const source: KeyringSource & { reads: number; set(j: KeysetJwks): void; stopped: () => number } = {
    description: 'test source',
    writable: false,
    reads: 0,
    async read() {
      source.reads++;
      return current;
    },
    watch() {
      return () => void stops.push(1);
    },
    set(j) {
      current = j;
    },
    stopped: () => stops.length,
  };
  return source;
}

describe('following a keyset file', () => {
  it('fromFile follows by default: a rotation by another writer (atomic rename) arrives without reload()', async () => {
    const path = join(tmp(), 'k.json');
    const writer = keep(await Keyring.fromFile(path, { ...cleartext, createIfMissing: true, follow: false }));
    const reader = keep(await Keyring.fromFile(path, { ...cleartext, follow: { intervalMs: 10 } }));
    expect(writer.following).toBe(false);
    expect(reader.following).toBe(true);
    const seen = changed(reader);
    const info = await writer.transaction((m) => m.rotate('encrypt'));
    await seen;
    expect(reader.primary('encrypt').kid).toBe(info.kid);
    const byDefault = keep(await Keyring.fromFile(path, cleartext));
    expect(byDefault.following).toBe(true);
  });

  it('follows a ..data directory symlink swap (Kubernetes secret update)', async () => {
    const first = Keyring.generate();
    const vol = secretVolume(json(first));
    const reader = keep(await Keyring.fromFile(vol.path, { ...cleartext, follow: { intervalMs: 10 } }));
    const next = Keyring.insecureFromCleartextJwks(first.insecureExportCleartextJwks());
    const info = next.rotate('encrypt');
    const seen = changed(reader);
    vol.swap(json(next));
    await seen;
    expect(reader.primary('encrypt').kid).toBe(info.kid);
    expect(reader.get(first.primary('encrypt').kid)?.status).toBe('active');
  });

  it('a failed reload (half-written file, wrong passphrase) keeps the old keys and is reported; the next good write is picked up', async () => {
    const path = join(tmp(), 'k.json');
    const errors: unknown[] = [];
    const provider = passphraseProvider('correct horse battery staple', { logN: 10, unsafeLowCost: true });
    const writer = keep(await Keyring.fromFile(path, { provider, createIfMissing: true, follow: false }));
    let signal: (() => void) | undefined;
    const nextError = () => new Promise<void>((resolve) => (signal = resolve));
    const reader = keep(
      await Keyring.fromFile(path, {
        provider,
        follow: {
          intervalMs: 10,
          onError: (err) => {
            errors.push(err);
            signal?.();
          },
        },
      }),
    );
    const kid = reader.primary('encrypt').kid;
    const good = readFileSync(path, 'utf8');

    let failed = nextError();
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 40)); // a torn, non-atomic write
    await failed;
    expect(reader.primary('encrypt').kid).toBe(kid);
    expect(isSessionStoreError(errors[0])).toBe(true);

    failed = nextError();
    const other = passphraseProvider('another passphrase entirely', { logN: 10, unsafeLowCost: true });
    writeFileSync(path, JSON.stringify(await writer.exportWrapped(other))); // re-wrapped under a passphrase we lack
    await failed;
    expect(reader.primary('encrypt').kid).toBe(kid);

    failed = nextError();
    writeFileSync(path, '{ not json');
    await failed;
    expect(errors).toHaveLength(3);
    expect(reader.primary('encrypt').kid).toBe(kid);

    writeFileSync(path, good); // repaired: the writer can change it again
    const seen = changed(reader);
    const info = await writer.transaction((m) => m.rotate('encrypt'));
    await seen;
    expect(reader.primary('encrypt').kid).toBe(info.kid);
  });

  it('close() stops the polling: a closed keyring misses a change a following one sees', async () => {
    const path = join(tmp(), 'k.json');
    const writer = keep(await Keyring.fromFile(path, { ...cleartext, createIfMissing: true, follow: false }));
    const closed = keep(await Keyring.fromFile(path, { ...cleartext, follow: { intervalMs: 5 } }));
    const open = keep(await Keyring.fromFile(path, { ...cleartext, follow: { intervalMs: 20 } }));
    let closedChanges = 0;
    closed.onChange(() => closedChanges++);
    closed.close();
    closed.close(); // idempotent
    expect(closed.following).toBe(false);
    const seen = changed(open);
    await writer.transaction((m) => m.rotate('sign'));
    await seen; // a poll of 20 ms came: the 5 ms poll would have come first
    expect(closedChanges).toBe(0);
    expect(await closed.catchUp('anything')).toBe(false);

    const source = countingSource(Keyring.generate().insecureExportCleartextJwks());
    const ring = await Keyring.fromSource(source, { follow: {} });
    expect(source.stopped()).toBe(0);
    ring.close();
    expect(source.stopped()).toBe(1);
  });

  it('createSessionStore follows a keyset file by default, reports failures to onEvent, and close() stops it', async () => {
    const path = join(tmp(), 'k.json');
    writeFileSync(path, json(Keyring.generate()));
    const events: AuditEvent[] = [];
    const errors: unknown[] = [];
    let failed!: () => void;
    const failure = new Promise<void>((resolve) => (failed = resolve));
    const created = await createSessionStore({
      adapter: 'memory',
      keyset: { path, insecureCleartext: true, follow: { intervalMs: 10, onError: (e) => (errors.push(e), failed()) } },
      onEvent: (e) => events.push(e),
    });
    expect(created.keyring.following).toBe(true);
    writeFileSync(path, '{');
    await failure;
    expect(events).toContainEqual({ type: 'keyset_reload', operation: 'reload_failed' });
    await created.close();
    expect(created.keyring.following).toBe(false);

    const off = await createSessionStore({ adapter: 'memory', keyset: { path: join(tmp(), 'n.json'), insecureCleartext: true, createIfMissing: true, follow: false } });
    expect(off.keyring.following).toBe(false);
    await off.close();
    // An injected keyring is the caller's: close() leaves it following.
    const injected = keep(await Keyring.fromFile(path.replace('k.json', 'i.json'), { ...cleartext, createIfMissing: true }));
    const mine = await createSessionStore({ adapter: 'memory', keyset: { keyring: injected } });
    await mine.close();
    expect(injected.following).toBe(true);
  });

  it('bad follow options are invalid_input, naming the option', async () => {
    const path = join(tmp(), 'k.json');
    keep(await Keyring.fromFile(path, { ...cleartext, createIfMissing: true, follow: false }));
    for (const [follow, name] of [
      ['yes', /follow/],
      [{ intervalMs: 0 }, /follow\.intervalMs/],
      [{ unknownKidReloadMs: -1 }, /follow\.unknownKidReloadMs/],
      [{ onError: 'log' }, /follow\.onError/],
    ] as const) {
      const err = await Keyring.fromFile(path, { ...cleartext, follow: follow as never }).catch((e: unknown) => e);
      expect(isSessionStoreError(err, 'invalid_input'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(name);
    }
  });

  it('config: keyset.follow and SSS_KEYSET_FOLLOW / SSS_KEYSET_FOLLOW_INTERVAL_MS', () => {
    const env = { SSS_KEYSET: 'k.json', SSS_KEYSET_INSECURE_CLEARTEXT: '1' };
    expect(loadConfigFromEnv(env).keyset?.follow).toBeUndefined();
    expect(loadConfigFromEnv({ ...env, SSS_KEYSET_FOLLOW: '0' }).keyset?.follow).toBe(false);
    expect(loadConfigFromEnv({ ...env, SSS_KEYSET_FOLLOW_INTERVAL_MS: '250' }).keyset?.follow).toEqual({ intervalMs: 250 });
    expect(() => loadConfigFromEnv({ ...env, SSS_KEYSET_FOLLOW_INTERVAL_MS: '0' })).toThrow(expect.objectContaining({ field: 'SSS_KEYSET_FOLLOW_INTERVAL_MS' }));
    expect(() => loadConfigFromEnv({ ...env, SSS_KEYSET_FOLLOW: 'maybe' })).toThrow(expect.objectContaining({ field: 'SSS_KEYSET_FOLLOW' }));
    const base = { adapter: 'memory', keyset: { path: 'k.json', insecureCleartext: true } } as const;
    expect(() => validateConfig({ ...base, keyset: { ...base.keyset, follow: { intervalMs: -1 } } })).toThrow(expect.objectContaining({ field: 'keyset.follow.intervalMs' }));
    expect(() => validateConfig({ ...base, keyset: { ...base.keyset, follow: 'yes' } })).toThrow(expect.objectContaining({ field: 'keyset.follow' }));
    expect(() => validateConfig({ adapter: 'memory', keyset: { json: '{}', insecureCleartext: true, follow: true } })).toThrow(expect.objectContaining({ field: 'keyset.follow' }));
    expect(() => validateConfig({ ...base, keyset: { ...base.keyset, follow: { intervalMs: 50 } } })).not.toThrow();
  });
});

describe('unknown kid: one rate-limited reload', () => {
  it('a record sealed under a key this process has not polled yet opens after one reload', async () => {
    const shared = Keyring.generate();
    const source = countingSource(shared.insecureExportCleartextJwks());
    // Polling is never the one to bring it here: the source's watch never fires.
    const lagging = await Keyring.fromSource(source, { follow: { intervalMs: 3_600_000 } });
    const backend = new MemoryStore();
    const ahead = secureStore(backend, { keyring: shared });
    const behind = secureStore(backend, { keyring: lagging });
    const owner = { subject: 'alice' };
    const info = shared.rotate('encrypt');
    source.set(shared.insecureExportCleartextJwks());
    const id = await ahead.for(owner).create({ n: 1 });
    const reads = source.reads;
    expect(await behind.for(owner).load(id)).toEqual({ n: 1 });
    expect(source.reads).toBe(reads + 1);
    expect(lagging.primary('encrypt').kid).toBe(info.kid);
    await behind.for(owner).update(id, { n: 2 });
    expect(await ahead.for(owner).load(id)).toEqual({ n: 2 });
  });

  it('forged kids cannot make the keyring hammer its source: one reload per unknownKidReloadMs, concurrent callers share it', async () => {
    let now = 1_000_000;
    const source = countingSource(Keyring.generate().insecureExportCleartextJwks());
    const ring = await Keyring.fromSource(source, { now: () => now, follow: { unknownKidReloadMs: 1000 } });
    const start = source.reads;
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => ring.catchUp(`forged${i}`)));
    expect(burst.every((known) => !known)).toBe(true);
    expect(source.reads).toBe(start + 1);
    for (let i = 0; i < 50; i++) expect(await ring.catchUp(`again${i}`)).toBe(false);
    expect(source.reads).toBe(start + 1);
    now += 999;
    expect(await ring.catchUp('still-too-soon')).toBe(false);
    expect(source.reads).toBe(start + 1);
    now += 1;
    expect(await ring.catchUp('next-window')).toBe(false);
    expect(source.reads).toBe(start + 2);
    // Not following: no reload at all.
    const quiet = await Keyring.fromSource(countingSource(Keyring.generate().insecureExportCleartextJwks()));
    expect(quiet.following).toBe(false);
    expect(await quiet.catchUp('x')).toBe(false);
    expect(await Keyring.generate().catchUp('x')).toBe(false);
  });

  it('a forged envelope with a random kid is unknown_key, and costs at most one reload per window', async () => {
    let now = 5_000;
    const ring = Keyring.generate();
    const source = countingSource(ring.insecureExportCleartextJwks());
    const follower = await Keyring.fromSource(source, { now: () => now, follow: { unknownKidReloadMs: 1000 } });
    const backend = new MemoryStore();
    const good = secureStore(backend, { keyring: ring });
    const owner = { subject: 'mallory' };
    const id = await good.for(owner).create({ n: 1 });
    const rec = (await backend.loadRecord(id))!;
    const forged = Uint8Array.from(rec.value as Uint8Array);
    forged.set(new TextEncoder().encode('Z'.repeat(forged[2]!)), 3); // same length, a kid nobody has
    await backend.saveRecord(id, forged as never, { expiresAt: rec.expiresAt, ifVersion: rec.version });
    const store = secureStore(backend, { keyring: follower, now: () => now });
    const start = source.reads;
    for (let i = 0; i < 20; i++) {
      const err = await store.for(owner).load(id).catch((e: unknown) => e);
      expect(isSessionStoreError(err, 'unknown_key') || isSessionStoreError(err, 'integrity')).toBe(true);
    }
    expect(source.reads - start).toBe(1);
  });
});

describe('writes through a symlinked keyset path', () => {
  it('a transaction writes through the link to its target; the link stays a link', async () => {
    const vol = secretVolume(json(Keyring.generate()));
    const ring = keep(await Keyring.fromFile(vol.path, { ...cleartext, follow: false }));
    const info = await ring.transaction((m) => m.rotate('encrypt'));
    expect(lstatSync(vol.path).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(vol.path, '..', '..data')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(vol.path, '..', 'v1', 'keys.json'), 'utf8')).toContain(info.kid);
  });

  it('the CLI rotates through the link too', async () => {
    const vol = secretVolume(json(Keyring.generate()));
    const run = await cli(['keys', 'rotate', 'encrypt', '--keyset', vol.path, '--insecure-cleartext', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const kid = (JSON.parse(run.stdout) as { kid: string }).kid;
    expect(lstatSync(vol.path).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(vol.path, '..', 'v1', 'keys.json'), 'utf8')).toContain(kid);
  });

  it('a dangling link is refused, never replaced by a plain file', async () => {
    const dir = tmp();
    const source = Keyring.generate();
    writeFileSync(join(dir, 'real.json'), json(source));
    symlinkSync('real.json', join(dir, 'keys.json'));
    const ring = keep(await Keyring.fromFile(join(dir, 'keys.json'), { ...cleartext, follow: false }));
    rmSync(join(dir, 'real.json'));
    const err = await ring.transaction((m) => m.rotate('hash')).catch((e: unknown) => e);
    expect(isSessionStoreError(err, 'key_state')).toBe(true);
    expect(lstatSync(join(dir, 'keys.json')).isSymbolicLink()).toBe(true);
  });
});

describe('read-only keyset files (a mounted secret)', () => {
  /** Every write under `dir` fails as on a read-only mount (root ignores permission bits, so simulate EROFS). */
  async function readOnlyMount(dir: string) {
    const fsp = (await import('node:fs')).promises;
    const refuse = (p: unknown) => typeof p === 'string' && p.startsWith(dir);
    const erofs = () => Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
    const writeFile = fsp.writeFile as (...args: unknown[]) => Promise<unknown>;
    const open = fsp.open as (...args: unknown[]) => Promise<unknown>;
    vi.spyOn(fsp, 'writeFile').mockImplementation(((...args: unknown[]) => (refuse(args[0]) ? Promise.reject(erofs()) : writeFile.apply(fsp, args))) as never);
    vi.spyOn(fsp, 'open').mockImplementation(((...args: unknown[]) =>
      refuse(args[0]) && args[1] !== 'r' && args[1] !== undefined ? Promise.reject(erofs()) : open.apply(fsp, args)) as never);
  }

  it('a change is refused with key_state, nothing written, and the error carries the new keyset (wrapped) for the secret manager', async () => {
    const dir = tmp();
    const provider = passphraseProvider('correct horse battery staple', { logN: 10, unsafeLowCost: true });
    const path = join(dir, 'k.json');
    const ring = keep(await Keyring.fromFile(path, { provider, createIfMissing: true, follow: false }));
    const before = readFileSync(path, 'utf8');
    await readOnlyMount(dir);
    const err = await ring.transaction((m) => m.rotate('encrypt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadOnlyKeysetError);
    expect(isSessionStoreError(err, 'key_state')).toBe(true);
    const e = err as ReadOnlyKeysetError;
    expect(e.cleartext).toBe(false);
    expect(e.message).toMatch(/read-only/);
    expect(JSON.stringify(e)).not.toContain('wrapped');
    vi.restoreAllMocks();
    expect(readFileSync(path, 'utf8')).toBe(before);
    const text = e.unsafeNewKeysetText();
    expect(text).not.toContain('"k"'); // no JWK key material in clear
    const next = await Keyring.fromWrapped(JSON.parse(text), provider);
    expect(next.list().filter((k) => k.purpose === 'encrypt')).toHaveLength(2);
    expect(ring.list().filter((k) => k.purpose === 'encrypt')).toHaveLength(1); // kept its keys
  });

  it('the CLI refuses with key_state and prints the new keyset for the operator', async () => {
    const dir = tmp();
    const path = join(dir, 'k.json');
    writeFileSync(path, json(Keyring.generate()));
    const before = readFileSync(path, 'utf8');
    await readOnlyMount(dir);
    const run = await cli(['keys', 'rotate', 'encrypt', '--keyset', path, '--insecure-cleartext']);
    vi.restoreAllMocks();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/read-only/);
    expect(run.stderr).toMatch(/CLEARTEXT keyset/);
    const printed = run.stderr.slice(run.stderr.indexOf('{'));
    const next = Keyring.insecureFromCleartextJwks(JSON.parse(printed));
    expect(next.list().filter((k) => k.purpose === 'encrypt')).toHaveLength(2);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });
});
