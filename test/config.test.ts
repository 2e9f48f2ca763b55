/**
 * `sealed-session-store/config`: environment parsing, validation errors that name their field, and
 * `createSessionStore` over each adapter — a second store built from the same configuration (what
 * the CLI does) reads what the first wrote, and `close()` ends the clients the factory created.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring, isSessionStoreError } from 'sealed-session-store';
import {
  ConfigError,
  type SessionStoreConfig,
  createSessionStore,
  loadConfigFromEnv,
  validateConfig,
} from 'sealed-session-store/config';
import { defaultRedisPrefix } from '../src/config/types.js';
import { redactUrl } from '../src/config/validate.js';
import { deletePrefix } from './support/fixtures/redis.js';
import { DATABASE_URL, REDIS_URL, serviceSkipReason, uniqueSuffix } from './support/services.js';

const owner = { subject: 'alice' };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(isSessionStoreError(err, 'invalid_input')).toBe(true);
    return (err as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}

async function fieldOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfigFromEnv', () => {
  it('defaults to the memory adapter with nothing set', () => {
    expect(loadConfigFromEnv({})).toEqual({ adapter: 'memory' });
  });

  it('reads every variable', () => {
    const config = loadConfigFromEnv({
      SSS_ADAPTER: 'redis',
      REDIS_URL: 'redis://cache:6379',
      SSS_PREFIX: 'app:',
      SSS_NAMESPACE: 'prod',
      SSS_TTL_MS: '60000',
      SSS_ABSOLUTE_TTL_MS: '3600000',
      SSS_CONNECT_TIMEOUT_MS: '500',
      SSS_KEYSET: 'keys/app.json',
      SSS_KEYSET_PASSPHRASE: 'a long passphrase',
    });
    expect(config).toEqual({
      adapter: 'redis',
      url: 'redis://cache:6379',
      prefix: 'app:',
      namespace: 'prod',
      ttlMs: 60000,
      absoluteTtlMs: 3600000,
      connectTimeoutMs: 500,
      keyset: { path: 'keys/app.json', passphrase: 'a long passphrase' },
    });
  });

  it('infers the adapter from SSS_URL or SSS_PGLITE_DIR (a lone REDIS_URL / DATABASE_URL: test/config-rules.test.ts)', () => {
    expect(loadConfigFromEnv({ SSS_URL: 'postgresql://db/app' })).toMatchObject({ adapter: 'postgres', url: 'postgresql://db/app' });
    expect(loadConfigFromEnv({ SSS_URL: 'rediss://cache' }).adapter).toBe('redis');
    expect(loadConfigFromEnv({ SSS_PGLITE_DIR: '/var/lib/app' })).toEqual({ adapter: 'pglite', dataDir: '/var/lib/app' });
    expect(loadConfigFromEnv({ SSS_URL: 'redis://x', DATABASE_URL: 'postgres://y' }).adapter).toBe('redis');
    expect(loadConfigFromEnv({ SSS_ADAPTER: 'postgres', DATABASE_URL: 'postgres://y/z', SSS_TABLE: 'app.sessions', SSS_MIGRATE: '1' })).toEqual({
      adapter: 'postgres',
      url: 'postgres://y/z',
      table: 'app.sessions',
      migrate: true,
    });
    expect(loadConfigFromEnv({ SSS_KEYSET_JSON: '{"keys":[]}', SSS_KEYSET_INSECURE_CLEARTEXT: '1' }).keyset).toEqual({ json: '{"keys":[]}', insecureCleartext: true });
  });

  it('names the variable at fault', () => {
    expect(fieldOf(() => loadConfigFromEnv({ SSS_ADAPTER: 'mongo' }))).toBe('SSS_ADAPTER');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_ADAPTER: 'redis' }))).toBe('SSS_URL');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_ADAPTER: 'pglite' }))).toBe('SSS_PGLITE_DIR');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_URL: 'mysql://db' }))).toBe('SSS_URL');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_TTL_MS: '30m' }))).toBe('SSS_TTL_MS');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_MIGRATE: 'maybe' }))).toBe('SSS_MIGRATE');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_KEYSET: 'a', SSS_KEYSET_JSON: '{}' }))).toBe('SSS_KEYSET');
    // Out of bounds is the variable's fault too, not the config key's.
    expect(fieldOf(() => loadConfigFromEnv({ SSS_TTL_MS: '0' }))).toBe('SSS_TTL_MS');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_CONNECT_TIMEOUT_MS: '9999999' }))).toBe('SSS_CONNECT_TIMEOUT_MS');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_KEYSET: 'k.json', SSS_KEYSET_INSECURE_CLEARTEXT: 'maybe' }))).toBe('SSS_KEYSET_INSECURE_CLEARTEXT');
  });

  it('refuses an adapter option set for another adapter, naming the variable', () => {
    expect(fieldOf(() => loadConfigFromEnv({ SSS_URL: 'postgres://db/app', SSS_PREFIX: 'app:' }))).toBe('SSS_PREFIX');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_URL: 'redis://cache', SSS_TABLE: 'sessions' }))).toBe('SSS_TABLE');
    expect(fieldOf(() => loadConfigFromEnv({ SSS_MIGRATE: '1' }))).toBe('SSS_MIGRATE');
  });

  it('reads on/off variables one way: 1|true|yes|on and 0|false|no|off, any case', () => {
    for (const on of ['1', 'true', 'YES', 'on']) expect(loadConfigFromEnv({ SSS_KEYSET: 'k', SSS_KEYSET_INSECURE_CLEARTEXT: on }).keyset).toEqual({ path: 'k', insecureCleartext: true });
    for (const off of ['0', 'false', 'No', 'off', '']) expect(loadConfigFromEnv({ SSS_KEYSET: 'k', SSS_KEYSET_INSECURE_CLEARTEXT: off }).keyset).toEqual({ path: 'k' });
    expect(loadConfigFromEnv({ SSS_PGLITE_DIR: '/d', SSS_MIGRATE: 'off' })).toEqual({ adapter: 'pglite', dataDir: '/d', migrate: false });
  });
});

describe('validateConfig', () => {
  const keyring = Keyring.generate();
  const ok: SessionStoreConfig = { adapter: 'redis', url: 'redis://127.0.0.1:6379', keyset: { keyring } };
  it('accepts a complete configuration', () => {
    expect(() => validateConfig(ok)).not.toThrow();
    expect(() => validateConfig({ adapter: 'memory' })).not.toThrow();
  });
  // What a JavaScript caller (or a value read at run time) can pass: most of these do not type-check.
  it.each<[string, unknown]>([
    ['adapter', { ...ok, adapter: 'sqlite' as never }],
    ['url', { ...ok, url: 'http://127.0.0.1:6379' }],
    ['url', { ...ok, url: 'not a url' }],
    ['url', { adapter: 'postgres', keyset: { keyring } }],
    ['url', { adapter: 'memory', url: 'redis://x' }],
    ['dataDir', { adapter: 'pglite', keyset: { keyring } }],
    ['prefix', { adapter: 'memory', prefix: 'x:' }],
    ['table', { ...ok, table: 'sessions' }],
    ['namespace', { ...ok, namespace: 'has space' }],
    ['ttlMs', { ...ok, ttlMs: 0 }],
    ['absoluteTtlMs', { ...ok, absoluteTtlMs: 1.5 }],
    ['connectTimeoutMs', { ...ok, connectTimeoutMs: -1 }],
    ['keyset', { adapter: 'redis', url: 'redis://x' }],
    ['keyset', { ...ok, keyset: { keyring, path: 'k.json' } }],
    ['keyset.passphrase', { ...ok, keyset: { path: 'k.json' } }],
    ['keyset.passphrase', { ...ok, keyset: { path: 'k.json', passphrase: 'short' } }],
    ['migrate', { ...ok, migrate: true }],
    ['pgPool', { ...ok, pgPool: {} }],
    ['redisClient', { adapter: 'memory', redisClient: {} }],
    ['dataDir', { adapter: 'memory', dataDir: '/tmp/x' }],
    ['sweepIntervalMs', { adapter: 'memory', sweepIntervalMs: '1000' }],
    ['config', null],
  ])('refuses a bad %s', (field, config) => {
    expect(fieldOf(() => validateConfig(config))).toBe(field);
  });
  it('the union type refuses an option on an adapter that does not use it', () => {
    const configs: SessionStoreConfig[] = [
      // @ts-expect-error prefix is a redis option
      { adapter: 'postgres', url: 'postgres://h/db', prefix: 'x:' },
      // @ts-expect-error dataDir is a pglite option
      { adapter: 'redis', url: 'redis://h', dataDir: '/d' },
      // @ts-expect-error table and migrate are SQL options
      { adapter: 'memory', table: 't', migrate: true },
      // @ts-expect-error the redis adapter needs its URL
      { adapter: 'redis' },
    ];
    for (const config of configs) expect(() => validateConfig(config)).toThrow(ConfigError);
  });
  it('ConfigError is invalid_input, with the field at fault', () => {
    const err = new ConfigError('ttlMs', 'must be positive');
    expect(err).toMatchObject({ code: 'invalid_input', field: 'ttlMs', message: 'ttlMs: must be positive', name: 'ConfigError' });
    expect(isSessionStoreError(err, 'invalid_input')).toBe(true);
  });
  it('createSessionStore validates before connecting anywhere', async () => {
    expect(await fieldOfAsync(createSessionStore({ adapter: 'redis', url: 'redis://127.0.0.1:1' }))).toBe('keyset');
  });
  it('redacts passwords from URLs in messages', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });
});

describe('memory adapter and keyset files', () => {
  it('works with nothing configured (an ephemeral keyring) and honours ttlMs with the injected clock', async () => {
    let now = 1_700_000_000_000;
    const created = await createSessionStore({ adapter: 'memory', ttlMs: 60_000, now: () => now });
    try {
      const id = await created.store.for(owner).create({ a: 1 });
      expect(await created.store.for(owner).load(id)).toEqual({ a: 1 });
      now += 60_001;
      await expect(created.store.for(owner).load(id)).rejects.toMatchObject({ code: 'expired' });
    } finally {
      await created.close();
      await created.close(); // idempotent
    }
  });

  it('loads a keyset file (createIfMissing) and reports a missing one clearly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sss-config-'));
    try {
      const path = join(dir, 'k.json');
      await expect(createSessionStore({ adapter: 'memory', keyset: { path, insecureCleartext: true } })).rejects.toMatchObject({ code: 'key_state', message: expect.stringMatching(/does not exist/) });
      const a = await createSessionStore({ adapter: 'memory', keyset: { path, insecureCleartext: true, createIfMissing: true } });
      const b = await createSessionStore({ adapter: 'memory', keyset: { path, insecureCleartext: true } });
      expect(b.keyring.list()).toEqual(a.keyring.list());
      expect(a.keyring.persistent).toBe(true);
      await Promise.all([a.close(), b.close()]);
      const json = JSON.stringify(a.keyring.insecureExportCleartextJwks());
      const c = await createSessionStore({ adapter: 'memory', keyset: { json, insecureCleartext: true } });
      expect(c.keyring.list()).toEqual(a.keyring.list());
      await c.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('redis adapter', async () => {
  const skip = await serviceSkipReason('redis');
  const namespace = `cfgtest-${uniqueSuffix()}`;
  afterAll(async () => {
    if (skip !== undefined) return;
    const c = new Redis(REDIS_URL);
    await deletePrefix(c, defaultRedisPrefix(namespace));
    c.disconnect();
  });

  it.skipIf(skip !== undefined)('a second store from the same env reads what the first wrote, under sss:<namespace>:', async () => {
    const keyring = Keyring.generate();
    const env = { SSS_ADAPTER: 'redis', REDIS_URL, SSS_NAMESPACE: namespace };
    const app = await createSessionStore({ ...loadConfigFromEnv(env), keyset: { keyring } });
    const tool = await createSessionStore({ ...loadConfigFromEnv(env), keyset: { keyring } });
    try {
      const id = await app.store.for(owner).create({ hello: 'world' });
      expect(await tool.store.for(owner).load(id)).toEqual({ hello: 'world' });
      const raw = new Redis(REDIS_URL);
      expect(await raw.exists(`sss:${namespace}:${id}`)).toBe(1);
      raw.disconnect();
      expect(await tool.store.keyUsage()).toEqual({ [keyring.primary('encrypt').kid]: 1 });
    } finally {
      await app.close();
      await tool.close();
    }
    // close() quit the client the factory created.
    await expect(app.backend.loadRecord('x')).rejects.toBeDefined();
  });

  it.skipIf(skip !== undefined)('an injected client is used and left open', async () => {
    const client = new Redis(REDIS_URL);
    const created = await createSessionStore({ adapter: 'redis', url: REDIS_URL, namespace, redisClient: client, keyset: { keyring: Keyring.generate() } });
    await created.store.for(owner).create({ a: 1 });
    await created.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('an unreachable server is backend_unavailable within the connect timeout', async () => {
    const started = Date.now();
    await expect(createSessionStore({ adapter: 'redis', url: 'redis://127.0.0.1:1', connectTimeoutMs: 1000, keyset: { keyring: Keyring.generate() } })).rejects.toMatchObject({
      code: 'backend_unavailable',
      message: expect.stringMatching(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/),
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('postgres adapter', async () => {
  const skip = await serviceSkipReason('postgres');
  const schema = `sss_cfg_${uniqueSuffix()}`;
  let admin: pg.Pool | undefined;
  afterAll(async () => {
    if (admin === undefined) return;
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it.skipIf(skip !== undefined)('migrates when asked, and a second store on the same table reads what the first wrote', async () => {
    admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const keyring = Keyring.generate();
    const config: SessionStoreConfig = { adapter: 'postgres', url: DATABASE_URL, table: `${schema}.sessions`, keyset: { keyring } };
    // Without migrate the table is not created: the first operation says so.
    const bare = await createSessionStore(config);
    await expect(bare.store.for(owner).create({ a: 1 })).rejects.toMatchObject({ code: 'backend_unavailable', message: expect.stringMatching(/does not exist/) });
    await bare.close();
    const app = await createSessionStore({ ...config, migrate: true });
    const tool = await createSessionStore(config);
    try {
      const id = await app.store.for(owner).create({ a: 1 });
      expect(await tool.store.for(owner).load(id)).toEqual({ a: 1 });
      // One session; the other row is the namespace registry's record (a reserved ~ns. id, src/admin/namespaces.ts).
      const rows = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".sessions WHERE id NOT LIKE '~ns.%'`);
      expect(rows.rows[0].n).toBe(1);
      const registry = await admin.query(`SELECT value_json FROM "${schema}".sessions WHERE id LIKE '~ns.%'`);
      expect(registry.rows.map((r: { value_json: unknown }) => r.value_json)).toEqual([expect.objectContaining({ kind: 'sessions', namespace: 'default', table: `${schema}.sessions` })]);
    } finally {
      await app.close();
      await tool.close();
    }
  });

  it('an unreachable server is backend_unavailable, with the password redacted', async () => {
    await expect(
      createSessionStore({ adapter: 'postgres', url: 'postgres://u:hunter22@127.0.0.1:1/x', connectTimeoutMs: 1000, keyset: { keyring: Keyring.generate() } }),
    ).rejects.toMatchObject({ code: 'backend_unavailable', message: expect.not.stringContaining('hunter22') });
  });
});

describe('pglite adapter', () => {
  it('persists across reopen, migrates by default, and refuses a second opener of the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sss-config-pglite-'));
    const keyring = Keyring.generate();
    const config: SessionStoreConfig = { adapter: 'pglite', dataDir: dir, keyset: { keyring } };
    try {
      const first = await createSessionStore(config);
      const id = await first.store.for(owner).create({ kept: true });
      await expect(createSessionStore(config)).rejects.toMatchObject({ code: 'backend_unavailable', message: expect.stringMatching(/locked/) });
      await first.close();
      const again = await createSessionStore(config);
      expect(await again.store.for(owner).load(id)).toEqual({ kept: true });
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
