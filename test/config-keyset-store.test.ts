/**
 * `keyset.store` / SSS_KEYSET_STORE=1: the configuration of a keyset kept in the store. Parsing and
 * validation (each refusal a ConfigError naming the field), and createSessionStore on Redis: a
 * missing keyset is `key_state` saying how to create one, `createIfMissing` creates it, and a
 * second process opens the same keys.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSessionStore, loadConfigFromEnv, validateConfig } from 'sealed-session-store/config';
import { Redis } from 'ioredis';
import { deletePrefix } from './support/fixtures/redis.js';
import { REDIS_URL, serviceSkipReason, uniqueSuffix } from './support/services.js';

const PASS = 'config keyset-in-store passphrase';

describe('keyset.store configuration', () => {
  it('SSS_KEYSET_STORE=1 (with SSS_KEYSET_FOLLOW_INTERVAL_MS) reads as keyset.store', () => {
    const config = loadConfigFromEnv({ SSS_ADAPTER: 'redis', SSS_URL: 'redis://127.0.0.1:6379', SSS_KEYSET_STORE: '1', SSS_KEYSET_FOLLOW_INTERVAL_MS: '500', SSS_KEYSET_PASSPHRASE: PASS });
    expect(config.keyset).toMatchObject({ store: true, follow: { intervalMs: 500 }, passphrase: PASS });
  });

  it('refuses two keyset sources, a bad interval, and the memory adapter', () => {
    expect(() => loadConfigFromEnv({ SSS_KEYSET_STORE: '1', SSS_KEYSET: 'k.json' })).toThrowError(expect.objectContaining({ field: 'SSS_KEYSET' }));
    expect(() => loadConfigFromEnv({ SSS_KEYSET_STORE: '1', SSS_KEYSET_FOLLOW_INTERVAL_MS: '0' })).toThrowError(expect.objectContaining({ field: 'SSS_KEYSET_FOLLOW_INTERVAL_MS' }));
    expect(() => validateConfig({ adapter: 'memory', keyset: { store: true, passphrase: PASS } })).toThrowError(expect.objectContaining({ field: 'keyset.store' }));
    expect(() => validateConfig({ adapter: 'redis', url: REDIS_URL, keyset: { store: true, path: 'k.json', passphrase: PASS } })).toThrowError(expect.objectContaining({ field: 'keyset' }));
    expect(() => validateConfig({ adapter: 'redis', url: REDIS_URL, keyset: { json: '{}', passphrase: PASS, follow: { intervalMs: 100 } } })).toThrowError(
      expect.objectContaining({ field: 'keyset.follow' }),
    );
    expect(() => validateConfig({ adapter: 'redis', url: REDIS_URL, keyset: { store: true } })).toThrowError(expect.objectContaining({ field: 'keyset.passphrase' }));
  });
});

const skip = await serviceSkipReason('redis');
describe.skipIf(skip !== undefined)('createSessionStore with the keyset kept in Redis', () => {
  const prefix = `sss-cfgks-${uniqueSuffix()}:`;
  afterAll(async () => {
    const client = new Redis(REDIS_URL);
    await deletePrefix(client, prefix);
    await client.quit();
  });

  it('missing: key_state naming the command; createIfMissing creates it; another process opens it', async () => {
    const config = { adapter: 'redis' as const, url: REDIS_URL, prefix, keyset: { store: true, passphrase: PASS } };
    await expect(createSessionStore(config)).rejects.toMatchObject({ code: 'key_state', message: expect.stringContaining('keys generate --keyset-in-store') });
    const first = await createSessionStore({ ...config, keyset: { ...config.keyset, createIfMissing: true } });
    const second = await createSessionStore(config);
    try {
      expect(second.keyring.list().map((k) => k.kid).sort()).toEqual(first.keyring.list().map((k) => k.kid).sort());
      const id = await first.store.for({ subject: 's' }).create({ a: 1 });
      expect(await second.store.for({ subject: 's' }).load(id)).toEqual({ a: 1 });
      // The keyset is no session of the store.
      expect((await first.store.listActive()).ids).toHaveLength(1);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('a vanished keyset: reported to follow.onError and the audit hook, the ring in use kept', async () => {
    const vanishPrefix = `${prefix}v:`;
    const events: { type: string; operation: string }[] = [];
    const failures: unknown[] = [];
    let signal!: () => void;
    const reported = new Promise<void>((resolve) => (signal = resolve));
    const created = await createSessionStore({
      adapter: 'redis',
      url: REDIS_URL,
      prefix: vanishPrefix,
      onEvent: (e) => events.push(e),
      keyset: {
        store: true,
        insecureCleartext: true,
        createIfMissing: true,
        follow: {
          intervalMs: 20,
          onError: (err) => {
            failures.push(err);
            signal();
          },
        },
      },
    });
    try {
      const scoped = created.store.for({ subject: 'v' });
      const id = await scoped.create({ a: 1 });
      expect(await (created.backend as unknown as { deleteKeysetText(): Promise<boolean> }).deleteKeysetText()).toBe(true);
      await reported;
      expect(await scoped.load(id)).toEqual({ a: 1 });
      await expect(created.keyring.transaction((m) => m.rotate('encrypt'))).rejects.toMatchObject({ code: 'key_state' });
    } finally {
      await created.close();
    }
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'key_state', message: expect.stringMatching(/vanished/) });
    expect(events).toContainEqual({ type: 'keyset_reload', operation: 'reload_failed' });
  });
});
