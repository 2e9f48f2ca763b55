/**
 * PostgresStore: sessions in one PostgreSQL table through an injected `pg` Pool
 * (`sealed-session-store/postgres`). The SQL lives in ./sql.ts, shared with PgliteStore; this
 * file is the transport: checking clients out of the pool, deadlines, bounded retries, and
 * mapping every failure to a typed error that says whether a write may have landed.
 *
 * `pg` is a peer dependency and only its types are imported here, so importing the package
 * core never loads it. The pool belongs to the caller: `close()` detaches this store's
 * listeners and never ends the pool.
 */
import type { Pool, PoolClient, QueryResult } from 'pg';
import { BackendUnavailableError, InvalidInputError, type SessionStoreError } from '../contract/errors.js';
import { boolOption, intOption, optionsObject } from '../util/options.js';
import { operationDeadline, raceDeadline, sleep } from '../util/time.js';
import {
  type MappedFailure,
  mapSqlState,
  SqlBackendStore,
  type SqlIntent,
  type SqlResult,
  type SqlStatement,
  type SqlStoreOptions,
  sqlStateOf,
} from './sql.js';

export { DEFAULT_TABLE, postgresSchema, SCHEMA_VERSION } from './sql.js';

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_BACKOFF_MS = 20;
const MAX_RETRIES = 10;

/** The part of a `pg` Pool this store uses (a `pg.Pool` fits). */
export type PgPool = Pick<Pool, 'connect' | 'on' | 'off'>;

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** A `pg` Pool (or anything shaped like one). Not ended by `close()`. */
  pool: PgPool;
  /**
   * Deadline for one operation in ms, from the caller's call to the last answer: time queued
   * behind other calls on the same session in this process, waiting for a pooled client, every
   * statement of an update's read-modify-write and the retries all count. Past it the operation rejects `backend_unavailable`: outcome `failed` if
   * no statement had been sent, `unknown` (with the write's `version`) if one had. The connection
   * of a timed-out statement is destroyed, never reused. Default 5000.
   *
   * This is a client-side deadline. To also stop the SERVER working on a stuck statement, set
   * `statement_timeout` (and `idle_in_transaction_session_timeout`) in the Pool's config.
   */
  timeoutMs?: number;
  /**
   * Extra attempts after a transport failure (connection refused or reset, server terminated the
   * backend, serialization failure / deadlock). Every statement is safe to repeat: a write is
   * keyed by its new version token, so a repeat of a write that landed is recognised as success.
   * Never retried: timeouts (the deadline is spent) and errors that would fail again. Default 2.
   */
  retries?: number;
  /** Base of the jittered exponential backoff between attempts, in ms. Default 20. */
  retryBackoffMs?: number;
  /**
   * Use named prepared statements (parsed once per connection). Turn off behind a pooler that
   * cannot keep them (PgBouncer in transaction mode before 1.21). Default true.
   */
  preparedStatements?: boolean;
  /** Told about errors of idle pooled connections (e.g. the server killed one). Default: ignored. */
  onError?: (err: Error) => void;
}

/** Identity parsers: every column arrives as text and sql.ts decodes it, whatever global type parsers the app set. */
const RAW_TYPES = { getTypeParser: () => (value: string) => value };
const TIMEOUT = Symbol('timeout');
const timedOut = (): typeof TIMEOUT => TIMEOUT;

class AttemptFailure {
  constructor(
    readonly mapped: MappedFailure,
    /** True when the statement may have reached the server (so a write may have landed). */
    readonly maybeApplied: boolean,
  ) {}
}

export class PostgresStore extends SqlBackendStore {
  private readonly pool: PgPool;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  private readonly prepared: boolean;
  private readonly report: ((err: Error) => void) | undefined;

  constructor(options: PostgresStoreOptions) {
    super(optionsObject(options, 'PostgresStore options', false));
    if (options.pool === undefined || typeof options.pool.connect !== 'function') {
      throw new InvalidInputError('PostgresStore needs a pg Pool: new PostgresStore({ pool })');
    }
    this.pool = options.pool;
    this.timeoutMs = intOption(options.timeoutMs, DEFAULT_TIMEOUT_MS, 1, 10 * 60_000, 'timeoutMs');
    this.retries = intOption(options.retries, DEFAULT_RETRIES, 0, MAX_RETRIES, 'retries');
    this.retryBackoffMs = intOption(options.retryBackoffMs, DEFAULT_RETRY_BACKOFF_MS, 0, 10_000, 'retryBackoffMs');
    this.prepared = boolOption(options.preparedStatements, true, 'preparedStatements');
    this.report = options.onError;
    attachPool(this.pool, this.report);
  }

