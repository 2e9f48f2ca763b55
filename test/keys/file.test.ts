import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isSessionStoreError } from '../../src/contract/errors.js';
import { base64urlEncode } from '../../src/util/bytes.js';
import type { KeyringManager } from '../../src/keys/keyring-manager.js';
import { scryptDerive } from '../../src/crypto/scrypt.js';
import { Keyring, passphraseProvider } from 'sealed-session-store';

const run = promisify(execFile);
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sss-keys-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const PASS = 'correct horse battery staple';
const provider = () => passphraseProvider(PASS, { logN: 10, unsafeLowCost: true });

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isSessionStoreError(err) ? err.code : `other: ${String(err)}`;
  }
  return undefined;
}

describe('keyset files', () => {
  it('createIfMissing writes a wrapped keyset, mode 0600, with no key material in clear', async () => {
    const path = join(tmp(), 'app.keyset.json');
    const ring = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    const doc = JSON.parse(text);
    expect(doc).toMatchObject({ format: 'sealed-session-store.keyset', version: 1, provider: 'passphrase-scrypt' });
    for (const { kid } of ring.list()) expect(text).not.toContain(kid); // even kids are inside the wrap
    expect(text).not.toContain(base64urlEncode(ring.primary('encrypt').key));
    const again = await Keyring.fromFile(path, { provider: provider() });
    expect(again.list()).toEqual(ring.list());
    expect(again.primary('encrypt').key).toEqual(ring.primary('encrypt').key);
    expect(readdirSync(join(path, '..'))).toEqual(['app.keyset.json']); // no temp or lock files left
  });

  it('a wrong passphrase, or a tampered file, is one integrity error', async () => {
    const path = join(tmp(), 'k.json');
    await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    expect(await code(Keyring.fromFile(path, { provider: passphraseProvider('not the passphrase', { logN: 10, unsafeLowCost: true }) }))).toBe('integrity');
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    for (const change of [(d: any) => (d.wrapped.logN = 11), (d: any) => (d.wrapped.ciphertext = `A${d.wrapped.ciphertext.slice(1)}`), (d: any) => (d.wrapped.salt = base64urlEncode(new Uint8Array(16)))]) {
      const bad = structuredClone(doc);
      change(bad);
      writeFileSync(path, JSON.stringify(bad));
      expect(await code(Keyring.fromFile(path, { provider: provider() }))).toBe('integrity');
    }
    const hostile = structuredClone(doc);
    hostile.wrapped.logN = 40; // would ask for terabytes
    writeFileSync(path, JSON.stringify(hostile));
    expect(await code(Keyring.fromFile(path, { provider: provider() }))).toBe('integrity');
  });

  it('cleartext keysets load only when asked for by name', async () => {
    const dir = tmp();
    const clear = join(dir, 'insecure-test.keyset.json');
    const ring = Keyring.generate();
    writeFileSync(clear, JSON.stringify(ring.insecureExportCleartextJwks()));
    expect(await code(Keyring.fromFile(clear, { provider: provider() }))).toBe('key_state');
    // Naming no protection at all is a bad option (the error rule), whatever the file holds.
    expect(await code(Keyring.fromFile(clear, {} as never))).toBe('invalid_input');
    const loaded = await Keyring.fromFile(clear, { insecureCleartext: true });
    expect(loaded.primary('sign').key).toEqual(ring.primary('sign').key);
    // a wrapped file needs its provider even when cleartext is allowed
    const wrapped = join(dir, 'w.json');
    await Keyring.fromFile(wrapped, { provider: provider(), createIfMissing: true });
    expect(await code(Keyring.fromFile(wrapped, { insecureCleartext: true }))).toBe('key_state');
    // migrating a cleartext file to a wrapped one: read with both, write wrapped
    const both = await Keyring.fromFile(clear, { insecureCleartext: true, provider: provider() });
    await both.transaction((r) => r.rotate('hash'));
    expect(JSON.parse(readFileSync(clear, 'utf8')).format).toBe('sealed-session-store.keyset');
  });

  it('a file-backed keyring changes only inside transaction(); changes are saved and seen by reload()', async () => {
    const path = join(tmp(), 'k.json');
    const a = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    const b = await Keyring.fromFile(path, { provider: provider() });
    expect(() => a.rotate('encrypt')).toThrow(expect.objectContaining({ code: 'key_state' }));
    const info = await a.transaction((r) => r.rotate('encrypt', { activate: false }));
    let changes = 0;
    b.onChange(() => changes++);
    expect(b.get(info.kid)).toBeUndefined();
    expect(await b.reload()).toBe(true);
    expect(b.get(info.kid)?.status).toBe('active');
    expect(await b.reload()).toBe(false);
    expect(changes).toBe(1);
    // the fleet sequence: add as active (done), promote, retire the old one
    const old = a.primary('encrypt').kid;
    await b.transaction((r) => r.promote(info.kid));
    await a.reload();
    expect(a.primary('encrypt').kid).toBe(info.kid);
    await a.transaction((r) => r.retire(old));
    await b.reload();
    expect(b.get(old)?.status).toBe('retired');
  });

  it('a transaction that throws stores nothing and restores the keyring', async () => {
    const path = join(tmp(), 'k.json');
    const ring = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    const before = readFileSync(path, 'utf8');
    const list = ring.list();
    await expect(
      ring.transaction((r) => {
        r.rotate('encrypt');
        r.retire(r.primary('encrypt').kid); // key_state: the primary
      }),
    ).rejects.toMatchObject({ code: 'key_state' });
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(ring.list()).toEqual(list);
  });

  it('a transaction changes a manager over the stored keyset; the live keyring changes only once it is saved', async () => {
    const path = join(tmp(), 'k.json');
    const ring = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    const before = ring.primary('encrypt');
    let kept: KeyringManager | undefined;
    const fresh = await ring.transaction((m) => {
      kept = m;
      const info = m.rotate('encrypt');
      // Inside the callback the manager sees its change and the keyring does not yet.
      expect(m.primary('encrypt').kid).toBe(info.kid);
      expect(ring.primary('encrypt')).toBe(before);
      // The live keyring is never changed directly, not even from inside its transaction.
      expect(() => ring.rotate('sign')).toThrow(expect.objectContaining({ code: 'key_state' }));
      return info;
    });
    expect(ring.primary('encrypt').kid).toBe(fresh.kid);
    expect(ring.keyFor('encrypt', before.kid)).toEqual(before.key);
    // A manager kept past its transaction cannot reach the live keys.
    expect(() => kept!.retire(before.kid)).toThrow(expect.objectContaining({ code: 'key_state' }));
    expect(ring.get(before.kid)?.status).toBe('active');
  });

  it('keyring options are checked as invalid_input', async () => {
    expect(() => Keyring.generate({ maxSessionLifetimeMs: -1 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    const ring = await Keyring.fromFile(join(tmp(), 'k.json'), { provider: provider(), createIfMissing: true });
    expect(() => ring.watch({ intervalMs: 0 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('two keyring instances rotating the same file at once lose no key', async () => {
    const path = join(tmp(), 'k.json');
    const a = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    const b = await Keyring.fromFile(path, { provider: provider() });
    const made = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).transaction((r) => r.rotate('encrypt').kid)));
    const final = await Keyring.fromFile(path, { provider: provider() });
    const kids = final.list().filter((k) => k.purpose === 'encrypt').map((k) => k.kid);
    expect(kids).toHaveLength(17);
    for (const kid of made) expect(kids).toContain(kid);
    expect(final.list().filter((k) => k.status === 'primary')).toHaveLength(3);
  });

  it('two processes rotating the same file at once lose no key', async () => {
    const path = join(tmp(), 'k.json');
    await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    const child = join(process.cwd(), 'test/keys/fixtures/rotate-child.ts');
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    const outs = await Promise.all([run(tsx, [child, path, '5', PASS]), run(tsx, [child, path, '5', PASS])]);
    const made = outs.flatMap((o) => JSON.parse(o.stdout) as string[]);
    expect(made).toHaveLength(10);
    const final = await Keyring.fromFile(path, { provider: provider() });
    const kids = new Set(final.list().map((k) => k.kid));
    for (const kid of made) expect(kids.has(kid)).toBe(true);
    expect(final.list().filter((k) => k.purpose === 'encrypt')).toHaveLength(11);
  }, 60_000);

  it('watch() reloads when another instance changes the file', async () => {
    const path = join(tmp(), 'k.json');
    const a = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
    const b = await Keyring.fromFile(path, { provider: provider() });
    const changed = new Promise<void>((resolve) => b.onChange(resolve));
    const stop = b.watch({ intervalMs: 20 });
    const info = await a.transaction((r) => r.rotate('sign'));
    await changed;
    stop();
    expect(b.primary('sign').kid).toBe(info.kid);
  });

  it('locks: a fresh foreign lock times out with key_state; a stale one is broken', async () => {
    const path = join(tmp(), 'k.json');
    const ring = await Keyring.fromFile(path, { provider: provider(), createIfMissing: true, lock: { timeoutMs: 150, staleMs: 60_000 } });
    writeFileSync(`${path}.lock`, 'someone else\n');
    expect(await code(ring.transaction((r) => r.rotate('hash')))).toBe('key_state');
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(`${path}.lock`, old, old);
    await ring.transaction((r) => r.rotate('hash'));
    expect(ring.keysFor('hash')).toHaveLength(2);
  });

  it('environment variables: JSON or base64url, wrapped or (by name) cleartext; read-only', async () => {
    const ring = Keyring.generate();
    const wrapped = JSON.stringify(await ring.exportWrapped(provider()));
    const clear = JSON.stringify(ring.insecureExportCleartextJwks());
    const env = { W: wrapped, W64: base64urlEncode(Buffer.from(wrapped)), C: clear, JUNK: '%%%' };
    for (const name of ['W', 'W64']) expect((await Keyring.fromEnv(name, { provider: provider(), env })).primary('encrypt').key).toEqual(ring.primary('encrypt').key);
    expect(await code(Keyring.fromEnv('C', { provider: provider(), env }))).toBe('key_state');
    const fromClear = await Keyring.fromEnv('C', { insecureCleartext: true, env });
    expect(fromClear.list()).toEqual(ring.list());
    expect(() => fromClear.rotate('encrypt')).toThrow(expect.objectContaining({ code: 'key_state' }));
    expect(await code(fromClear.transaction((r) => r.rotate('encrypt')))).toBe('key_state');
    expect(await code(Keyring.fromEnv('MISSING', { insecureCleartext: true, env }))).toBe('key_state');
    expect(await code(Keyring.fromEnv('JUNK', { insecureCleartext: true, env }))).toBe('key_state');
  });

  it('wrapped export round trip and provider rules', async () => {
    const ring = Keyring.generate();
    const doc = await ring.exportWrapped(provider());
    expect((await Keyring.fromWrapped(doc, provider())).list()).toEqual(ring.list());
    expect(() => passphraseProvider('short')).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => passphraseProvider(PASS, { logN: 10 })).toThrowError(expect.objectContaining({ code: 'invalid_input' })); // low cost must say unsafe
    expect(() => passphraseProvider(PASS, { logN: 23 })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('scrypt: node:crypto and noble agree (RFC 7914 test vector 2)', async () => {
    const params = { logN: 10, r: 8, p: 16, dkLen: 64 };
    const expected = 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640';
    const pw = Buffer.from('password');
    const salt = Buffer.from('NaCl');
    expect(Buffer.from(await scryptDerive(pw, salt, params, 'node')).toString('hex')).toBe(expected);
    expect(Buffer.from(await scryptDerive(pw, salt, params, 'noble')).toString('hex')).toBe(expected);
  });
});
