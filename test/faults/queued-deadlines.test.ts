/**
 * A call's time bound includes the time it spends queued behind other calls on the same id.
 *
 * The server here is a private TCP listener on loopback that accepts connections and never answers
 * a byte: 8 concurrent updates of ONE id (they queue up in-process, one writer per id) must all
 * settle within one operation's bound plus a small margin, on Redis and on PostgreSQL, on the bare
 * backend and through `secureStore`. Before the fix the k-th settled after k bounds.
 *
 * Also: a Redis update whose read hangs wrote nothing, so it is `failed`; an `unknown` write always
 * carries the version it would have written.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BackendUnavailableError, Keyring, type RecordStore, secureStore } from 'sealed-session-store';
import { PostgresStore } from 'sealed-session-store/postgres';
import { RedisStore } from 'sealed-session-store/redis';
import { createSessionId } from 'sealed-session-store/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Room for timers firing late on a loaded 2-core machine; far below one more bound. */
const MARGIN_MS = 400;
const CALLERS = 8;

let silent: net.Server;
let port = 0;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  // Accepts, reads and discards, never writes: a server that hangs on every request.
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  port = (silent.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

interface Settled {
  ms: number;
  err: unknown;
}

/** Starts CALLERS updates of one id at once; resolves how long each took and how it ended. */
async function concurrentUpdates(update: (n: number) => Promise<unknown>): Promise<Settled[]> {
  const start = Date.now();
  return Promise.all(
    Array.from({ length: CALLERS }, (_, n) =>
      update(n).then(
        () => ({ ms: Date.now() - start, err: undefined }),
        (err: unknown) => ({ ms: Date.now() - start, err }),
      ),
    ),
  );
}

function expectAllWithin(results: Settled[], boundMs: number): void {
  const slowest = Math.max(...results.map((r) => r.ms));
  expect(slowest, `settled after ${results.map((r) => r.ms).join(', ')} ms`).toBeLessThanOrEqual(boundMs + MARGIN_MS);
  for (const r of results) {
    expect(r.err).toBeInstanceOf(BackendUnavailableError);
    // Every one of them failed before any write was sent: the reads hung, or the budget ran out queued.
    expect((r.err as BackendUnavailableError).outcome).toBe('failed');
  }
}

const secured = (backend: RecordStore) =>
  secureStore(backend, { keyring: Keyring.generate(), namespace: 'deadlines' }).for({ subject: 'alice', clientId: 'web' });

describe('Redis: a server that accepts and never answers', () => {
  const COMMAND_TIMEOUT_MS = 300;
  const BACKOFF_MS = 20;
  // Two attempts of 300 ms and one backoff of at most 20 ms.
  const BOUND_MS = 2 * COMMAND_TIMEOUT_MS + BACKOFF_MS;
  let client: Redis;

  beforeAll(() => {
    // No ready check and no CLIENT SETINFO: the client counts as ready at once, so every command
    // is really sent and hangs (as on a server that stops answering mid-session).
    client = new Redis({ host: '127.0.0.1', port, enableReadyCheck: false, disableClientInfo: true, maxRetriesPerRequest: null });
    client.on('error', () => {});
  });
  afterAll(() => client.disconnect());

  const store = () => new RedisStore({ client, prefix: 'deadlines:', commandTimeoutMs: COMMAND_TIMEOUT_MS, retry: { maxAttempts: 2, backoffMs: BACKOFF_MS } });

  it(`${CALLERS} concurrent updates of one id all settle within one bound (bare backend)`, async () => {
    const s = store();
    expectAllWithin(await concurrentUpdates((n) => s.update('one-id', { n })), BOUND_MS);
  });

  it(`${CALLERS} concurrent updates of one id all settle within one bound (secureStore)`, async () => {
    const mine = secured(store());
    const id = createSessionId();
    expectAllWithin(await concurrentUpdates((n) => mine.update(id, { n })), BOUND_MS);
  });

  it('an update whose read hangs is failed; a write that hangs is unknown with the version it would have written', async () => {
    const s = store();
    const read = await s.update('hung-read', { a: 1 }).catch((e: unknown) => e);
    expect(read).toBeInstanceOf(BackendUnavailableError);
    expect(read).toMatchObject({ outcome: 'failed', version: undefined });
    const write = await s.saveRecord('hung-write', { a: 1 }, { expiresAt: Date.now() + 60_000 }).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(BackendUnavailableError);
    expect((write as BackendUnavailableError).outcome, (write as Error).message).toBe('unknown');
    expect((write as BackendUnavailableError).version).toMatch(/^[A-Za-z0-9_-]{16,}$/);
  });
});

describe('PostgreSQL: a server that accepts and never answers', () => {
  const TIMEOUT_MS = 600;
  let pool: pg.Pool;

  beforeAll(() => {
    // pg's own connect timeout only lets the test end cleanly; the store's deadline is far shorter.
    pool = new pg.Pool({ host: '127.0.0.1', port, user: 'nobody', database: 'none', max: 4, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => {});
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await pool.end().catch(() => {});
  });

  const store = () => new PostgresStore({ pool, timeoutMs: TIMEOUT_MS });

  it(`${CALLERS} concurrent updates of one id all settle within timeoutMs (bare backend)`, async () => {
    const s = store();
    expectAllWithin(await concurrentUpdates((n) => s.update('one-id', { n })), TIMEOUT_MS);
  });

  it(`${CALLERS} concurrent updates of one id all settle within timeoutMs (secureStore)`, async () => {
    const mine = secured(store());
    const id = createSessionId();
    expectAllWithin(await concurrentUpdates((n) => mine.update(id, { n })), TIMEOUT_MS);
  });
});
