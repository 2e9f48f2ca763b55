/**
 * RedisStore over node-redis (`redis`), where it differs from ioredis: how the client is recognized,
 * and what a client that is not connected, closed, or reconnecting does to an operation's outcome.
 * The compliance, security and fault suites run over node-redis too (test/support/fixtures/redis-node.ts,
 * test/faults/redis.test.ts); the Cluster case is in ./redis.test.ts.
 */
import { createClient } from 'redis';
import { BackendUnavailableError, InvalidInputError } from 'sealed-session-store';
import { RedisStore } from 'sealed-session-store/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeRedisStore, nodeRedisClient, nodeRedisFixture } from '../support/fixtures/redis-node.js';
import { redisPrefix } from '../support/fixtures/redis.js';
import { serviceSkipReason } from '../support/services.js';
import { startRedis } from '../support/servers.js';

const skip = await serviceSkipReason('redis');
const T0 = Date.UTC(2030, 0, 1);
const now = () => T0;

afterAll(async () => {
  if (skip === undefined) await nodeRedisFixture.cleanup();
});

describe('RedisStore client detection', () => {
  it('refuses an object that is neither an ioredis nor a node-redis client, naming both', () => {
    for (const client of [{}, { status: 'ready' }, { isOpen: true }, { sendCommand: () => Promise.resolve() }]) {
      expect(() => new RedisStore({ client: client as never, now })).toThrowError(InvalidInputError);
      expect(() => new RedisStore({ client: client as never, now })).toThrowError(/ioredis.*node-redis/);
    }
  });

  it('refuses a node-redis 4 client (no type mappings: it would return sealed bytes as text)', () => {
    const v4 = { isOpen: true, isReady: true, sendCommand: () => Promise.resolve(null) };
    expect(() => new RedisStore({ client: v4 as never, now })).toThrowError(/node-redis 4/);
  });
});

describe.skipIf(skip !== undefined)('RedisStore over node-redis', () => {
  it('a client the application never connected: failed at once (certainly unsent), with the version', async () => {
    const client = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    const store = new RedisStore({ client, now, prefix: redisPrefix() });
    const started = Date.now();
    const err = (await store.saveRecord('a', { x: 1 }, { expiresAt: T0 + 60_000 }).catch((e: unknown) => e)) as BackendUnavailableError;
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.outcome).toBe('failed');
    expect(err.message).toMatch(/closed/);
    expect(err.version).toEqual(expect.any(String));
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('a client that was closed: failed at once', async () => {
    const client = await nodeRedisClient();
    const store = new RedisStore({ client, now, prefix: redisPrefix() });
    await store.saveRecord('a', { x: 1 }, { expiresAt: T0 + 60_000 });
    client.destroy();
    await expect(store.loadRecord('a')).rejects.toMatchObject({ code: 'backend_unavailable', outcome: 'failed' });
  });

  it('reads raw bytes back exactly (replies asked for as Buffers)', async () => {
    const store = await createNodeRedisStore({ now });
    const bytes = new Uint8Array([0, 255, 128, 10, 13, 0xc3, 0x28]);
    await store.saveRecord('b', bytes, { expiresAt: T0 + 60_000 });
    expect((await store.loadRecord('b'))?.value).toEqual(bytes);
  });

  it('a server that went away: writes fail as never sent (no offline queue replay), the cause carries no argument', async () => {
    const server = await startRedis({ persistent: false });
    const client = createClient({ socket: { host: '127.0.0.1', port: server.port, reconnectStrategy: 50 } });
    client.on('error', () => {});
    await client.connect();
    try {
      const store = new RedisStore({ client, now, prefix: 'nr:', commandTimeoutMs: 300, retry: { maxAttempts: 1 } });
      await store.saveRecord('s1', { secret: 'before' }, { expiresAt: T0 + 60_000 });
      await server.kill('SIGKILL');
      await expect.poll(() => client.isReady, { timeout: 5_000 }).toBe(false);
      const err = (await store.saveRecord('s1', { secret: 'while-down' }, { expiresAt: T0 + 60_000 }).catch((e: unknown) => e)) as BackendUnavailableError;
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err.outcome).toBe('failed');
      const text = `${err.message} ${String((err.cause as Error | undefined)?.message)} ${JSON.stringify(err)}`;
      expect(text).not.toMatch(/while-down|s1/);
      // Back up: the failed write was never queued for later, so it never lands.
      await server.start();
      await expect.poll(() => client.isReady, { timeout: 5_000 }).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(await store.loadRecord('s1')).toBeUndefined(); // no persistence: the restart emptied it, and no replay wrote it
    } finally {
      client.destroy();
      await server.stop();
    }
  }, 20_000);
});
