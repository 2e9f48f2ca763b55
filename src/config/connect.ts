/**
 * The clients `createSessionStore` creates itself (never injected ones): imported lazily, only for
 * the adapter chosen, and checked with one short round trip, so a wrong URL or an unreachable
 * server fails at startup with `backend_unavailable` rather than at the first request.
 */
import { BackendUnavailableError } from '../contract/errors.js';
import type { PgPool } from '../backends/postgres.js';
import type { RedisClient } from '../backends/redis/index.js';
import { importPeer } from '../util/peer.js';
import { withDeadline } from '../util/time.js';
import { redactedCause, redactUrl, scrubText } from './redact.js';

/** Ends what a factory created, run in order on close or when startup fails midway (stores are put first: they close before their clients). */
export type Cleanups = Array<() => Promise<void>>;

/** A short reason for a connect failure: the error code where there is one (never the URL). */
function describeFailure(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  if (e !== null && typeof e === 'object') {
    if (typeof e.code === 'string') return e.code;
    // AggregateError from a dual-stack connect: report the first cause's code.
    if (Array.isArray(e.errors) && e.errors.length > 0) return describeFailure(e.errors[0]);
    if (typeof e.message === 'string' && e.message !== '') return e.message;
  }
  return String(err);
}

/** What to do about a PostgreSQL refusal an operator can fix; undefined for the rest. */
function postgresAdvice(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '3D000') return 'the database in the URL does not exist (3D000): create it (`createdb NAME` or CREATE DATABASE NAME) or fix the database name in the URL';
  if (code === '28P01' || code === '28000') return `the server refused the credentials (${code}): check the user and password in the URL`;
  return undefined;
}

const noAnswer = (ms: number) => () => new Error(`no answer within ${ms} ms`);

export async function connectRedis(url: string, timeoutMs: number, cleanups: Cleanups): Promise<RedisClient> {
  const mod = await importPeer('ioredis', () => import('ioredis'), 'the redis adapter');
  let connected = false;
  const client = new mod.Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 2,
    // Fail fast while the first connection is being made (a CLI must not hang on a wrong URL);
    // once connected, reconnect with a capped backoff like any long-lived client.
    retryStrategy: (times: number) => (connected ? Math.min(50 * 2 ** times, 2000) : null),
  });
  // We created this client, so its error events are ours: failures surface as typed errors from
  // the store's operations, never as "Unhandled error event" noise.
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  cleanups.push(async () => {
    await client.quit().catch(() => client.disconnect());
  });
  try {
    await withDeadline(client.connect(), Date.now() + timeoutMs, noAnswer(timeoutMs));
    connected = true;
  } catch (err) {
    client.disconnect();
    const cause = lastError ?? err;
    throw new BackendUnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${scrubText(describeFailure(cause), url)}`, { cause: redactedCause(cause, url) });
  }
  return client;
}

export async function connectPostgres(url: string, timeoutMs: number, cleanups: Cleanups): Promise<PgPool> {
  const mod = await importPeer('pg', () => import('pg'), 'the postgres adapter');
  const Pool = (mod.default ?? mod).Pool;
  const pool = new Pool({ connectionString: url, connectionTimeoutMillis: timeoutMs, max: 10 });
  pool.on('error', () => {});
  let ended = false;
  const end = async () => {
    if (ended) return;
    ended = true;
    await pool.end().catch(() => {});
  };
  cleanups.push(end);
  try {
    await withDeadline(pool.query('SELECT 1'), Date.now() + timeoutMs, noAnswer(timeoutMs));
  } catch (err) {
    await end();
    cleanups.splice(cleanups.indexOf(end), 1);
    throw new BackendUnavailableError(`cannot reach PostgreSQL at ${redactUrl(url)}: ${postgresAdvice(err) ?? scrubText(describeFailure(err), url)}`, { cause: redactedCause(err, url) });
  }
  return pool;
}
