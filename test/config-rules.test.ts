/**
 * Configuration that cannot silently pick the wrong store (issue 16, item 7), one test per rule:
 * a lone server URL selects its adapter, two are refused, unknown keys and variables are named
 * with the closest valid one, and the errors of the API are as clear as the CLI's (wrong
 * passphrase, missing keyset file, missing database or schema).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Keyring, isSessionStoreError, passphraseProvider } from 'sealed-session-store';
import { ConfigError, createSessionStore, loadConfigFromEnv, validateConfig } from 'sealed-session-store/config';
import { PostgresStore } from 'sealed-session-store/postgres';
import { CONFIG_KEYS, ENV_VARIABLES, KEYSET_KEYS, TEST_VARIABLE_PREFIX } from '../src/config/known.js';
import { cli } from './cli/helpers.js';
import { DATABASE_URL, serviceSkipReason, uniqueSuffix } from './support/services.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(isSessionStoreError(err, 'invalid_input')).toBe(true);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const PASS = 'correct horse battery staple';

describe('which store', () => {
  it('a lone REDIS_URL selects redis, a lone DATABASE_URL postgres, even with a persistent keyset', () => {
    const keyset = { SSS_KEYSET: 'k.json', SSS_KEYSET_PASSPHRASE: PASS };
    expect(loadConfigFromEnv({ REDIS_URL: 'redis://cache:6379', ...keyset })).toMatchObject({ adapter: 'redis', url: 'redis://cache:6379' });
    expect(loadConfigFromEnv({ DATABASE_URL: 'postgres://db/app', ...keyset })).toMatchObject({ adapter: 'postgres', url: 'postgres://db/app' });
    // Blank is unset, and nothing at all is still memory.
    expect(loadConfigFromEnv({ REDIS_URL: ' ', DATABASE_URL: '' }).adapter).toBe('memory');
  });

  it('both REDIS_URL and DATABASE_URL without SSS_ADAPTER are refused, naming SSS_ADAPTER', () => {
    const both = { REDIS_URL: 'redis://cache', DATABASE_URL: 'postgres://db/app' };
    const err = configError(() => loadConfigFromEnv(both));
    expect(err.field).toBe('SSS_ADAPTER');
    expect(err.message).toMatch(/REDIS_URL and DATABASE_URL.*SSS_ADAPTER=redis or SSS_ADAPTER=postgres/);
    expect(loadConfigFromEnv({ ...both, SSS_ADAPTER: 'postgres' })).toMatchObject({ adapter: 'postgres', url: 'postgres://db/app' });
    expect(loadConfigFromEnv({ ...both, SSS_URL: 'redis://other' })).toMatchObject({ adapter: 'redis', url: 'redis://other' });
    expect(loadConfigFromEnv({ ...both, SSS_PGLITE_DIR: '/d' }).adapter).toBe('pglite');
  });
});

describe('unknown names', () => {
  it('an unknown configuration key is invalid_input naming the closest valid key', () => {
    const keyring = Keyring.generate();
    const top = configError(() => validateConfig({ adapter: 'memory', sweepIntervalMS: 1000 }));
    expect(top.field).toBe('sweepIntervalMS');
    expect(top.message).toMatch(/did you mean sweepIntervalMs\?/);
    const nested = configError(() => validateConfig({ adapter: 'memory', keyset: { keyring, pasphrase: PASS } }));
    expect(nested.field).toBe('keyset.pasphrase');
    expect(nested.message).toMatch(/did you mean keyset\.passphrase\?/);
    expect(configError(() => validateConfig({ adapter: 'redis', url: 'redis://x', keyset: { keyring }, prefx: 'a:' })).message).toMatch(/did you mean prefix/);
    // createSessionStore refuses before connecting or creating anything.
    return expect(createSessionStore({ adapter: 'memory', ttl: 5 } as never)).rejects.toMatchObject({ code: 'invalid_input', field: 'ttl', message: expect.stringMatching(/did you mean ttlMs/) });
  });

  it('an unknown SSS_* variable is one warning through onError, naming the closest variable; the configuration still loads', () => {
    const warnings: unknown[] = [];
    const config = loadConfigFromEnv({ SSS_TTL: '60000', SSS_NAMESPACE: 'app', SSS_TEST_LONG: '1', SSS_TEST_ANYTHING: 'x', OTHER: '1' }, { onError: (e) => warnings.push(e) });
    expect(config).toMatchObject({ adapter: 'memory', namespace: 'app' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBeInstanceOf(ConfigError);
    expect((warnings[0] as ConfigError).field).toBe('SSS_TTL');
    expect((warnings[0] as ConfigError).message).toMatch(/did you mean SSS_TTL_MS\?/);
    // The same sink is the store's onError (background failures).
    expect(config.onError).toBeTypeOf('function');
  });

  it('without onError the warning goes to process.emitWarning, once per variable', () => {
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      loadConfigFromEnv({ SSS_NAMESPCE: 'app', SSS_SLIDNG: '1' });
      expect(spy).toHaveBeenCalledTimes(2);
      expect(String(spy.mock.calls[0]![0])).toMatch(/SSS_NAMESPCE.*did you mean SSS_NAMESPACE/);
    } finally {
      spy.mockRestore();
    }
  });

  it('under SSS_STRICT=1 an unknown SSS_* variable is an error', () => {
    const onError = vi.fn();
    const err = configError(() => loadConfigFromEnv({ SSS_STRICT: '1', SSS_KEYSET_PASSPRASE: PASS }, { onError }));
    expect(err.field).toBe('SSS_KEYSET_PASSPRASE');
    expect(err.message).toMatch(/did you mean SSS_KEYSET_PASSPHRASE/);
    expect(onError).not.toHaveBeenCalled();
    // SSS_TEST_* stays ignored, strict or not; SSS_STRICT itself takes 1/0 like every flag.
    expect(loadConfigFromEnv({ SSS_STRICT: '1', SSS_TEST_FC_SEED: '1' }).adapter).toBe('memory');
    expect(configError(() => loadConfigFromEnv({ SSS_STRICT: 'maybe' })).field).toBe('SSS_STRICT');
  });

  it('names registered ahead of their code (keyset following, store-held and KMS keysets) draw no warning', () => {
    const onError = vi.fn();
    const env = { SSS_STRICT: '1', SSS_KEYSET_FOLLOW: '1', SSS_KEYSET_FOLLOW_INTERVAL_MS: '1000', SSS_KEYSET_STORE: '1', SSS_KEYSET_KMS_KEY_ID: 'k', SSS_KEYSET_KMS_REGION: 'r', SSS_KEYSET_KMS_ENDPOINT: 'http://x' };
    loadConfigFromEnv(env, { onError });
    expect(onError).not.toHaveBeenCalled();
    for (const key of ['follow', 'store', 'kms']) expect(KEYSET_KEYS).toContain(key);
  });
});

describe('the CLI, same rules', () => {
  it('warns about an unknown SSS_* variable on stderr (an error under SSS_STRICT=1); key commands ignore server URLs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sss-rules-cli-'));
    try {
      const path = join(dir, 'k.json');
      await Keyring.fromFile(path, { insecureCleartext: true, createIfMissing: true });
      const env = { SSS_KEYSET: path, SSS_KEYSET_INSECURE_CLEARTEXT: '1', SSS_NAMESPCE: 'app', REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://127.0.0.1:1/x' };
      const run = await cli(['keys', 'list'], { env });
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/warning: SSS_NAMESPCE: .*did you mean SSS_NAMESPACE\?/);
      const strict = await cli(['keys', 'list'], { env: { ...env, SSS_STRICT: '1' } });
      expect(strict.code).not.toBe(0);
      expect(strict.stderr).toMatch(/SSS_NAMESPCE/);
      // A store command with both URLs and no SSS_ADAPTER is refused, naming SSS_ADAPTER.
      const both = await cli(['usage'], { env: { SSS_KEYSET: path, SSS_KEYSET_INSECURE_CLEARTEXT: '1', REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://127.0.0.1:1/x' } });
      expect(both.code).not.toBe(0);
      expect(both.stderr).toMatch(/SSS_ADAPTER/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('variables for every common option', () => {
  it('SSS_SLIDING and SSS_SWEEP_INTERVAL_MS set sliding renewal and the sweep', () => {
    expect(loadConfigFromEnv({ SSS_SLIDING: 'yes', SSS_SWEEP_INTERVAL_MS: '60000' })).toEqual({ adapter: 'memory', sliding: true, sweepIntervalMs: 60000 });
    expect(loadConfigFromEnv({ SSS_SLIDING: '0' }).sliding).toBe(false);
    expect(configError(() => loadConfigFromEnv({ SSS_SLIDING: 'sometimes' })).field).toBe('SSS_SLIDING');
    expect(configError(() => loadConfigFromEnv({ SSS_SWEEP_INTERVAL_MS: '0' })).field).toBe('SSS_SWEEP_INTERVAL_MS');
  });

  it('onError receives a failed background sweep', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const errors: unknown[] = [];
    try {
      const created = await createSessionStore({ adapter: 'memory', sweepIntervalMs: 1000, onError: (e) => errors.push(e) });
      await created.backend.close(); // every sweep now fails: the backend is closed under the store
      await vi.advanceTimersByTimeAsync(1000);
      expect(errors).toHaveLength(1);
      expect(isSessionStoreError(errors[0], 'backend_unavailable')).toBe(true);
      await created.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('docs/configuration.md lists every variable and every configuration key of the table, and no other SSS_ variable', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    for (const name of Object.keys(ENV_VARIABLES)) expect(doc, name).toContain(`\`${name}\``);
    for (const key of [...CONFIG_KEYS, ...KEYSET_KEYS.map((k) => `keyset.${k}`)]) expect(doc, key).toContain(`\`${key}\``);
    const documented = new Set(doc.match(/\bSSS_[A-Z0-9_]*[A-Z0-9]\b/g));
    for (const name of documented) if (!name.startsWith(TEST_VARIABLE_PREFIX)) expect(Object.keys(ENV_VARIABLES), name).toContain(name);
  });
});

describe('errors as clear as the CLI', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'sss-rules-'));
    dirs.push(d);
    return d;
  };

  it('a wrong passphrase says so and names the file (Keyring.fromFile and createSessionStore), still code integrity', async () => {
    const path = join(await tempDir(), 'k.json');
    await Keyring.fromFile(path, { provider: passphraseProvider(PASS, { logN: 15 }), createIfMissing: true });
    const wrong = 'not the passphrase at all';
    const expected = { code: 'integrity', message: expect.stringMatching(new RegExp(`cannot open keyset file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: wrong passphrase, or the file was damaged or tampered with`)) };
    await expect(Keyring.fromFile(path, { provider: passphraseProvider(wrong) })).rejects.toMatchObject(expected);
    await expect(createSessionStore({ adapter: 'memory', keyset: { path, passphrase: wrong } })).rejects.toMatchObject(expected);
  });

  it('passphraseProvider(undefined) and bad options are invalid_input, not a TypeError', () => {
    expect(() => passphraseProvider(undefined as never)).toThrow(expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(/SSS_KEYSET_PASSPHRASE/) }));
    expect(() => passphraseProvider(PASS, null as never)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('a missing keyset file says how to create it (Keyring.fromFile and createSessionStore)', async () => {
    const path = join(await tempDir(), 'absent.json');
    const howTo = expect.stringMatching(/does not exist.*sealed-session keys generate --keyset/);
    await expect(Keyring.fromFile(path, { insecureCleartext: true })).rejects.toMatchObject({ code: 'key_state', message: howTo });
    await expect(createSessionStore({ adapter: 'memory', keyset: { path, insecureCleartext: true } })).rejects.toMatchObject({ code: 'key_state', message: howTo });
    // A file that is there but empty is not "missing".
    const empty = join(await tempDir(), 'empty.json');
    await writeFile(empty, '');
    await expect(Keyring.fromFile(empty, { insecureCleartext: true })).rejects.toMatchObject({ code: 'key_state', message: expect.stringMatching(/not JSON/) });
  });

  describe('PostgreSQL', async () => {
    const skip = await serviceSkipReason('postgres');
    const keyset = { keyring: Keyring.generate() };
    let admin: pg.Pool | undefined;
    const schema = `sss_rules_${uniqueSuffix()}`;
    afterAll(async () => {
      await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin?.end();
    });

    it.skipIf(skip !== undefined)('"database does not exist" says to create it', async () => {
      const url = new URL(DATABASE_URL);
      url.pathname = `/sss_no_such_db_${uniqueSuffix()}`;
      await expect(createSessionStore({ adapter: 'postgres', url: url.toString(), keyset })).rejects.toMatchObject({
        code: 'backend_unavailable',
        message: expect.stringMatching(/database in the URL does not exist \(3D000\): create it \(`createdb NAME`/),
      });
      // The same advice from a store over your own pool (no connect check of ours in between).
      const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
      const store = new PostgresStore({ pool });
      try {
        await expect(store.loadRecord('s1')).rejects.toMatchObject({ code: 'backend_unavailable', message: expect.stringMatching(/database does not exist \(3D000\); create it/) });
      } finally {
        await store.close();
        await pool.end();
      }
    });

    it.skipIf(skip !== undefined)('"schema does not exist" says to create the schema, then migrate; a missing table says migrate: true / SSS_MIGRATE=1', async () => {
      const missingSchema = `sss_no_schema_${uniqueSuffix()}`;
      await expect(createSessionStore({ adapter: 'postgres', url: DATABASE_URL, table: `${missingSchema}.sessions`, migrate: true, keyset })).rejects.toMatchObject({
        code: 'backend_unavailable',
        message: expect.stringMatching(new RegExp(`schema ${missingSchema} does not exist: create it \\(CREATE SCHEMA ${missingSchema}\\)`)),
      });
      admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const bare = await createSessionStore({ adapter: 'postgres', url: DATABASE_URL, table: `${schema}.sessions`, keyset });
      try {
        await expect(bare.store.for({ subject: 'a' }).create({})).rejects.toMatchObject({ code: 'backend_unavailable', message: expect.stringMatching(/does not exist: .*migrate: true, or SSS_MIGRATE=1/) });
      } finally {
        await bare.close();
      }
    });
  });
});
