/**
 * `sealed-session keys …`, `--help`, exit codes and keyset errors. No service needed: these only
 * touch a keyset file in a temporary directory.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess, json, tempDir } from './helpers.js';

let dir: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ dir, remove } = await tempDir());
});
afterAll(async () => remove());

describe('help and exit codes (real processes)', () => {
  it('--help documents every command and the exit codes; exit 0', async () => {
    const run = await cliProcess(['--help']);
    expect(run.code).toBe(0);
    for (const c of ['keys', 'rekey', 'usage', 'inspect', 'verify-token', 'Exit codes', '2  usage']) expect(run.stdout).toContain(c);
  });

  it('a subcommand --help shows its options and the exit codes', async () => {
    const run = await cli(['keys', 'retire', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--force');
    expect(run.stdout).toContain('--redis <url>');
    expect(run.stdout).toContain('Exit codes');
  });

  it('usage errors exit 2: unknown command, unknown option, bad purpose, missing argument', async () => {
    expect((await cliProcess(['frobnicate'])).code).toBe(2);
    expect((await cli(['keys', 'list', '--no-such-option'])).code).toBe(2);
    const bad = await cli(['keys', 'rotate', 'bogus', '--keyset', join(dir, 'x.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/encrypt, sign, hash/);
    expect((await cli(['keys', 'promote'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
  });
});

describe('keys generate', () => {
  it('writes a 0600 keyset under keys/ by default and refuses to overwrite it (real process)', async () => {
    const first = await cliProcess(['keys', 'generate', '--insecure-cleartext', '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const path = join(dir, 'keys', 'sessions.keyset.json');
    expect(json(first).path).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { keys: Array<{ k: string; purpose: string }> };
    expect(doc.keys.map((k) => k.purpose).sort()).toEqual(['encrypt', 'hash', 'sign']);
    // Never key material on stdout.
    for (const k of doc.keys) expect(first.stdout).not.toContain(k.k);
    const before = readFileSync(path, 'utf8');
    const again = await cliProcess(['keys', 'generate', '--insecure-cleartext'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refusing to overwrite/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('needs an explicit choice between a passphrase and cleartext (exit 2)', async () => {
    const run = await cli(['keys', 'generate', '--keyset', join(dir, 'none.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--passphrase-env VAR/);
  });

  it('wraps under --passphrase-env; the wrong or a missing passphrase is a clear error', async () => {
    const path = join(dir, 'wrapped.json');
    const env = { MY_PASS: 'correct horse battery staple' };
    const gen = await cli(['keys', 'generate', '--keyset', path, '--passphrase-env', 'MY_PASS'], { env });
    expect(gen.code, gen.stderr).toBe(0);
    const text = readFileSync(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ format: 'sealed-session-store.keyset', provider: 'passphrase-scrypt' });
    expect(text).not.toMatch(/"k"/);

    const list = await cli(['keys', 'list', '--keyset', path, '--passphrase-env', 'MY_PASS', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(json(list).keys).toHaveLength(3);

    const viaDefaultVar = await cli(['keys', 'list', '--keyset', path], { env: { SSS_KEYSET_PASSPHRASE: env.MY_PASS } });
    expect(viaDefaultVar.code, viaDefaultVar.stderr).toBe(0);

    const wrong = await cli(['keys', 'list', '--keyset', path], { env: { SSS_KEYSET_PASSPHRASE: 'not the passphrase' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase/);

    const missing = await cli(['keys', 'list', '--keyset', path]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/wrapped by "passphrase-scrypt"/);

    const unset = await cli(['keys', 'list', '--keyset', path, '--passphrase-env', 'NOT_SET_ANYWHERE']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/NOT_SET_ANYWHERE/);
  });
});

describe('keyset errors', () => {
  it('missing, malformed, cleartext without the flag, and no keyset at all', async () => {
    const missing = await cli(['keys', 'list', '--keyset', join(dir, 'absent.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);

    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, 'not json at all', { mode: 0o600 });
    const bad = await cli(['keys', 'list', '--keyset', garbage, '--insecure-cleartext']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not JSON/);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ keys: [{ kty: 'oct', kid: 'a', purpose: 'encrypt', status: 'primary', createdAt: 1, k: 'short' }] }), { mode: 0o600 });
    const invalid = await cli(['keys', 'list', '--keyset', broken, '--insecure-cleartext', '--json']);
    expect(invalid.code).toBe(1);
    expect(json(invalid)).toMatchObject({ ok: false, error: { code: 'key_state' } });

    const clear = join(dir, 'clear.json');
    expect((await cli(['keys', 'generate', '--keyset', clear, '--insecure-cleartext'])).code).toBe(0);
    const noFlag = await cli(['keys', 'list', '--keyset', clear]);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toMatch(/CLEARTEXT keyset: pass --insecure-cleartext/);

    const none = await cli(['keys', 'list']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no keyset/);
  });

  it('reads SSS_KEYSET_INSECURE_CLEARTEXT by the library\'s rule (1|true|yes|on, 0|false|no|off), refusing anything else', async () => {
    const clear = join(dir, 'flag.json');
    expect((await cli(['keys', 'generate', '--keyset', clear, '--insecure-cleartext'])).code).toBe(0);
    for (const on of ['1', 'true', 'yes', 'ON']) {
      const run = await cli(['keys', 'list', '--keyset', clear], { env: { SSS_KEYSET_INSECURE_CLEARTEXT: on } });
      expect(run.code, `${on}: ${run.stderr}`).toBe(0);
    }
    // The same variable reaches the CLI through SSS_KEYSET as well as through --keyset.
    expect((await cli(['keys', 'list'], { env: { SSS_KEYSET: clear, SSS_KEYSET_INSECURE_CLEARTEXT: 'yes' } })).code).toBe(0);
    const off = await cli(['keys', 'list', '--keyset', clear], { env: { SSS_KEYSET_INSECURE_CLEARTEXT: 'off' } });
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/CLEARTEXT keyset: pass --insecure-cleartext/);
    const bad = await cli(['keys', 'list', '--keyset', clear, '--json'], { env: { SSS_KEYSET_INSECURE_CLEARTEXT: 'maybe' } });
    expect(bad.code).toBe(2);
    expect(json(bad)).toMatchObject({ ok: false, error: { code: 'invalid_input', field: 'SSS_KEYSET_INSECURE_CLEARTEXT' } });
  });

  it('integer options share one rule: a usage error naming the option', async () => {
    const bad = await cli(['usage', '--pglite', join(dir, 'never'), '--connect-timeout', '30s', '--keyset', join(dir, 'flag.json'), '--insecure-cleartext']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--connect-timeout must be an integer in 1\.\.600000, got "30s"/);
    const rekey = await cli(['rekey', '--batch-size', '0', '--keyset', join(dir, 'flag.json'), '--insecure-cleartext']);
    expect(rekey.code).toBe(2);
    expect(rekey.stderr).toMatch(/--batch-size must be an integer in 1\.\.1000, got 0/);
  });
});

describe('rotate, promote, retire, destroy', () => {
  it('walks a key through its life, under the keyset lock, never printing material', async () => {
    const path = join(dir, 'life.json');
    const k = ['--keyset', path, '--insecure-cleartext'];
    expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
    const before = json(await cli(['keys', 'list', ...k, '--json'])).keys as Array<{ kid: string; purpose: string; status: string }>;
    const oldSign = before.find((x) => x.purpose === 'sign')!.kid;

    const rot = await cli(['keys', 'rotate', 'sign', ...k, '--json']);
    expect(rot.code, rot.stderr).toBe(0);
    const newSign = json(rot).kid as string;
    expect(json(rot)).toMatchObject({ purpose: 'sign', status: 'primary', previous: oldSign });

    // A sign key may not retire before demotedAt + the longest session lifetime...
    const early = await cli(['keys', 'retire', oldSign, ...k]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/may still be needed/);
    // ...and the primary never.
    const primary = await cli(['keys', 'retire', newSign, ...k]);
    expect(primary.code).toBe(1);
    expect(primary.stderr).toMatch(/primary/);
    // Destroy needs a retired key.
    const live = await cli(['keys', 'destroy', oldSign, ...k]);
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/retire it before destroying/);

    // Promote the old one back, then forward again.
    expect((await cli(['keys', 'promote', oldSign, ...k])).code).toBe(0);
    expect((await cli(['keys', 'promote', newSign, ...k])).code).toBe(0);

    const forced = await cli(['keys', 'retire', oldSign, '--force', ...k, '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ kid: oldSign, status: 'retired', forced: true });
    // Retired is reversible until destroyed: `keys reactivate` (the messages point to it).
    expect(json(forced)).toMatchObject({ status: 'retired' });
    expect((await cli(['keys', 'retire', oldSign, '--force', ...k])).stdout).toMatch(/reactivated/);
    const back = await cli(['keys', 'reactivate', oldSign, ...k, '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(json(back)).toMatchObject({ kid: oldSign, purpose: 'sign', status: 'active' });
    expect((await cli(['keys', 'reactivate', 'nope', ...k])).stderr).toMatch(/no key nope/);
    expect((await cli(['keys', 'retire', oldSign, '--force', ...k])).code).toBe(0);
    expect((await cli(['keys', 'destroy', oldSign, ...k])).code).toBe(0);
    const gone = await cli(['keys', 'reactivate', oldSign, ...k]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/only a retired key can be reactivated/);

    const after = json(await cli(['keys', 'list', ...k, '--json'])).keys as Array<{ kid: string; status: string }>;
    expect(after.find((x) => x.kid === oldSign)?.status).toBe('destroyed');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { keys: Array<{ kid: string; k?: string }> };
    expect(file.keys.find((x) => x.kid === oldSign)?.k).toBeUndefined();
    expect(statSync(path).mode & 0o777).toBe(0o600);

    // --add-only: the fleet's first step.
    const add = await cli(['keys', 'rotate', 'hash', '--add-only', ...k, '--json']);
    expect(json(add).status).toBe('active');

    const unknown = await cli(['keys', 'promote', 'nope', ...k]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no key nope/);
  });

  it('retiring an encrypt key without a store to count its sessions is a usage error unless forced', async () => {
    const path = join(dir, 'enc.json');
    const k = ['--keyset', path, '--insecure-cleartext'];
    expect((await cli(['keys', 'generate', ...k])).code).toBe(0);
    const old = json(await cli(['keys', 'list', ...k, '--json'])).keys.find((x: { purpose: string }) => x.purpose === 'encrypt').kid as string;
    expect((await cli(['keys', 'rotate', 'encrypt', ...k])).code).toBe(0);
    const run = await cli(['keys', 'retire', old, ...k]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no store is configured/);
    expect((await cli(['keys', 'retire', old, '--force', ...k])).code).toBe(0);
  });
});
