/**
 * The SQL shared by PostgresStore (a `pg` pool) and PgliteStore (embedded PGlite): table-name
 * validation, the schema, one builder per statement, row decoding, SQLSTATE mapping, and
 * `SqlBackendStore`, the record-level contract written once over any "run one statement" function.
 *
 * Every operation is ONE statement, so it is atomic without a transaction and never holds a
 * connection across a round trip:
 * - load:          SELECT … WHERE id = $1
 * - save:          INSERT … ON CONFLICT (id) DO UPDATE … RETURNING version
 * - save ifAbsent: INSERT … ON CONFLICT (id) DO UPDATE … WHERE version = <the new version>  (retry-safe no-op)
 * - save ifVersion: UPDATE … WHERE id = $1 AND version IN (<expected>, <the new version>) RETURNING version
 * - delete:        DELETE … RETURNING / a CTE that also says whether another version was there
 * - cleanup:       one locked batch (SELECT … LIMIT $batch FOR UPDATE SKIP LOCKED) deleted by ctid, repeated;
 *                  each batch starts at the previous one's last expiry, not at the start of the index
 * - list:          SELECT id … WHERE id > $cursor AND expires_at > $now ORDER BY id LIMIT $n + 1
 * - list by index: SELECT id … WHERE index_key = $index AND id > $cursor ORDER BY id LIMIT $n + 1
 *
 * Every write carries the new random version token, and each condition also accepts "the row is
 * already at MY new version": a retry of a write whose first attempt landed but whose answer was
 * lost counts as success instead of a false `conflict` (or a duplicate write).
 *
 * Expiry is a bigint of epoch milliseconds compared with the injected clock's `now`, passed as a
 * parameter: the server's clock never decides whether a session is expired.
 */
import { BackendStore, type VersionedStoreOptions } from '../contract/versioned-store.js';
import { idCursor } from '../contract/cursor.js';
import { BackendUnavailableError, ConflictError, InvalidInputError, type SessionStoreError } from '../contract/errors.js';
import { assertIndexKey, assertIndexOption } from '../contract/index-key.js';
import { type KeysetSlotStore, type KeysetWriteCondition, type StoredKeysetText, assertKeysetWrite } from '../contract/keyset-slot.js';
import { encodeRecordValue } from '../contract/record-value.js';
import { type DeleteRecordOptions, type ListOptions, type ListPage, type RecordValue, type SaveRecordOptions, type SessionState, type StoredRecord } from '../contract/store.js';
import { assertExpiresAt, assertSessionId, normalizeLimit } from '../contract/validate.js';
import { newVersion } from '../contract/version.js';
import { intOption } from '../util/options.js';
import type { RandomSource } from '../util/random.js';

export const DEFAULT_TABLE = 'sealed_sessions';
export const DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024;
export const DEFAULT_CLEANUP_BATCH = 1000;
export const MAX_CLEANUP_BATCH = 10_000;

// ---------------------------------------------------------------------------------------------
// Table names
// ---------------------------------------------------------------------------------------------

/**
 * Identifiers: lowercase ASCII letters, digits and `_`, starting with a letter or `_`. The table
 * part is at most 47 characters so the derived index name (`<table>_expires_at_idx`) stays within
 * PostgreSQL's 63-byte limit instead of being silently truncated into a collision.
 */
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const TABLE_RE = /^[a-z_][a-z0-9_]{0,46}$/;

export interface TableName {
  /** As given: `table` or `schema.table`. */
  readonly text: string;
  readonly schema: string | undefined;
  readonly name: string;
  /** Quoted, schema-qualified when a schema was given: safe to splice into SQL. */
  readonly quoted: string;
  /** Quoted name of the expiry index (lives in the table's schema). */
  readonly indexQuoted: string;
  /** Quoted name of the index alone (for CREATE INDEX, which takes no schema). */
  readonly indexNameQuoted: string;
  /** Quoted name of the `index_key` index alone (`<table>_index_key_idx`, within the same 63 bytes). */
  readonly indexKeyIndexNameQuoted: string;
  /** Quoted, schema-qualified name of the keyset table (`<table>_keyset`, schema 3). */
  readonly keysetQuoted: string;
}

