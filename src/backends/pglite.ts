/**
 * PgliteStore: the PostgreSQL backend's SQL (./sql.ts, shared, not copied) on PGlite, an
 * embedded WASM PostgreSQL with a data directory (`sealed-session-store/pglite`). One machine
 * keeps its sessions across restarts with no server to run.
 *
 * PGlite is one connection inside one process, so:
 * - every operation is already a single statement (nothing to interleave on the one connection);
 * - `PgliteStore.open({ dataDir })` takes a pid lock file in `dataDir` first, and a second opener
 *   (another process, or a second open in this one) is refused with `DataDirLockedError`;
 * - `@electric-sql/pglite` (optional peer dependency) is imported lazily inside `open()`, so
 *   importing the package core never loads it.
 *
 * Layout of `dataDir`: `pgdata/` (PGlite's database files) and `sealed-session-store.lock`.
 * The lock lives beside, not inside, PGlite's directory, because PostgreSQL's initdb refuses a
 * non-empty directory.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PGliteInterface, PGliteOptions } from '@electric-sql/pglite';
import { BackendUnavailableError, InvalidInputError } from '../contract/errors.js';
import { acquireLock, type LockHandle } from '../util/lockfile.js';
import { importPeer } from '../util/peer.js';
import { optionsObject } from '../util/options.js';
import { mapSqlState, SqlBackendStore, type SqlIntent, type SqlResult, type SqlStatement, type SqlStoreOptions } from './sql.js';

export { DEFAULT_TABLE, postgresSchema, SCHEMA_VERSION } from './sql.js';

export const LOCK_FILE = 'sealed-session-store.lock';
export const PGDATA_DIR = 'pgdata';

/** The part of a PGlite instance this store uses. */
export type PgliteDatabase = Pick<PGliteInterface, 'query' | 'transaction' | 'close' | 'closed'>;

export interface PgliteStoreOptions extends SqlStoreOptions {
  /** An open PGlite instance. Not closed by `close()`: whoever opened it owns it. */
  db: PgliteDatabase;
}

export interface PgliteOpenOptions extends SqlStoreOptions {
  /** Directory for this store's database (created if missing). */
  dataDir: string;
  /** Run `migrate()` once opened. Default false: schema changes stay an explicit decision. */
  migrate?: boolean;
  /** Extra options for `PGlite.create` (not `dataDir`). */
  pglite?: Omit<PGliteOptions, 'dataDir'>;
}

/**
 * Another live process (or this one) holds the data directory; `code` is `backend_unavailable`.
 *
 * Threat: PGlite is one PostgreSQL backend inside one process, with no shared-memory lock of its
 * own. Two processes (a server and a CLI re-key beside it) opening the same directory would each
 * write pages the other does not know about and corrupt it; the pid lock file (util/lockfile.ts)
 * turns that into this typed refusal.
 */
export class DataDirLockedError extends BackendUnavailableError {
  readonly lockPath: string;
  /** The holder's pid, when the lock could be read. */
  readonly pid: number | undefined;
  constructor(lockPath: string, pid: number | undefined, detail: string) {
    super(`data directory is locked (${lockPath}): ${detail}`, { outcome: 'failed' });
    this.lockPath = lockPath;
    this.pid = pid;
  }
}

interface Owned {
  lock: LockHandle;
}

export class PgliteStore extends SqlBackendStore {
  /** The PGlite instance: share it with more stores (`new PgliteStore({ db: store.db, table })`). */
  readonly db: PgliteDatabase;
  private owned: Owned | undefined;

  constructor(options: PgliteStoreOptions) {
    super(optionsObject(options, 'PgliteStore options', false));
    if (options.db === undefined || typeof options.db.query !== 'function') {
      throw new InvalidInputError('PgliteStore needs a PGlite instance: new PgliteStore({ db }) or PgliteStore.open({ dataDir })');
    }
    this.db = options.db;
  }

  /**
   * Locks `dataDir`, starts PGlite on it (seconds: reuse the store, or share its `db`), and
   * returns a store that owns both: `close()` closes the instance and releases the lock.
   * Rejects `DataDirLockedError` when another live process holds the directory.
   */
  static async open(options: PgliteOpenOptions): Promise<PgliteStore> {
    if (typeof options.dataDir !== 'string' || options.dataDir === '') throw new InvalidInputError('dataDir must be a directory path');
    const dir = resolve(options.dataDir);
    await mkdir(dir, { recursive: true });
    const lock = await acquireLock(join(dir, LOCK_FILE), { stale: 'pid', busy: (b) => new DataDirLockedError(b.path, b.pid, b.detail) });
    let db: PgliteDatabase | undefined;
    try {
      const mod = await importPeer('@electric-sql/pglite', () => import('@electric-sql/pglite'), 'PgliteStore.open');
      try {
        db = await mod.PGlite.create(join(dir, PGDATA_DIR), options.pglite ?? {});
      } catch (err) {
        throw new BackendUnavailableError(`PGlite could not open ${join(dir, PGDATA_DIR)}`, { cause: err });
      }
      const store = new PgliteStore({ ...options, db });
      store.owned = { lock };
      if (options.migrate === true) await store.migrate();
      return store;
    } catch (err) {
      await db?.close().catch(() => {});
      await lock.release();
      throw err;
    }
  }

  protected async execute(statement: SqlStatement, intent: SqlIntent): Promise<SqlResult> {
    const closed = this.db.closed;
    try {
      const res = await this.db.query<Record<string, unknown>>(statement.text, statement.values);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    } catch (err) {
      const mapped = mapSqlState(err, intent, this.tableName);
      if (mapped !== undefined) throw mapped.error;
      // In-process: a closed instance refused before doing anything; any other fault mid-statement
      // leaves a write's outcome unknown.
      const outcome = closed || this.db.closed ? 'failed' : 'unknown';
      throw new BackendUnavailableError(closed ? 'PGlite instance is closed' : 'PGlite failed', {
        cause: err,
        outcome: intent.write ? outcome : 'failed',
        ...(intent.write && intent.version !== undefined ? { version: intent.version } : {}),
      });
    }
  }

  protected async executeMigration(statements: string[]): Promise<void> {
    try {
      await this.db.transaction(async (tx) => {
        for (const sql of statements) await tx.exec(sql);
      });
    } catch (err) {
      throw mapSqlState(err, { write: false }, this.tableName)?.error ?? new BackendUnavailableError('migration failed', { cause: err });
    }
  }

  protected async release(): Promise<void> {
    const owned = this.owned;
    if (owned === undefined) return;
    this.owned = undefined;
    try {
      await this.db.close();
    } finally {
      await owned.lock.release();
    }
  }
}