  protected async execute(statement: SqlStatement, intent: SqlIntent): Promise<SqlResult> {
    // Counted from the caller's call: time queued behind other calls on the same id, and the
    // earlier statements of the same update, come out of the same `timeoutMs` (util/time.ts).
    const deadline = operationDeadline(this.timeoutMs);
    let maybeApplied = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(statement, intent, deadline);
      } catch (err) {
        if (!(err instanceof AttemptFailure)) throw err;
        maybeApplied ||= err.maybeApplied;
        const wait = Math.random() * this.retryBackoffMs * 2 ** attempt;
        if (!err.mapped.retryable || attempt >= this.retries || Date.now() + wait >= deadline) {
          throw finalError(err.mapped.error, intent, maybeApplied);
        }
        await sleep(wait);
      }
    }
  }

  private async attempt(statement: SqlStatement, intent: SqlIntent, deadline: number): Promise<SqlResult> {
    const pending = this.pool.connect();
    const client = await raceDeadline(pending, deadline, timedOut).catch((err: unknown) => {
      // Nothing was sent: connection refused, DNS, auth, too many connections...
      const code = sqlStateOf(err);
      const permanent = code !== undefined && (code.startsWith('28') || code === '3D000');
      // Say what to do about the refusals an operator fixes (never the URL: it may hold a password).
      const advice =
        code === '3D000' ? ': the database does not exist (3D000); create it (`createdb NAME`) or fix the database name' : permanent ? `: the server refused the login (${code}); check the user and password` : '';
      throw new AttemptFailure({ error: unavailable(`could not get a connection from the pool${advice}`, err, 'failed', intent), retryable: !permanent }, false);
    });
    if (client === TIMEOUT) {
      // The pool may still hand the client over later: give it straight back.
      pending.then((c) => c.release(), () => {});
      throw new AttemptFailure({ error: unavailable(`no pooled connection within ${this.timeoutMs} ms`, undefined, 'failed', intent), retryable: false }, false);
    }
    guardClient(client);
    if (Date.now() >= deadline) {
      // The budget ran out before anything was sent (spent queued or waiting for the pool).
      client.release();
      throw new AttemptFailure({ error: unavailable(`no time left of the operation's ${this.timeoutMs} ms`, undefined, 'failed', intent), retryable: false }, false);
    }
    const query: Promise<QueryResult> = client.query({
      ...(this.prepared ? { name: statement.name } : {}),
      text: statement.text,
      values: statement.values,
      types: RAW_TYPES,
    });
    let result: QueryResult | typeof TIMEOUT;
    try {
      result = await raceDeadline(query, deadline, timedOut);
    } catch (err) {
      const mapped = mapSqlState(err, intent, this.tableName);
      if (mapped !== undefined) {
        // A server error on a healthy connection keeps it; a dying connection is destroyed.
        const code = sqlStateOf(err) ?? '';
        client.release(code.startsWith('08') || code.startsWith('57P') ? toError(err) : undefined);
        throw new AttemptFailure(mapped, mapped.error instanceof BackendUnavailableError && mapped.error.outcome === 'unknown');
      }
      client.release(toError(err));
      const sent = !notQueryable(err);
      throw new AttemptFailure(
        { error: unavailable('connection lost during the statement', err, sent ? 'unknown' : 'failed', intent), retryable: true },
        sent,
      );
    }
    if (result === TIMEOUT) {
      query.catch(() => {});
      // Destroy the connection: its statement may still be running, and a reused client would
      // queue the next caller's statement behind it.
      client.release(new Error('sealed-session-store: statement timed out'));
      throw new AttemptFailure(
        { error: unavailable(`no answer within ${this.timeoutMs} ms`, undefined, 'unknown', intent), retryable: false },
        true,
      );
    }
    client.release();
    return { rows: result.rows as Array<Record<string, unknown>>, rowCount: result.rowCount ?? result.rows.length };
  }

  protected async executeMigration(statements: string[]): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable('could not get a connection to migrate', err, 'failed', { write: false });
    }
    guardClient(client);
    try {
      await client.query('BEGIN');
      // Serialises concurrent migrate() calls (several processes deploying at once), which would
      // otherwise race inside CREATE TABLE IF NOT EXISTS.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sealed-session-store:${this.tableName.quoted}`]);
      for (const sql of statements) await client.query(sql);
      await client.query('COMMIT');
      client.release();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(toError(err));
      throw mapSqlState(err, { write: false }, this.tableName)?.error ?? unavailable('migration failed', err, 'failed', { write: false });
    }
  }

  protected async release(): Promise<void> {
    detachPool(this.pool, this.report);
  }
}

