/**
 * RedisStore behaviour that the shared compliance suite cannot see: the key layout and native TTLs,
 * the Lua compare-and-swap, SCAN paging at 100k sessions, error outcomes over a frozen or dead
 * connection, an across-process race, and (when redis-server can be started here) a real 3-node
 * Redis Cluster on loopback ports, through an ioredis and a node-redis Cluster client (the latter
 * also runs the compliance and security suites). Never sleeps for a TTL: the store's clock is injected.
 */
import { freePort } from '../support/servers.js';
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { BackendUnavailableError } from 'sealed-session-store';
import { RedisStore } from 'sealed-session-store/redis';
// Test-only hooks: the cursor codec is internal, so it is imported from source, not from the public entry.
import { decodeListCursor, encodeListCursor } from '../../src/backends/redis/scan.js';
import { expectCode, runSecuritySuite, runStoreContract } from 'sealed-session-store/testing';
import type { RecordStore } from 'sealed-session-store';
import { buildSecureStack } from '../support/stacks.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, deletePrefix, redisClient, redisFixture, redisPrefix } from '../support/fixtures/redis.js';
import { REDIS_URL, serviceSkipReason } from '../support/services.js';

const skip = await serviceSkipReason('redis');
const HOUR = 3_600_000;
const MINUTE = 60_000;
const T0 = Date.UTC(2030, 0, 1);

let t = T0;
const now = () => t;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);

afterEach(() => {
  t = T0;
  expect(unhandled).toEqual([]);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  if (skip === undefined) await redisFixture.cleanup();
});

describe('listActive cursor codec', () => {
  it('round-trips a position with carried ids', () => {
    const pos = { node: '127.0.0.1:7001', scan: '18446744073709551615', carried: ['a', 'b-c'] };
    expect(decodeListCursor(encodeListCursor(pos))).toEqual(pos);
  });

  it('refuses forged or malformed cursors with invalid_input', () => {
    const enc = (x: unknown) => `r1.${Buffer.from(JSON.stringify(x)).toString('base64url')}`;
    const bad = [
      '',
      'r1.',
      'm1.abc',
      'r1.@@@',
      enc({ node: '', scan: '0' }),
      enc(['', '01', []]), // not canonical decimal
      enc(['', '-1', []]),
      enc(['', '123456789012345678901', []]), // longer than a u64
      enc(['', '0', ['has space']]),
      enc(['', '0', Array.from({ length: 5001 }, (_, i) => `id${i}`)]),
      enc(['x'.repeat(301), '0', []]),
      'r1.' + 'A'.repeat(2_000_000),
    ];
    for (const c of bad) expect(() => decodeListCursor(c), c.slice(0, 40)).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
  });
});

