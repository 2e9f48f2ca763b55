/**
 * What needs no KMS: the `SSS_KEYSET_KMS_*` variables and `keyset.kms` checks, the protection a
 * configuration builds (KMS writes, the passphrase still opens during a move), and
 * `alsoOpenWith`: a keyset opens with any configured provider of its name and is written with
 * `provider` only.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFromEnv, validateConfig } from '../../src/config/index.js';
import { keysetProtection } from '../../src/config/keyset-kms.js';
import { Keyring, passphraseProvider } from '../../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sss-kms-config-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('keyset.kms configuration', () => {
  it('reads SSS_KEYSET_KMS_* into keyset.kms', () => {
    const config = loadConfigFromEnv({
      SSS_KEYSET: 'k.json',
      SSS_KEYSET_KMS_KEY_ID: 'alias/sessions',
      SSS_KEYSET_KMS_REGION: 'eu-west-1',
      SSS_KEYSET_KMS_ENDPOINT: 'https://kms.eu-west-1.amazonaws.com',
      SSS_KEYSET_KMS_DECRYPT_KEY_IDS: 'alias/old, 1234abcd',
    });
    expect(config.keyset?.kms).toEqual({ keyId: 'alias/sessions', region: 'eu-west-1', endpoint: 'https://kms.eu-west-1.amazonaws.com', decryptKeyIds: ['alias/old', '1234abcd'] });
    expect(() => validateConfig(config)).not.toThrow();
  });

  it('refuses a region or endpoint without a key id, naming the variable', () => {
    expect(() => loadConfigFromEnv({ SSS_KEYSET: 'k.json', SSS_KEYSET_PASSPHRASE: 'long enough', SSS_KEYSET_KMS_REGION: 'eu-west-1' })).toThrow(/SSS_KEYSET_KMS_REGION/);
  });

  it('checks keyset.kms field by field', () => {
    const base = { adapter: 'memory', keyset: { path: 'k.json' } } as const;
    expect(() => validateConfig({ ...base, keyset: { path: 'k.json', kms: { keyId: '' } } })).toThrow(/keyset\.kms\.keyId/);
    expect(() => validateConfig({ ...base, keyset: { path: 'k.json', kms: { keyId: 'k', endpoint: 'not a url' } } })).toThrow(/keyset\.kms\.endpoint/);
    expect(() => validateConfig({ ...base, keyset: { path: 'k.json', kms: { keyId: 'k', decryptKeyIds: [''] } } })).toThrow(/decryptKeyIds/);
    expect(() => validateConfig({ ...base, keyset: { path: 'k.json', kms: 'k' } })).toThrow(/keyset\.kms/);
    // A KMS key alone is enough protection (no passphrase needed).
    expect(() => validateConfig({ ...base, keyset: { path: 'k.json', kms: { keyId: 'alias/x' } } })).not.toThrow();
  });

  it('with both a passphrase and kms: KMS writes, the passphrase still opens', () => {
    const p = keysetProtection({ path: 'k.json', passphrase: 'long enough passphrase', kms: { keyId: 'alias/x', region: 'eu-west-1' } });
    expect(p.provider?.name).toBe('aws-kms');
    expect(p.alsoOpenWith?.map((x) => x.name)).toEqual(['passphrase-scrypt']);
    expect(keysetProtection({ path: 'k.json', kms: { keyId: 'alias/x' } }).alsoOpenWith).toBeUndefined();
    expect(keysetProtection({ path: 'k.json', insecureCleartext: true })).toEqual({ insecureCleartext: true });
  });
});

describe('alsoOpenWith', () => {
  const low = { logN: 10, unsafeLowCost: true } as const;

  it('opens with any configured provider of the file\'s name, writes with `provider` only', async () => {
    const path = join(dir, 'move.json');
    const oldP = passphraseProvider('the old passphrase', low);
    const newP = passphraseProvider('the new passphrase', low);
    const ring = await Keyring.fromFile(path, { provider: oldP, createIfMissing: true });
    // Without the old provider, the new one alone does not open it.
    await expect(Keyring.fromFile(path, { provider: newP })).rejects.toMatchObject({ code: 'integrity' });
    const moving = await Keyring.fromFile(path, { provider: newP, alsoOpenWith: [oldP] });
    expect(moving.list()).toEqual(ring.list());
    await moving.transaction(() => undefined);
    // Now under the new passphrase: the old one alone refuses, the new one alone opens.
    await expect(Keyring.fromFile(path, { provider: oldP })).rejects.toMatchObject({ code: 'integrity' });
    expect((await Keyring.fromFile(path, { provider: newP })).list()).toEqual(ring.list());
    expect(JSON.parse(await readFile(path, 'utf8')).provider).toBe('passphrase-scrypt');
  });

  it('names every configured provider when none is of the file\'s name, and checks its entries', async () => {
    const path = join(dir, 'named.json');
    await Keyring.fromFile(path, { provider: passphraseProvider('a passphrase here', low), createIfMissing: true });
    const other = { name: 'aws-kms', wrap: async () => ({}), unwrap: async () => new Uint8Array() };
    await expect(Keyring.fromFile(path, { provider: other })).rejects.toThrow(/wrapped by provider "passphrase-scrypt", not "aws-kms"/);
    await expect(Keyring.fromFile(path, { provider: other, alsoOpenWith: [{ ...other, name: 'vault-transit' }] })).rejects.toThrow(/not "aws-kms" or "vault-transit"/);
    await expect(Keyring.fromFile(path, { provider: other, alsoOpenWith: [{} as never] })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
