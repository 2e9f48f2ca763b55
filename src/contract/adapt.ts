/**
 * `adaptSessionStoreSingleProcess`: gives a user-written store that offers only the session-level
 * methods the record-level contract the security layers need.
 *
 * SINGLE PROCESS ONLY. The conditional writes are made atomic by serialising them per id inside
 * this process (read, compare, write under a lock). Two processes sharing the inner store can both
 * pass the comparison and one write is lost. For several processes, implement the record level
 * natively (extend `BackendStore`), as the Redis and PostgreSQL backends do.
 *
 * Each record is kept in the inner store as a wrapper state
 *   { "sss:record": 1, v: version, e: expiresAt, j?: state, b?: base64url bytes }
 * saved with a TTL of `expiresAt + graceMs`, so the inner store keeps an expired record for the
 * grace window and `expired` stays distinguishable from `not_found` for that long.
 */
import { base64urlDecode, base64urlEncode, utf8Decode, utf8Encode } from '../util/bytes.js';
import { intOption } from '../util/options.js';
import type { RandomSource } from '../util/random.js';
import { BackendStore, type VersionedStoreOptions } from './versioned-store.js';
import { ConflictError, IntegrityError, InvalidInputError, isSessionStoreError } from './errors.js';
import { assertIndexOption } from './index-key.js';
import { KeyedQueue } from './queue.js';
import type {
  DeleteRecordOptions,
  ListOptions,
  ListPage,
  RecordStore,
  RecordValue,
  SaveRecordOptions,
  SessionState,
  SessionStore,
  StoredRecord,
} from './store.js';
import { MAX_TTL_MS, assertExpiresAt, assertSessionId, assertState, normalizeLimit } from './validate.js';
import { newVersion } from './version.js';

export interface AdaptOptions extends VersionedStoreOptions {
  /** How long past its expiry the inner store keeps a record; default 1 hour. */
  graceMs?: number;
  random?: RandomSource;
}

const MARK = 'sss:record';

class SingleProcessAdapter extends BackendStore {
  /** Record-level operations per id, separate from the session-level queue they run inside. */
  private readonly recordLocks = new KeyedQueue();
  private readonly graceMs: number;
  private readonly random: RandomSource | undefined;

  constructor(
    private readonly inner: SessionStore,
    options: AdaptOptions,
  ) {
    super(options);
    this.graceMs = intOption(options.graceMs, 60 * 60 * 1000, 0, MAX_TTL_MS, 'graceMs');
    this.random = options.random;
  }

  /** `saveRecord` validates the whole state where it serializes it: `save` / `update` check its top level. */
  protected override readonly serializesOnSave = true;

  override async start(): Promise<void> {
    await this.inner.start?.();
  }

  async loadRecord(id: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    assertSessionId(id);
    return this.read(id);
  }

  private async read(id: string): Promise<StoredRecord | undefined> {
    let wrapped: SessionState;
    try {
      wrapped = await this.inner.load(id);
    } catch (err) {
      // Past the grace window the inner store may say either; both mean "gone" here.
      if (isSessionStoreError(err, 'not_found') || isSessionStoreError(err, 'expired')) return undefined;
      throw err;
    }
    return unwrap(wrapped);
  }

  async saveRecord(id: string, value: RecordValue, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertSessionId(id);
    assertExpiresAt(options.expiresAt);
    // `index` is checked, then ignored: this adapter keeps no per-index listing (no `listByIndex`),
    // so callers fall back to walking `listActive` (documented in docs/contract.md).
    assertIndexOption(options);
    if (!(value instanceof Uint8Array)) assertState(value, 'record');
    return this.recordLocks.run(id, async () => {
      if (options.ifAbsent === true || options.ifVersion !== undefined) {
        const current = await this.read(id);
        if (options.ifAbsent === true && current !== undefined) throw new ConflictError('record already exists');
        if (options.ifVersion !== undefined && current?.version !== options.ifVersion) throw new ConflictError();
      }
      const version = newVersion(this.random);
      const wrapped: SessionState =
        value instanceof Uint8Array
          ? { [MARK]: 1, v: version, e: options.expiresAt, b: base64urlEncode(value) }
          : { [MARK]: 1, v: version, e: options.expiresAt, j: value };
      const ttlMs = Math.max(1, options.expiresAt - this.now() + this.graceMs);
      await this.inner.save(id, wrapped, { ttlMs });
      return version;
    });
  }

  async deleteRecord(id: string, options: DeleteRecordOptions = {}): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    return this.recordLocks.run(id, async () => {
      const current = await this.read(id);
      if (current === undefined) return false;
      if (options.ifVersion !== undefined && current.version !== options.ifVersion) throw new ConflictError();
      await this.inner.delete(id);
      return true;
    });
  }

  async listActive(options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    const limit = normalizeLimit(options.limit);
    const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    // The inner store still lists records inside their grace window; keep only the live ones.
    const page = await this.inner.listActive(cursor === undefined ? { limit } : { limit, cursor });
    const now = this.now();
    const ids: string[] = [];
    for (const id of page.ids) {
      const rec = await this.read(id);
      if (rec !== undefined && rec.expiresAt > now) ids.push(id);
    }
    return page.cursor === undefined ? { ids } : { ids, cursor: CURSOR_PREFIX + base64urlEncode(utf8Encode(page.cursor)) };
  }

  async cleanupExpired(): Promise<number> {
    this.assertOpen();
    const now = this.now();
    let removed = 0;
    let cursor: string | undefined;
    do {
      const page = await this.inner.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
      for (const id of page.ids) {
        const gone = await this.recordLocks.run(id, async () => {
          const rec = await this.read(id);
          if (rec === undefined || rec.expiresAt > now) return false;
          await this.inner.delete(id);
          return true;
        });
        if (gone) removed++;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return removed + (await this.inner.cleanupExpired());
  }

  protected override async onClose(): Promise<void> {
    await this.recordLocks.idle();
    await this.inner.close();
  }
}

const CURSOR_PREFIX = 'a1.';

/** Only cursors this adapter issued are passed on, so a forged cursor never reaches the inner store. */
function decodeCursor(cursor: string): string {
  const bytes = typeof cursor === 'string' && cursor.startsWith(CURSOR_PREFIX) ? base64urlDecode(cursor.slice(CURSOR_PREFIX.length)) : undefined;
  const inner = bytes === undefined ? undefined : utf8Decode(bytes);
  if (inner === undefined) throw new InvalidInputError('cursor is not one this store issued');
  return inner;
}

function unwrap(wrapped: SessionState): StoredRecord {
  const { v, e, j, b } = wrapped;
  // Anything else in the inner store under our id is not a record we wrote.
  if (wrapped[MARK] !== 1 || typeof v !== 'string' || typeof e !== 'number') throw new IntegrityError();
  if (typeof b === 'string') {
    const bytes = base64urlDecode(b);
    if (bytes === undefined) throw new IntegrityError();
    return { value: bytes, version: v, expiresAt: e };
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new IntegrityError();
  return { value: j, version: v, expiresAt: e };
}

/**
 * Adapts a session-level-only store to the record-level contract. SINGLE PROCESS ONLY: see the
 * header of this file. The name says so because using it from several processes loses updates.
 */
export function adaptSessionStoreSingleProcess(store: SessionStore, options: AdaptOptions = {}): RecordStore {
  return new SingleProcessAdapter(store, options);
}