// ---------------------------------------------------------------------------------------------
// Pool and client listeners
// ---------------------------------------------------------------------------------------------

/**
 * Threat: a connection killed by the server (pg_terminate_backend, failover, restart) makes the
 * pg client emit 'error'. An EventEmitter 'error' with no listener throws, which would crash the
 * whole process: a denial of service any database admin or network blip could trigger. So the
 * pool gets one listener (idle clients) and every client gets one (clients checked out, whose
 * pool-level listener pg-pool removes while they are lent out). The failure itself still reaches
 * the caller of the statement in flight as a typed error.
 */
interface PoolListener {
  stores: number;
  reporters: Set<(err: Error) => void>;
  onError: (err: Error) => void;
  onConnect: (client: PoolClient) => void;
}

const listeners = new WeakMap<PgPool, PoolListener>();
const guarded = new WeakSet<object>();
const ignoreClientError = (): void => {};

function guardClient(client: PoolClient): void {
  if (guarded.has(client)) return;
  guarded.add(client);
  client.on('error', ignoreClientError);
}

/** One pair of listeners per pool however many stores share it (no MaxListeners warnings, no leak). */
function attachPool(pool: PgPool, report: ((err: Error) => void) | undefined): void {
  let l = listeners.get(pool);
  if (l === undefined) {
    const reporters = new Set<(err: Error) => void>();
    l = {
      stores: 0,
      reporters,
      onError: (err) => {
        for (const r of reporters) {
          try {
            r(err);
          } catch {
            // a throwing reporter must not turn a handled error into a crash
          }
        }
      },
      onConnect: (client) => guardClient(client),
    };
    listeners.set(pool, l);
    pool.on('error', l.onError);
    pool.on('connect', l.onConnect);
  }
  l.stores++;
  if (report !== undefined) l.reporters.add(report);
}

function detachPool(pool: PgPool, report: ((err: Error) => void) | undefined): void {
  const l = listeners.get(pool);
  if (l === undefined) return;
  if (report !== undefined) l.reporters.delete(report);
  if (--l.stores > 0) return;
  listeners.delete(pool);
  pool.off('error', l.onError);
  pool.off('connect', l.onConnect);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function unavailable(message: string, cause: unknown, outcome: 'failed' | 'unknown', intent: SqlIntent): BackendUnavailableError {
  return new BackendUnavailableError(message, {
    ...(cause === undefined ? {} : { cause }),
    outcome: intent.write ? outcome : 'failed',
    ...(intent.write && intent.version !== undefined ? { version: intent.version } : {}),
  });
}

/** Once any attempt may have landed, the operation's outcome is `unknown`, whatever the last attempt said. */
function finalError(error: SessionStoreError, intent: SqlIntent, maybeApplied: boolean): SessionStoreError {
  if (error instanceof BackendUnavailableError && intent.write && maybeApplied && error.outcome === 'failed') {
    return unavailable(error.message, error.cause, 'unknown', intent);
  }
  return error;
}

/**
 * pg refuses a statement on a client already known broken or closed without sending anything;
 * those are the only transport errors we can call certainly-not-sent. Matching pg's messages is
 * unavoidable here (it gives them no code); a miss only makes the outcome `unknown`, never wrong.
 */
function notQueryable(err: unknown): boolean {
  return err instanceof Error && /is not queryable/.test(err.message);
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