/**
 * Validates and quotes a table name (`table` or `schema.table`).
 *
 * Security: the table name is the only thing ever spliced into SQL text (identifiers cannot be
 * bind parameters); everything else is a `$n` parameter. A configurable name is therefore an SQL
 * injection vector, so it is held to a strict allow-list AND double-quoted, rather than escaped.
 * Lowercase only, so the quoted name is the same table a human reaches unquoted in psql.
 */
export function parseTableName(table: string): TableName {
  if (typeof table !== 'string') throw new InvalidInputError('table must be a string');
  const parts = table.split('.');
  if (parts.length > 2) throw new InvalidInputError(`table ${JSON.stringify(table)} must be "name" or "schema.name"`);
  const name = parts[parts.length - 1]!;
  const schema = parts.length === 2 ? parts[0]! : undefined;
  if (!TABLE_RE.test(name)) {
    throw new InvalidInputError(`table name ${JSON.stringify(name)} must match ${TABLE_RE} (lowercase letters, digits, _; at most 47 characters)`);
  }
  if (schema !== undefined && !SCHEMA_RE.test(schema)) {
    throw new InvalidInputError(`schema name ${JSON.stringify(schema)} must match ${SCHEMA_RE} (lowercase letters, digits, _)`);
  }
  const q = (ident: string) => `"${ident}"`;
  const prefix = schema === undefined ? '' : `${q(schema)}.`;
  const index = `${name}_expires_at_idx`;
  return {
    text: table,
    schema,
    name,
    quoted: prefix + q(name),
    indexQuoted: prefix + q(index),
    indexNameQuoted: q(index),
    indexKeyIndexNameQuoted: q(`${name}_index_key_idx`),
    keysetQuoted: prefix + q(`${name}_keyset`),
  };
}

// ---------------------------------------------------------------------------------------------
// Schema and migrations
// ---------------------------------------------------------------------------------------------

/** Schema revision written by `postgresSchema`; a later release adds steps, never edits these. */
export const SCHEMA_VERSION = 3;

/**
 * The DDL for one session table, as idempotent statements (safe to run again on every deploy).
 * The schema of a qualified name must already exist. Hand these to your own migration tool, or
 * call the store's `migrate()`, which runs them in one transaction under an advisory lock.
 *
 * - `id text COLLATE "C"`: byte order, so `listActive`'s `id > $cursor` pages match the index order
 *   under any database locale (ids are visible ASCII).
 * - `value_json jsonb` holds plain states, `value_bytes bytea` sealed envelopes; the CHECK keeps
 *   exactly one of them set.
 * - `expires_at bigint`: epoch milliseconds from the store's injected clock, never `now()`.
 * - `value_bytes` storage EXTERNAL: sealed envelopes are ciphertext, which does not compress, so
 *   PostgreSQL should not spend CPU trying.
 * - fillfactor 90 leaves room on each page for HOT updates (an `update` rewrites the row).
 *
 * Revision 2 (added as steps, so running them migrates a revision-1 table in place):
 * - `index_key text`: the index a record is filed under (`SaveRecordOptions.index`, a keyed hash
 *   of the session's subject under `secureStore`), NULL when none; a partial index on
 *   `(index_key, id)` serves `listByIndex`. Existing rows start unfiled; the ownership layer files
 *   a session on its next write.
 *
 * Revision 3: `<table>_keyset`, the keyset slot (contract/keyset-slot.ts): one row (`name` =
 * 'keyset') holding the keyset text, wrapped under the keyring's key-encryption key, and its
 * version. A table of its own, so no session listing, cleanup or re-key can ever reach it, and it
 * has no expiry at all. A revision-2 table keeps working; only a store-held keyset needs it.
 */