describe('RedisStore options', () => {
  const fakeClient = {} as Redis;
  it('refuses a prefix with a Cluster hash tag, and bad numbers', () => {
    for (const prefix of ['{app}:', 'a}', '', 'sp ace', 'x'.repeat(129)]) {
      expect(() => new RedisStore({ client: fakeClient, prefix })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
    }
    for (const bad of [{ graceMs: -1 }, { commandTimeoutMs: 0 }, { retry: { maxAttempts: 0 } }, { graceMs: 1.5 }]) {
      expect(() => new RedisStore({ client: fakeClient, ...bad })).toThrowError(expect.objectContaining({ code: 'invalid_input' }));
    }
  });
});

describe.skipIf(skip !== undefined)('RedisStore on a real server', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = redisClient();
  });

  describe('values and key layout', () => {
    it('round-trips bytes exactly, as a plain Uint8Array, distinct from JSON', async () => {
      const store = createRedisStore({ now });
      const bytes = Uint8Array.from({ length: 1024 }, (_, i) => (i * 37) & 0xff); // every byte value, NULs, invalid UTF-8
      await store.saveRecord('bytes', bytes, { expiresAt: t + MINUTE });
      await store.saveRecord('empty', new Uint8Array(0), { expiresAt: t + MINUTE });
      await store.saveRecord('json', { s: 'ünï ✓ 😀', n: 1.5, a: [], o: {} }, { expiresAt: t + MINUTE });
      const b = await store.loadRecord('bytes');
      expect(Object.getPrototypeOf(b!.value)).toBe(Uint8Array.prototype);
      expect(Buffer.from(b!.value as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
      expect((await store.loadRecord('empty'))!.value).toEqual(new Uint8Array(0));
      expect((await store.loadRecord('json'))!.value).toEqual({ s: 'ünï ✓ 😀', n: 1.5, a: [], o: {} });
      // A JSON-looking byte string stays bytes, and sealed bytes are refused at the session level.
      await store.saveRecord('looks-json', Buffer.from('{"a":1}'), { expiresAt: t + MINUTE });
      expect((await store.loadRecord('looks-json'))!.value).toBeInstanceOf(Uint8Array);
      await expectCode(store.load('looks-json'), 'invalid_input');
      const fields = await admin.hgetall(store.keyFor('json'));
      expect(Object.keys(fields).sort()).toEqual(['e', 'r', 't', 'v']);
      expect(fields.t).toBe('j');
      expect(Number(fields.e)).toBe(t + MINUTE);
    });

    it('refuses records over maxRecordBytes with payload_too_large', async () => {
      const store = createRedisStore({ now }, { maxRecordBytes: 100 });
      await expectCode(store.saveRecord('big', new Uint8Array(101), { expiresAt: t + MINUTE }), 'payload_too_large');
      await expectCode(store.save('big', { s: 'x'.repeat(200) }), 'payload_too_large');
      expect(await store.loadRecord('big')).toBeUndefined();
    });

    it('a foreign value under the prefix is a typed error, never guessed at', async () => {
      const store = createRedisStore({ now });
      await admin.hset(store.keyFor('half'), 'v', 'x');
      await admin.set(store.keyFor('str'), 'x');
      await expectCode(store.loadRecord('half'), 'integrity');
      await expectCode(store.loadRecord('str'), 'integrity'); // WRONGTYPE (a connect-redis string, say): a record this store did not write
      await store.save('ok', { a: 1 });
      expect((await store.listActive()).ids).toEqual(['ok']);
    });
  });

  describe('native TTL', () => {
    it('is expiresAt - now + graceMs, in milliseconds, kept by every write', async () => {
      const store = createRedisStore({ now }, { graceMs: MINUTE });
      const key = store.keyFor('ttl');
      await store.save('ttl', { a: 1 }, { ttlMs: 10_000 });
      const near = (pttl: number, expected: number) => expect(pttl > expected - 2_000 && pttl <= expected).toBe(true);
      near(await admin.pttl(key), 10_000 + MINUTE);
      t += 4_000;
      await store.update('ttl', { b: 2 }); // keeps expiresAt: native TTL still ends at the same instant
      near(await admin.pttl(key), 6_000 + MINUTE);
      await store.updateTtl('ttl', 1_000);
      near(await admin.pttl(key), 1_000 + MINUTE);
      expect(await store.load('ttl')).toEqual({ a: 1, b: 2 });
    });

    it('is never floored to zero or dropped: a long-past expiresAt still gets PX >= 1', async () => {
      const store = createRedisStore({ now }, { graceMs: 0 });
      await store.saveRecord('past', { a: 1 }, { expiresAt: t - HOUR });
      const pttl = await admin.pttl(store.keyFor('past'));
      expect(pttl === -2 || (pttl >= 0 && pttl <= 1)).toBe(true); // gone or about to be; never -1 (no TTL)
      await store.saveRecord('far', { a: 1 }, { expiresAt: 1e300 }); // clamped, not an "invalid expire time"
      expect(await admin.pttl(store.keyFor('far'))).toBeGreaterThan(0);
    });

    it('keeps an expired record distinguishable for the grace window, by the injected clock', async () => {
      const store = createRedisStore({ now }, { graceMs: HOUR });
      await store.save('g', { a: 1 }, { ttlMs: 1_000 });
      t += 30 * MINUTE; // past expiresAt, inside the grace window
      await expectCode(store.load('g'), 'expired');
      await expectCode(store.update('g', { b: 1 }), 'expired');
      await expectCode(store.updateTtl('g', MINUTE), 'expired');
      expect((await store.loadRecord('g'))?.value).toEqual({ a: 1 });
      expect(await admin.pttl(store.keyFor('g'))).toBeGreaterThan(HOUR - 5_000); // Redis keeps it; the store decides
      await store.delete('g');
      await expectCode(store.load('g'), 'not_found');
    });
  });

  describe('Lua compare-and-swap', () => {
    it('a retry that finds its own version already written is a success (and writes nothing more)', async () => {
      // Same random bytes every time = every write carries the same version, exactly what a retried
      // script sees after its first attempt landed and the answer was lost.
      const fixed = new Uint8Array(16).fill(7);
      const store = createRedisStore({ now }, { random: (n) => fixed.slice(0, n) });
      const v = await store.saveRecord('r', { a: 1 }, { expiresAt: t + MINUTE, ifAbsent: true });
      expect(await store.saveRecord('r', { a: 2 }, { expiresAt: t + MINUTE, ifAbsent: true })).toBe(v);
      expect(await store.saveRecord('r', { a: 3 }, { expiresAt: t + MINUTE, ifVersion: 'someone-else' })).toBe(v);
      expect((await store.loadRecord('r'))?.value).toEqual({ a: 1 });
    });

    it('conflicts on a stale version, ifAbsent and ABA, and conditional delete', async () => {
      const store = createRedisStore({ now });
      const v1 = await store.saveRecord('c', { a: 1 }, { expiresAt: t + MINUTE, ifAbsent: true });
      await expectCode(store.saveRecord('c', { a: 2 }, { expiresAt: t + MINUTE, ifAbsent: true }), 'conflict');
      const v2 = await store.saveRecord('c', { a: 2 }, { expiresAt: t + MINUTE, ifVersion: v1 });
      await expectCode(store.saveRecord('c', { a: 3 }, { expiresAt: t + MINUTE, ifVersion: v1 }), 'conflict');
      await expectCode(store.deleteRecord('c', { ifVersion: v1 }), 'conflict');
      expect(await store.deleteRecord('c', { ifVersion: v2 })).toBe(true);
      await store.saveRecord('c', { a: 1 }, { expiresAt: t + MINUTE });
      await expectCode(store.saveRecord('c', { a: 9 }, { expiresAt: t + MINUTE, ifVersion: v2 }), 'conflict');
      expect((await store.loadRecord('c'))?.value).toEqual({ a: 1 });
      expect(await admin.pttl(store.keyFor('c'))).toBeGreaterThan(0);
    });

    it('two stores on one prefix (two "processes") see each other and lose no concurrent update', async () => {
      const a = createRedisStore({ now });
      const b = (await redisFixture.connectAgain!(a, { now })) as RedisStore;
      await a.save('shared', {});
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).update('shared', { [`f${i}`]: i })));
      expect(Object.keys(await b.load('shared'))).toHaveLength(40);
    });
  });

  describe('listActive and cleanupExpired at 100k sessions', () => {
    const N = 100_000;
    let store: RedisStore;
    const expired = new Set<string>();

    beforeAll(async () => {
      store = createRedisStore({ now });
      // Written straight in the documented layout with pipelines: 100k EVALSHAs one by one would
      // test the network, not the listing. Every 10th session is expired by the store's clock.
      for (let base = 0; base < N; base += 10_000) {
        const p = admin.pipeline();
        for (let i = base; i < base + 10_000; i++) {
          const id = `s${i}`;
          const dead = i % 10 === 0;
          if (dead) expired.add(id);
          p.hset(store.keyFor(id), 'v', `{"i":${i}}`, 't', 'j', 'e', String(dead ? t - 1_000 : t + HOUR), 'r', `v${i}`);
          p.pexpire(store.keyFor(id), 2 * HOUR);
        }
        await p.exec();
      }
      // A neighbour's keys that share the start of our prefix must never be listed or cleaned.
      await admin.set(`${store.prefix.slice(0, -1)}X:neighbour`, '1', 'PX', MINUTE);
    }, 60_000);

    afterAll(async () => {
      await admin.del(`${store.prefix.slice(0, -1)}X:neighbour`);
    });

    it('pages without duplicates, never over the limit, expired excluded, nothing missed', async () => {
      const seen = new Set<string>();
      let cursor: string | undefined;
      let pages = 0;
      const started = Date.now();
      do {
        const page = await store.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
        expect(page.ids.length).toBeLessThanOrEqual(1000);
        for (const id of page.ids) {
          expect(seen.has(id)).toBe(false);
          expect(expired.has(id)).toBe(false);
          seen.add(id);
        }
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
      expect(seen.size).toBe(N - expired.size);
      console.info(`[redis] listActive: ${seen.size} live ids of ${N} in ${pages} pages, ${Date.now() - started} ms`);
      expect(await store.loadRecord('s1')).toMatchObject({ value: { i: 1 }, version: 'v1' });
    }, 30_000);

    it('small pages carry SCAN overflow in the cursor instead of dropping it', async () => {
      let cursor: string | undefined;
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const page = await store.listActive(cursor === undefined ? { limit: 7 } : { limit: 7, cursor });
        expect(page.ids.length).toBeLessThanOrEqual(7);
        for (const id of page.ids) {
          expect(seen.has(id)).toBe(false);
          seen.add(id);
        }
        cursor = page.cursor;
        expect(cursor).toBeDefined();
      }
      expect(seen.size).toBe(30 * 7);
    });

    it('cleanupExpired returns the true count, leaves live ones and a concurrently rewritten one', async () => {
      // Rewritten after it expired (by a save through the store): the cleanup must not count or delete it.
      await store.saveRecord('s0', { i: 0, again: true }, { expiresAt: t + HOUR });
      const started = Date.now();
      expect(await store.cleanupExpired()).toBe(expired.size - 1);
      console.info(`[redis] cleanupExpired: ${expired.size - 1} of ${N} removed in ${Date.now() - started} ms`);
      expect(await store.cleanupExpired()).toBe(0);
      expect((await store.loadRecord('s0'))?.value).toEqual({ i: 0, again: true });
      expect(await store.loadRecord('s10')).toBeUndefined();
      expect(await admin.exists(`${store.prefix.slice(0, -1)}X:neighbour`)).toBe(1);
    }, 30_000);
  });

  describe('errors and timeouts', () => {
    const errorOf = async (p: Promise<unknown>): Promise<BackendUnavailableError> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendUnavailableError);
      return err as BackendUnavailableError;
    };

    it('a server that never answers: outcome failed (never sent) within the timeout, with the version', async () => {
      const port = await freePort();
      const client = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      try {
        const store = new RedisStore({ client, commandTimeoutMs: 300, retry: { maxAttempts: 2, backoffMs: 10 } });
        const started = Date.now();
        const err = await errorOf(store.saveRecord('x', { a: 1 }, { expiresAt: Date.now() + MINUTE }));
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(err.code).toBe('backend_unavailable');
        expect(err.outcome).toBe('failed');
        expect(typeof err.version).toBe('string');
        expect(err.message).not.toContain('"x"');
        expect((await errorOf(store.load('x'))).outcome).toBe('failed');
        expect((await errorOf(store.listActive())).outcome).toBe('failed');
        expect((await errorOf(store.cleanupExpired())).outcome).toBe('failed');
      } finally {
        client.disconnect();
      }
    });

    it('a client that was quit: failed at once, never an untyped throw', async () => {
      const client = redisClient();
      const store = new RedisStore({ client, prefix: redisPrefix() });
      await store.save('q', { a: 1 });
      await client.quit();
      const err = await errorOf(store.save('q', { a: 2 }));
      expect(err.outcome).toBe('failed');
      await expect(store.delete('q')).rejects.toBeInstanceOf(BackendUnavailableError);
    });

    it('sent but unanswered (a frozen connection): outcome unknown with the version, which tells if it landed', async () => {
      const target = new URL(REDIS_URL);
      const proxy = await startProxy(target.hostname, Number(target.port || 6379));
      const client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      const prefix = redisPrefix();
      try {
        const store = new RedisStore({ client, prefix, commandTimeoutMs: 300, retry: { maxAttempts: 1 } });
        await store.save('u', { a: 1 });
        proxy.freeze();
        const err = await errorOf(store.saveRecord('u', { a: 2 }, { expiresAt: Date.now() + MINUTE }));
        expect(err.outcome).toBe('unknown');
        proxy.thaw();
        // The write reaches the server after all: the version in the error identifies it.
        const rec = await store.loadRecord('u');
        expect(rec?.version).toBe(err.version);
        expect(rec?.value).toEqual({ a: 2 });
      } finally {
        client.disconnect();
        await proxy.close();
        await deletePrefix(admin, prefix);
      }
    });

    it('a connection reset mid-write settles within the budget: success (resent once reconnected) or unknown, never torn', async () => {
      const target = new URL(REDIS_URL);
      const proxy = await startProxy(target.hostname, Number(target.port || 6379));
      const client = new Redis({ host: '127.0.0.1', port: proxy.port, retryStrategy: () => 20 });
      client.on('error', () => {});
      const prefix = redisPrefix();
      try {
        const store = new RedisStore({ client, prefix, commandTimeoutMs: 1_000, retry: { maxAttempts: 2, backoffMs: 10 } });
        await store.save('reset', { a: 1 });
        proxy.freeze();
        const started = Date.now();
        const write = store.saveRecord('reset', { a: 2 }, { expiresAt: Date.now() + MINUTE }).then(
          (version) => ({ version, err: undefined }),
          (err: unknown) => ({ version: undefined, err: err as BackendUnavailableError }),
        );
        await new Promise((r) => setTimeout(r, 50)); // let the write reach the frozen proxy
        proxy.reset(); // the connection dies with the write in flight
        proxy.thaw();
        const res = await write;
        expect(Date.now() - started).toBeLessThan(2 * 1_000 + 500);
        const rec = await store.loadRecord('reset');
        console.info(`[redis] reset mid-write: ${res.err === undefined ? 'succeeded after reconnect' : `outcome ${res.err.outcome}`} in ${Date.now() - started} ms`);
        if (res.err === undefined) {
          expect(rec).toMatchObject({ value: { a: 2 }, version: res.version });
        } else {
          expect(res.err).toBeInstanceOf(BackendUnavailableError);
          expect(res.err.outcome).toBe('unknown');
          expect([{ a: 1 }, { a: 2 }]).toContainEqual(rec?.value);
        }
      } finally {
        client.disconnect();
        await proxy.close();
        await deletePrefix(admin, prefix);
      }
    });

    it('close() leaves the injected client open, and refuses later calls', async () => {
      const client = redisClient();
      const store = new RedisStore({ client, prefix: redisPrefix() });
      await store.save('c', { a: 1 });
      await store.close();
      await store.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      await expectCode(store.load('c'), 'backend_unavailable');
    });
  });

  it('across processes: 4 workers x 50 updates of distinct fields on one session lose none', async () => {
    const store = createRedisStore({ now: Date.now });
    await store.save('race', { start: true }, { ttlMs: 10 * MINUTE });
    const worker = fileURLToPath(new URL('./redis-worker.ts', import.meta.url));
    const runs = await Promise.all(
      [0, 1, 2, 3].map(
        (w) =>
          new Promise<{ acked: number; conflicts: number }>((resolve, reject) => {
            const child: ChildProcess = fork(worker, [store.prefix, 'race', String(w), '50'], {
              execArgv: ['--import', 'tsx'],
              env: { ...process.env, REDIS_URL },
              stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
            });
            let out = '';
            let errText = '';
            child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
            child.stderr!.on('data', (d: Buffer) => (errText += d.toString()));
            child.on('error', reject);
            child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim()) as { acked: number; conflicts: number }) : reject(new Error(`worker ${w} exited ${code}: ${errText}`))));
          }),
      ),
    );
    const state = await store.load('race');
    expect(runs.map((r) => r.acked)).toEqual([50, 50, 50, 50]);
    for (let w = 0; w < 4; w++) for (let i = 0; i < 50; i++) expect(state[`w${w}_${i}`]).toBe(i);
    expect(Object.keys(state)).toHaveLength(201);
    console.info(`[redis] across processes: 200 updates, 0 lost, ${runs.reduce((n, r) => n + r.conflicts, 0)} CAS give-ups retried by the workers`);
  }, 60_000);
});

