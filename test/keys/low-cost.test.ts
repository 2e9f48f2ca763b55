/**
 * A keyset wrapped below the documented minimum scrypt cost (logN 15) used to open silently under a
 * default provider. It is now refused with `key_state` (before any derivation) unless the caller
 * opts in - `unsafeLowCost` on the provider, `keyset.unsafeLowCost` / SSS_KEYSET_UNSAFE_LOW_COST in
 * the configuration, `--unsafe-low-cost` on the command line - and the message names the way out:
 * re-wrap at the current cost.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring, passphraseProvider } from 'sealed-session-store';
import { createSessionStore, loadConfigFromEnv } from 'sealed-session-store/config';
import { cli, cleanEnv } from '../cli/helpers.js';

const PASS = 'correct horse battery staple';
const aad = new TextEncoder().encode('keyset');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function lowCostFile(): Promise<{ path: string; ring: Keyring }> {
  const dir = mkdtempSync(join(tmpdir(), 'sss-lowcost-'));
  dirs.push(dir);
  const path = join(dir, 'k.json');
  const ring = await Keyring.fromFile(path, { provider: passphraseProvider(PASS, { logN: 10, unsafeLowCost: true }), createIfMissing: true });
  return { path, ring };
}

const logNOf = (path: string): number => (JSON.parse(readFileSync(path, 'utf8')) as { wrapped: { logN: number } }).wrapped.logN;

describe('keysets wrapped below the minimum scrypt cost', () => {
  it('the provider refuses them with key_state naming the re-wrap, unless it opts in', async () => {
    const blob = await passphraseProvider(PASS, { logN: 14, unsafeLowCost: true }).wrap(new Uint8Array([1, 2]), aad);
    const strict = passphraseProvider(PASS, { logN: 15 });
    const err = await strict.unwrap(blob, aad).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err?.code).toBe('key_state');
    expect(err?.message).toMatch(/logN 14, below the minimum of 15/);
    expect(err?.message).toMatch(/Re-wrap it at the current cost/);
    expect(err?.message).toMatch(/keys rewrap/);
    expect(Array.from(await passphraseProvider(PASS, { logN: 15, unsafeLowCost: true }).unwrap(blob, aad))).toEqual([1, 2]);
    // At the minimum itself it opens by default.
    const atMin = await passphraseProvider(PASS, { logN: 15 }).wrap(new Uint8Array([3]), aad);
    expect(Array.from(await strict.unwrap(atMin, aad))).toEqual([3]);
  });

  it('a keyring file: refused by default; opened with the opt-in, any transaction re-wraps it at the current cost', async () => {
    const { path, ring } = await lowCostFile();
    await expect(Keyring.fromFile(path, { provider: passphraseProvider(PASS, { logN: 15 }) })).rejects.toMatchObject({ code: 'key_state' });
    const optedIn = await Keyring.fromFile(path, { provider: passphraseProvider(PASS, { logN: 15, unsafeLowCost: true }) });
    await optedIn.transaction(() => undefined);
    expect(logNOf(path)).toBe(15);
    const reopened = await Keyring.fromFile(path, { provider: passphraseProvider(PASS, { logN: 15 }) });
    expect(reopened.list()).toEqual(ring.list());
  });

  it('createSessionStore: refused by default, opened with keyset.unsafeLowCost; SSS_KEYSET_UNSAFE_LOW_COST sets it', async () => {
    const { path, ring } = await lowCostFile();
    await expect(createSessionStore({ adapter: 'memory', keyset: { path, passphrase: PASS } })).rejects.toMatchObject({ code: 'key_state' });
    const created = await createSessionStore({ adapter: 'memory', keyset: { path, passphrase: PASS, unsafeLowCost: true } });
    expect(created.keyring.list()).toEqual(ring.list());
    await created.close();
    const fromEnv = loadConfigFromEnv({ SSS_ADAPTER: 'memory', SSS_KEYSET: path, SSS_KEYSET_PASSPHRASE: PASS, SSS_KEYSET_UNSAFE_LOW_COST: '1' });
    expect(fromEnv.keyset?.unsafeLowCost).toBe(true);
    expect(loadConfigFromEnv({ SSS_ADAPTER: 'memory', SSS_KEYSET: path, SSS_KEYSET_PASSPHRASE: PASS }).keyset?.unsafeLowCost).toBeUndefined();
    await expect(createSessionStore({ adapter: 'memory', keyset: { path, passphrase: PASS, unsafeLowCost: 'yes' as never } })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('the CLI refuses it, and `keys rewrap --unsafe-low-cost` re-wraps it at the current cost', async () => {
    const { path, ring } = await lowCostFile();
    const env = cleanEnv({ SSS_KEYSET_PASSPHRASE: PASS }) as Record<string, string>;
    const refused = await cli(['keys', 'list', '--keyset', path], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/below the minimum/);
    expect(refused.stderr).toMatch(/keys rewrap/);
    const rewrap = await cli(['keys', 'rewrap', '--keyset', path, '--unsafe-low-cost', '--json'], { env });
    expect(rewrap.code, rewrap.stderr).toBe(0);
    expect(logNOf(path)).toBe(17);
    const listed = await cli(['keys', 'list', '--keyset', path, '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).keys.map((k: { kid: string }) => k.kid).sort()).toEqual(ring.list().map((k) => k.kid).sort());
  }, 30_000);
});