export function postgresSchema(table: string = DEFAULT_TABLE): string[] {
  const t = parseTableName(table);
  return [
    `CREATE TABLE IF NOT EXISTS ${t.quoted} (
  id text COLLATE "C" PRIMARY KEY,
  value_json jsonb,
  value_bytes bytea,
  version text NOT NULL,
  expires_at bigint NOT NULL,
  CONSTRAINT "one_value" CHECK ((value_json IS NULL) <> (value_bytes IS NULL))
) WITH (fillfactor = 90)`,
    `CREATE INDEX IF NOT EXISTS ${t.indexNameQuoted} ON ${t.quoted} (expires_at)`,
    `ALTER TABLE ${t.quoted} ALTER COLUMN value_bytes SET STORAGE EXTERNAL`,
    // Revision 2.
    `ALTER TABLE ${t.quoted} ADD COLUMN IF NOT EXISTS index_key text`,
    `CREATE INDEX IF NOT EXISTS ${t.indexKeyIndexNameQuoted} ON ${t.quoted} (index_key, id) WHERE index_key IS NOT NULL`,
    // Revision 3.
    `CREATE TABLE IF NOT EXISTS ${t.keysetQuoted} (
  name text COLLATE "C" PRIMARY KEY,
  body text NOT NULL,
  version text NOT NULL
)`,
    `COMMENT ON TABLE ${t.quoted} IS 'sealed-session-store schema ${SCHEMA_VERSION}'`,
  ];
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

/** One parameterized statement. `name` is stable per (table, statement) for prepared-statement caches. */
export interface SqlStatement {
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

/** What a statement is, so a runner can report a failed write's outcome and version. */
export interface SqlIntent {
  readonly write: boolean;
  /** The version token a write would produce. */
  readonly version?: string;
}

export interface SqlResult {
  rows: Array<Record<string, unknown>>;
  /** Rows affected (DELETE / UPDATE / INSERT) or returned (SELECT). */
  rowCount: number;
}

const COLS = 'id, value_json, value_bytes, version, expires_at, index_key';

/** The statement texts for one table, built once; the builders below only add parameters. */
export function buildStatements(table: TableName) {
  const t = table.quoted;
  const texts = {
    load: `SELECT value_json::text AS value_json, value_bytes, version, expires_at FROM ${t} WHERE id = $1`,
    // A save without an index ($6 NULL) leaves an existing row filed where it is.
    save: `INSERT INTO ${t} AS s (${COLS}) VALUES ($1, $2::text::jsonb, $3::bytea, $4, $5::bigint, $6::text)
ON CONFLICT (id) DO UPDATE SET value_json = EXCLUDED.value_json, value_bytes = EXCLUDED.value_bytes,
  version = EXCLUDED.version, expires_at = EXCLUDED.expires_at, index_key = COALESCE(EXCLUDED.index_key, s.index_key)
RETURNING version`,
    // Conflict on an existing row, unless that row is this very write (a retry): then a no-op.
    saveIfAbsent: `INSERT INTO ${t} AS s (${COLS}) VALUES ($1, $2::text::jsonb, $3::bytea, $4, $5::bigint, $6::text)
ON CONFLICT (id) DO UPDATE SET version = s.version WHERE s.version = EXCLUDED.version
RETURNING version`,
    // UPDATE, not an upsert: a row deleted meanwhile must give `conflict`, never be resurrected.
    saveIfVersion: `UPDATE ${t} SET value_json = $2::text::jsonb, value_bytes = $3::bytea, version = $4, expires_at = $5::bigint,
  index_key = COALESCE($7::text, index_key)
WHERE id = $1 AND (version = $6 OR version = $4)
RETURNING version`,
    delete: `DELETE FROM ${t} WHERE id = $1`,
    // The outer SELECT sees the snapshot before the DELETE: `present` says whether a row (of any
    // version) was there, so "absent" (false) and "another version" (conflict) stay distinct.
    deleteIfVersion: `WITH d AS (DELETE FROM ${t} WHERE id = $1 AND version = $2 RETURNING 1)
SELECT (SELECT count(*) FROM d)::int AS deleted, (SELECT count(*) FROM ${t} WHERE id = $1)::int AS present`,
    list: `SELECT id FROM ${t} WHERE id > $1 AND expires_at > $2::bigint ORDER BY id LIMIT $3`,
    // Expired rows too (the caller decides): the partial index on (index_key, id) serves it.
    listByIndex: `SELECT id FROM ${t} WHERE index_key = $1 AND id > $2 ORDER BY id LIMIT $3`,
    // SKIP LOCKED: two cleaners (or a cleaner and an update) never wait on each other or deadlock;
    // the DELETE re-checks expiry on the locked row. `expires_at >= $3` (the last batch's highest
    // expiry) starts each batch where the previous one ended: starting at the beginning of the index
    // every time would walk past every entry the earlier batches deleted (dead until vacuum), which
    // made a cleanup of N sessions cost O(N^2 / batch). Rows are deleted by ctid: they are locked by
    // this very statement, so their ctid cannot change, and no second lookup by id is needed.
    cleanup: `WITH batch AS (
  SELECT ctid, expires_at FROM ${t} WHERE expires_at <= $1::bigint AND expires_at >= $3::bigint
  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM ${t} WHERE ctid = ANY (ARRAY(SELECT ctid FROM batch)) AND expires_at <= $1::bigint RETURNING 1
)
SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM batch)::int AS locked, (SELECT max(expires_at) FROM batch)::text AS last`,
    // The keyset slot: conditional writes only, each accepting "already at MY new version" (a retry).
    keysetLoad: `SELECT body, version FROM ${table.keysetQuoted} WHERE name = $1`,
    keysetInsert: `INSERT INTO ${table.keysetQuoted} AS k (name, body, version) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET version = k.version WHERE k.version = EXCLUDED.version
RETURNING version`,
    keysetUpdate: `UPDATE ${table.keysetQuoted} SET body = $2, version = $3 WHERE name = $1 AND (version = $4 OR version = $3) RETURNING version`,
    keysetDelete: `DELETE FROM ${table.keysetQuoted} WHERE name = $1`,
  };
  type Kind = keyof typeof texts;
  const names = Object.fromEntries(Object.entries(texts).map(([k, text]) => [k, `sss_${k}_${hash64(text)}`])) as Record<Kind, string>;
  const st = (kind: Kind, values: unknown[]): SqlStatement => ({ name: names[kind], text: texts[kind], values });
  return {
    load: (id: string) => st('load', [id]),
    save: (id: string, v: EncodedValue, version: string, expiresAt: number, index: string | null = null) =>
      st('save', [id, v.json, v.bytes, version, expiresAt, index]),
    saveIfAbsent: (id: string, v: EncodedValue, version: string, expiresAt: number, index: string | null = null) =>
      st('saveIfAbsent', [id, v.json, v.bytes, version, expiresAt, index]),
    saveIfVersion: (id: string, v: EncodedValue, version: string, expiresAt: number, expected: string, index: string | null = null) =>
      st('saveIfVersion', [id, v.json, v.bytes, version, expiresAt, expected, index]),
    delete: (id: string) => st('delete', [id]),
    deleteIfVersion: (id: string, expected: string) => st('deleteIfVersion', [id, expected]),
    list: (after: string, now: number, limit: number) => st('list', [after, now, limit]),
    listByIndex: (index: string, after: string, limit: number) => st('listByIndex', [index, after, limit]),
    cleanup: (now: number, batch: number, from: number) => st('cleanup', [now, batch, from]),
    keysetLoad: () => st('keysetLoad', [KEYSET_ROW]),
    keysetInsert: (body: string, version: string) => st('keysetInsert', [KEYSET_ROW, body, version]),
    keysetUpdate: (body: string, version: string, expected: string) => st('keysetUpdate', [KEYSET_ROW, body, version, expected]),
    keysetDelete: () => st('keysetDelete', [KEYSET_ROW]),
  };
}

export type Statements = ReturnType<typeof buildStatements>;

/** The one row of the keyset table. */
const KEYSET_ROW = 'keyset';

/** FNV-1a twice (two offsets) -> 16 hex digits; names prepared statements, not a security hash. */
function hash64(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------
// Values and rows
// ---------------------------------------------------------------------------------------------

export interface EncodedValue {
  json: string | null;
  bytes: Uint8Array | null;
}

/**
 * Decodes a `bytea` column: drivers hand back a Uint8Array/Buffer, or (with text parsers) the
 * `\x…` hex form. Always returns a fresh plain Uint8Array the caller may keep.
 */
export function decodeBytea(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (typeof v === 'string' && v.startsWith('\\x') && v.length % 2 === 0) {
    const hex = v.slice(2);
    if (/^[0-9a-fA-F]*$/.test(hex)) {
      const out = new Uint8Array(hex.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
      return out;
    }
  }
  throw new BackendUnavailableError('backend returned a bytea column in an unexpected form');
}

/** Decodes a `bigint` column (string by default in pg, number or BigInt elsewhere) to a number. */
export function decodeBigint(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' || typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new BackendUnavailableError('backend returned a bigint column out of range');
  return n;
}

/**
 * Decodes a row of `load`. JSON comes back as text (`value_json::text`) and is parsed here:
 * JSON.parse defines every key as an own data property, so a stored `__proto__` key comes back
 * as plain data and never becomes a prototype (prototype pollution), whatever parser the driver
 * would have applied to jsonb. jsonb itself keeps neither key order nor duplicate keys, which a
 * JSON object state does not promise anyway.
 */
export function decodeRecord(row: Record<string, unknown>): StoredRecord {
  const json = row.value_json;
  const value: RecordValue =
    typeof json === 'string' ? (JSON.parse(json) as SessionState) : decodeBytea(row.value_bytes);
  return { value, version: String(row.version), expiresAt: decodeBigint(row.expires_at) };
}

const cursors = idCursor('q1.');
const indexCursors = idCursor('qx1.');

export const encodeCursor = (id: string): string => cursors.encode(id);
export const decodeCursor = (cursor: unknown): string => cursors.decode(cursor);

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** A failure, mapped, with whether trying the same statement again may help. */
export interface MappedFailure {
  error: SessionStoreError;
  retryable: boolean;
}

/** The SQLSTATE of a server error (pg and PGlite both raise pg-protocol's DatabaseError). */
export function sqlStateOf(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; severity?: unknown };
  // `severity` tells a server error from a Node errno error such as EPIPE, which is also 5 letters.
  return typeof e.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
}

/**
 * Maps a server error (one carrying a SQLSTATE) for a statement that reached the server.
 * Returns undefined for anything else (transport errors are the runner's business).
 */
export function mapSqlState(err: unknown, intent: SqlIntent, table: TableName): MappedFailure | undefined {
  const code = sqlStateOf(err);
  if (code === undefined) return undefined;
  const unavailable = (message: string, outcome: 'failed' | 'unknown', retryable: boolean): MappedFailure => ({
    error: new BackendUnavailableError(`${message} (SQLSTATE ${code})`, {
      cause: err,
      outcome: intent.write ? outcome : 'failed',
      ...(intent.write && intent.version !== undefined ? { version: intent.version } : {}),
    }),
    retryable,
  });
  switch (code) {
    case '22P05': // untranslatable character: "\u0000" in a jsonb string
    case '22P02': // invalid text representation: an unpaired surrogate in a jsonb string
    case '22021': // character not in repertoire
    case '54000': // program limit exceeded (e.g. a jsonb object too large)
      return {
        error: new InvalidInputError(
          'PostgreSQL jsonb cannot hold this state (strings with \\u0000 or unpaired surrogates, or over jsonb limits); nothing was written',
          { cause: err },
        ),
        retryable: false,
      };
    case '42703': // undefined column: a table of an earlier schema revision
      return unavailable(`table ${table.text} is of an earlier schema revision: run the store's migrate() or apply postgresSchema()`, 'failed', false);
    case '42P01': // undefined table
      return unavailable(
        `table ${table.text} does not exist: run the store's migrate() (createSessionStore: migrate: true, or SSS_MIGRATE=1) or apply postgresSchema()`,
        'failed',
        false,
      );
    case '3F000': // invalid schema name: migrate() creates the table, never its schema
      return unavailable(
        `schema ${table.schema ?? 'of the table'} does not exist: create it (CREATE SCHEMA ${table.schema ?? '...'}), then run migrate() (migrate: true, or SSS_MIGRATE=1) to create table ${table.text}`,
        'failed',
        false,
      );
    case '57014': // query canceled (statement_timeout): the statement was rolled back
      return unavailable('statement canceled (statement_timeout?)', 'failed', false);
    case '40001': // serialization failure
    case '40P01': // deadlock detected: the statement was rolled back
      return unavailable('statement rolled back by the server', 'failed', true);
    case '57P01': // admin shutdown (pg_terminate_backend, smart/fast shutdown)
    case '57P02': // crash shutdown
    case '57P03': // cannot connect now (starting up / shutting down)
      // The backend died with our statement in flight: it may have committed just before.
      return unavailable('server terminated the connection', code === '57P03' ? 'failed' : 'unknown', true);
    default:
      if (code.startsWith('08')) return unavailable('connection failure', 'unknown', true);
      if (code.startsWith('53')) return unavailable('server out of resources', 'failed', true);
      return unavailable('statement failed', 'failed', false);
  }
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

export interface SqlStoreOptions extends VersionedStoreOptions {
  /** `name` or `schema.name`; lowercase letters, digits and `_`. Default `sealed_sessions`. */
  table?: string;
  /** Random source for version tokens. */
  random?: RandomSource;
  /** Largest single record (serialized JSON or bytes); bigger writes fail with `payload_too_large`. Default 4 MiB. */
  maxRecordBytes?: number;
  /** Rows deleted per statement by `cleanupExpired` (1..10,000). Default 1000. */
  cleanupBatchSize?: number;
}

/**
 * The record-level contract over any function that runs one statement. Subclasses supply
 * `execute` (run it, map failures to typed errors), `executeMigration` and `release`.
 */
export abstract class SqlBackendStore extends BackendStore implements KeysetSlotStore {
  /** The table this store uses, as given (`name` or `schema.name`). */
  readonly table: string;
  protected readonly tableName: TableName;
  protected readonly statements: Statements;
  protected readonly random: RandomSource | undefined;
  protected readonly maxRecordBytes: number;
  protected readonly cleanupBatchSize: number;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(options: SqlStoreOptions = {}) {
    super(options);
    this.tableName = parseTableName(options.table ?? DEFAULT_TABLE);
    this.table = this.tableName.text;
    this.statements = buildStatements(this.tableName);
    this.random = options.random;
    this.maxRecordBytes = intOption(options.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES, 1, Number.MAX_SAFE_INTEGER, 'maxRecordBytes');
    this.cleanupBatchSize = intOption(options.cleanupBatchSize, DEFAULT_CLEANUP_BATCH, 1, MAX_CLEANUP_BATCH, 'cleanupBatchSize');
  }


  /** `saveRecord` validates every plain state where it serializes it (`serializeState`): `save` / `update` check only its top level. */
  protected override readonly serializesOnSave = true;

  /** Runs one statement; rejects only with typed errors (`backend_unavailable`, `invalid_input`). */
  protected abstract execute(statement: SqlStatement, intent: SqlIntent): Promise<SqlResult>;
  /** Runs DDL statements as one unit (a transaction), serialized against other migrators. */
  protected abstract executeMigration(statements: string[]): Promise<void>;
  /** Releases what this store itself acquired (listeners, an owned database, a lock). */
  protected abstract release(): Promise<void>;

  /**
   * Creates the table and index if missing (idempotent). Never run implicitly: schema changes
   * are an explicit deploy step, and the database role serving traffic may lack DDL rights.
   */
  async migrate(): Promise<void> {
    this.assertOpen();
    await this.track(this.executeMigration(postgresSchema(this.table)));
  }

  async loadRecord(id: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    assertSessionId(id);
    const res = await this.run(this.statements.load(id), { write: false });
    const row = res.rows[0];
    return row === undefined ? undefined : decodeRecord(row);
  }

  async saveRecord(id: string, value: RecordValue, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertSessionId(id);
    assertExpiresAt(options.expiresAt);
    assertIndexOption(options);
    const index = options.index ?? null;
    // bigint column: whole milliseconds, rounded up so a record never expires earlier than asked.
    const expiresAt = Math.ceil(options.expiresAt);
    if (!Number.isSafeInteger(expiresAt)) throw new InvalidInputError('expiresAt is out of range');
    const { json, bytes } = encodeRecordValue(value, this.maxRecordBytes);
    const encoded: EncodedValue = { json: json ?? null, bytes: bytes ?? null };
    const version = newVersion(this.random);
    const { ifAbsent, ifVersion } = options;
    // Both conditions at once can never hold (absent AND at a version): the same `conflict` as
    // MemoryStore gives, without a round trip.
    if (ifAbsent === true && ifVersion !== undefined) throw new ConflictError();
    const st =
      ifVersion !== undefined
        ? this.statements.saveIfVersion(id, encoded, version, expiresAt, ifVersion, index)
        : ifAbsent === true
          ? this.statements.saveIfAbsent(id, encoded, version, expiresAt, index)
          : this.statements.save(id, encoded, version, expiresAt, index);
    const res = await this.run(st, { write: true, version });
    if (res.rows.length === 0) throw new ConflictError(ifAbsent === true ? 'record already exists' : undefined);
    return version;
  }

  async deleteRecord(id: string, options: DeleteRecordOptions = {}): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    if (options.ifVersion === undefined) {
      const res = await this.run(this.statements.delete(id), { write: true });
      return res.rowCount > 0;
    }
    const res = await this.run(this.statements.deleteIfVersion(id, options.ifVersion), { write: true });
    const row = res.rows[0] ?? {};
    if (Number(row.deleted) > 0) return true;
    if (Number(row.present) > 0) throw new ConflictError();
    return false;
  }

  async listActive(options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    const limit = normalizeLimit(options.limit);
    const after = options.cursor === undefined ? '' : decodeCursor(options.cursor);
    // One extra row says whether another page exists, so the last page carries no cursor.
    const res = await this.run(this.statements.list(after, this.now(), limit + 1), { write: false });
    const ids = res.rows.slice(0, limit).map((r) => String(r.id));
    const last = ids[ids.length - 1];
    return res.rows.length > limit && last !== undefined ? { ids, cursor: encodeCursor(last) } : { ids };
  }

  /** Ids filed under `index` (expired rows too, until cleanup), in id order. */
  async listByIndex(index: string, options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    assertIndexKey(index);
    const limit = normalizeLimit(options.limit);
    const after = options.cursor === undefined ? '' : indexCursors.decode(options.cursor);
    const res = await this.run(this.statements.listByIndex(index, after, limit + 1), { write: false });
    const ids = res.rows.slice(0, limit).map((r) => String(r.id));
    const last = ids[ids.length - 1];
    return res.rows.length > limit && last !== undefined ? { ids, cursor: indexCursors.encode(last) } : { ids };
  }

  /**
   * Deletes expired records `cleanupBatchSize` at a time (each batch one short statement, so no
   * long lock or huge transaction) and resolves the true number deleted. Rows locked by a
   * concurrent writer are skipped and left for the next run.
   */
  async cleanupExpired(): Promise<number> {
    this.assertOpen();
    const now = this.now();
    let total = 0;
    // Expiries are epoch milliseconds; nothing a store writes is below this.
    let from = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const res = await this.run(this.statements.cleanup(now, this.cleanupBatchSize, from), { write: true });
      const row = res.rows[0] ?? {};
      total += Number(row.deleted ?? 0);
      if (Number(row.locked ?? 0) < this.cleanupBatchSize || row.last === null || row.last === undefined) return total;
      from = Number(row.last);
      this.assertOpen();
    }
  }

  /** The keyset slot: the one row of `<table>_keyset` (schema 3; contract/keyset-slot.ts). */
  async loadKeysetText(): Promise<StoredKeysetText | undefined> {
    this.assertOpen();
    const res = await this.keysetRun(this.statements.keysetLoad(), { write: false });
    const row = res.rows[0];
    return row === undefined ? undefined : { text: String(row.body), version: String(row.version) };
  }

  async saveKeysetText(text: string, condition: KeysetWriteCondition): Promise<string> {
    this.assertOpen();
    const { ifAbsent, ifVersion } = assertKeysetWrite(text, condition);
    const version = newVersion(this.random);
    const st = ifAbsent ? this.statements.keysetInsert(text, version) : this.statements.keysetUpdate(text, version, ifVersion!);
    const res = await this.keysetRun(st, { write: true, version });
    if (res.rows.length === 0) throw new ConflictError(ifAbsent ? 'a keyset is already stored' : 'the stored keyset changed concurrently');
    return version;
  }

  async deleteKeysetText(): Promise<boolean> {
    this.assertOpen();
    const res = await this.keysetRun(this.statements.keysetDelete(), { write: true });
    return res.rowCount > 0;
  }

  /** A missing keyset table means a table of schema revision 2: say which table and what to run. */
  private async keysetRun(statement: SqlStatement, intent: SqlIntent): Promise<SqlResult> {
    try {
      return await this.run(statement, intent);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (err instanceof BackendUnavailableError && sqlStateOf(cause) === '42P01') {
        throw new BackendUnavailableError(`the keyset table of ${this.table} does not exist (schema revision 3): run the store's migrate() or apply postgresSchema()`, { cause, outcome: 'failed' });
      }
      throw err;
    }
  }

  protected override async onClose(): Promise<void> {
    // Reads and listings are not queued per id: let those already started finish first.
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.release();
  }

  private run(statement: SqlStatement, intent: SqlIntent): Promise<SqlResult> {
    return this.track(this.execute(statement, intent));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }
}