// ---- a local 3-node Redis Cluster --------------------------------------------------------------

const clusterSkip = clusterUnavailable();

describe.skipIf(clusterSkip !== undefined)('RedisStore on a local 3-node Redis Cluster', () => {
  const procs: ChildProcess[] = [];
  let dir = '';
  let cluster: Cluster;
  let nodeCluster: ReturnType<typeof makeNodeCluster> | undefined;
  let ports: number[] = [];
  const makeNodeCluster = () => createCluster({ rootNodes: ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })) });
  /** One node-redis Cluster client for the file, connected on first use. */
  const nodeRedisCluster = async () => {
    if (nodeCluster === undefined) {
      nodeCluster = makeNodeCluster();
      nodeCluster.on('error', () => {});
      await nodeCluster.connect();
    }
    return nodeCluster;
  };
  const stores: Record<'ioredis' | 'node-redis', RedisStore> = {} as never;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sss-cluster-'));
    ports = [];
    while (ports.length < 3) {
      const p = await freePort();
      // The cluster bus listens on port + 10000: both must be free.
      if (p < 55_000 && !ports.includes(p) && (await isFree(p + 10_000))) ports.push(p);
    }
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      procs.push(child);
    }
    for (const port of ports) await waitFor(async () => (await ping(port)) === 'PONG', 10_000);
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const port of ports) await waitFor(async () => /cluster_state:ok/.test(spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout), 15_000);
    cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    cluster.on('error', () => {});
    stores.ioredis = new RedisStore({ client: cluster, now, prefix: 'sss:' });
    stores['node-redis'] = new RedisStore({ client: await nodeRedisCluster(), now, prefix: 'nrs:' });
  }, 60_000);

  afterAll(async () => {
    await stores.ioredis?.close();
    await stores['node-redis']?.close();
    cluster?.disconnect();
    nodeCluster?.destroy();
    for (const p of procs) p.kill('SIGKILL');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  describe.each(['ioredis', 'node-redis'] as const)('through a %s Cluster client', (library) => {
    let store: RedisStore;
    beforeAll(() => {
      store = stores[library];
    });

    it('spreads sessions over every node and pages across them with per-node cursors', async () => {
      const ids = Array.from({ length: 3000 }, (_, i) => `c${i}`);
      for (let i = 0; i < ids.length; i += 500) {
        await Promise.all(ids.slice(i, i + 500).map((id, j) => store.saveRecord(id, { j }, { expiresAt: (i + j) % 10 === 0 ? t + 1_000 : t + HOUR })));
      }
      const perNode = await Promise.all(cluster.nodes('master').map((n) => n.dbsize()));
      expect(perNode).toHaveLength(3);
      for (const n of perNode) expect(n).toBeGreaterThan(500); // no hot slot: the keys are spread
      t += 2_000; // every 10th session is now expired
      const seen = new Set<string>();
      const nodesInCursors = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await store.listActive(cursor === undefined ? { limit: 250 } : { limit: 250, cursor });
        expect(page.ids.length).toBeLessThanOrEqual(250);
        for (const id of page.ids) {
          expect(seen.has(id)).toBe(false);
          seen.add(id);
        }
        cursor = page.cursor;
        if (cursor !== undefined) nodesInCursors.add(decodeListCursor(cursor).node);
      } while (cursor !== undefined);
      expect(seen.size).toBe(2700);
      expect(nodesInCursors.size).toBe(3);
      expect(await store.cleanupExpired()).toBe(300);
      expect(await store.cleanupExpired()).toBe(0);
      expect((await store.loadRecord('c1'))?.value).toEqual({ j: 1 });
      await expectCode(store.update('c0', { x: 1 }), 'not_found');
      await store.update('c1', { x: 1 });
      expect(await store.load('c1')).toEqual({ j: 1, x: 1 });
    }, 60_000);

    it('a foreign key under the prefix is skipped by listActive and cleanupExpired, also via a carried cursor', async () => {
      await cluster.set(`${store.prefix}foreign`, 'x');
      try {
        const page = await store.listActive({ limit: 1000, cursor: encodeListCursor({ node: '\u007f', scan: '0', carried: ['foreign', 'c1'] }) });
        expect(page).toEqual({ ids: ['c1'] });
        expect(await store.cleanupExpired()).toBe(0);
      } finally {
        await cluster.del(`${store.prefix}foreign`);
      }
    });

    it('files and lists by index on a Cluster (every index script stays in one slot)', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `cix${String(i).padStart(2, '0')}`);
      for (const id of ids) await store.saveRecord(id, { n: 1 }, { expiresAt: t + 60_000, index: 'subject-hash' });
      await store.saveRecord(ids[0]!, { n: 2 }, { expiresAt: t + 60_000 }); // kept filed
      await store.deleteRecord(ids[1]!);
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listByIndex('subject-hash', cursor === undefined ? { limit: 7 } : { limit: 7, cursor });
        listed.push(...page.ids);
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(listed).toEqual(ids.filter((id) => id !== ids[1]));
    });

    it('a cursor naming a node that left the cluster continues with the next node', async () => {
      const cursor = encodeListCursor({ node: '127.0.0.1:1', scan: '123', carried: [] });
      const page = await store.listActive({ limit: 1000, cursor });
      expect(page.ids.length).toBeGreaterThan(0);
      expect(page.ids.every((id) => id.startsWith('c'))).toBe(true);
    });
  });

  // The shared suites through node-redis' Cluster client: every store its own prefix on the cluster.
  let clusterStores = 0;
  const clusterFixture = {
    name: 'redis cluster (node-redis)',
    skipReason: async () => clusterSkip,
    create: async (ctx: { now: () => number }): Promise<RecordStore> => new RedisStore({ client: await nodeRedisCluster(), now: ctx.now, prefix: `nrc${++clusterStores}:` }),
    cleanup: async () => {},
  };
  runStoreContract('RedisStore (node-redis Cluster)', (ctx) => clusterFixture.create(ctx));
  runSecuritySuite('secureStore(redis cluster (node-redis))', (ctx) => buildSecureStack(clusterFixture, ctx));
});

// ---- helpers -------------------------------------------------------------------------------------

function clusterUnavailable(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const cli = spawnSync('redis-cli', ['--version'], { encoding: 'utf8' });
  const reason = probe.status !== 0 || cli.status !== 0 ? 'redis-server / redis-cli not found on PATH' : undefined;
  if (reason !== undefined) console.warn(`[skip] local Redis Cluster test: ${reason}`);
  return reason;
}


function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function ping(port: number): Promise<string> {
  return spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting for the local cluster');
    await new Promise((r) => setTimeout(r, 100)); // polling a server start, not a TTL
  }
}

/** A TCP proxy whose client-to-server direction can be frozen: requests are sent but never reach Redis. */
async function startProxy(host: string, port: number) {
  let frozen = false;
  const held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect({ host, port });
    sockets.add(down).add(up);
    down.on('data', (d) => (frozen ? held.push(() => up.write(d)) : up.write(d)));
    up.on('data', (d) => down.write(d));
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    /** Destroys every proxied connection (held requests are dropped): a connection reset. */
    reset: () => {
      held.splice(0);
      for (const sock of sockets) sock.destroy();
      sockets.clear();
    },
    thaw: () => {
      frozen = false;
      for (const f of held.splice(0)) f();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

