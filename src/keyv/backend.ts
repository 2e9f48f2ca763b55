/**
 * `keyvBackend(keyv)`: any Keyv store (`@keyv/redis`, `@keyv/postgres`, a `Map`, ...) as the
 * record store UNDER the security layers: `secureStore(keyvBackend(keyv), { keyring })`. The
 * other direction (`sealedKeyv`, store.ts) puts a Keyv front on a secure store.
 *
 * SINGLE PROCESS ONLY. Keyv has no compare-and-swap: the conditional writes the layers rely on
 * (create-if-absent, write-if-version) are made atomic by a per-id lock inside this process, as
 * `adaptSessionStoreSingleProcess` does. Two processes (or two Keyv instances) writing the same
 * records can both pass the comparison, and one update is lost. The lock is shared by every
 * backend made over the same Keyv instance and prefix, so several `keyvBackend` calls in one
 * process stay safe. For several processes, use the native Redis or PostgreSQL backend.
 *
 * Each record is one Keyv entry `<prefix><id>` holding the JSON text of
 *   { v: version, e: expiresAt, j?: state, b?: base64url bytes }
 * with a Keyv TTL of `expiresAt - now + graceMs`, so an expired record is still there (and reads
 * as `expired`, not `not_found`) for the grace window. Keyv must be built with
 * `throwOnErrors: true`: by default it turns a failed read into "no value" and a failed write into
 * `false`, which would read as a session gone or a write made.
 */
import type { DeleteRecordOptions, ListOptions, ListPage, RandomSource, RecordValue, SaveRecordOptions, StoredRecord, VersionedStoreOptions } from '../internal.js';
import {
  BackendStore,
  BackendUnavailableError,
  ConflictError,
  IntegrityError,
  InvalidInputError,
  KeyedQueue,
  MAX_TTL_MS,
  assertExpiresAt,
  assertIndexKey,
  assertSessionId,
  assertState,
  base64urlDecode,
  base64urlEncode,
  intOption,
  newVersion,
  normalizeLimit,
  optionsObject,
} from '../internal.js';

/** What this module needs of a Keyv instance (described by shape: `keyv` stays the application's). */
export interface KeyvLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** Present when the Keyv store can be iterated (Map, @keyv/redis, @keyv/postgres, ...). */
  iterator?: ((...args: unknown[]) => AsyncGenerator<[string, unknown]>) | undefined;
  readonly throwOnErrors?: boolean;
}

export interface KeyvBackendOptions extends VersionedStoreOptions {
  /** Prefix of every key this backend writes; default `sss.`. Give each application its own. */
  prefix?: string;
  /** How long past its expiry Keyv keeps a record (ms); default 1 hour. */
  graceMs?: number;
  random?: RandomSource;
}

/** Listing is refused (code `invalid_input`) when the Keyv store cannot be iterated. */
export class KeyvListingUnsupportedError extends InvalidInputError {
  constructor() {
    super('this Keyv store offers no iterator, so sessions cannot be listed (listActive, cleanupExpired); use a store that can be iterated (Map, @keyv/redis, @keyv/postgres, ...), or let the backend expire records by their Keyv TTL');
  }
}

const PREFIX_RE = /^[A-Za-z0-9._:-]{0,64}$/;
/** One lock table per Keyv instance and prefix: every backend over the same records shares it. */
const LOCKS = new WeakMap<object, Map<string, KeyedQueue>>();

function locksFor(keyv: object, prefix: string): KeyedQueue {
  let byPrefix = LOCKS.get(keyv);
  if (byPrefix === undefined) LOCKS.set(keyv, (byPrefix = new Map()));
  let queue = byPrefix.get(prefix);
  if (queue === undefined) byPrefix.set(prefix, (queue = new KeyedQueue()));
  return queue;
}

class KeyvBackend extends BackendStore {
  private readonly locks: KeyedQueue;
  private readonly prefix: string;
  private readonly graceMs: number;
  private readonly random: RandomSource | undefined;
  protected override readonly serializesOnSave = true;

  constructor(
    private readonly keyv: KeyvLike,
    options: KeyvBackendOptions,
  ) {
    super(options);
    this.prefix = options.prefix ?? 'sss.';
    if (typeof this.prefix !== 'string' || !PREFIX_RE.test(this.prefix)) throw new InvalidInputError(`prefix must match ${PREFIX_RE}`);
    this.graceMs = intOption(options.graceMs, 60 * 60 * 1000, 0, MAX_TTL_MS, 'graceMs');
    this.random = options.random;
    this.locks = locksFor(keyv, this.prefix);
  }

  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new BackendUnavailableError(`Keyv ${what} failed`, { cause: err });
    }
  }

  private async read(id: string): Promise<StoredRecord | undefined> {
    const text = await this.call('get', () => this.keyv.get(this.prefix + id));
    if (text === undefined || text === null) return undefined;
    return decode(text);
  }

  async loadRecord(id: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    assertSessionId(id);
    return this.read(id);
  }

  async saveRecord(id: string, value: RecordValue, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertSessionId(id);
    optionsObject(options, 'saveRecord options', false);
    assertExpiresAt(options.expiresAt);
    // Checked, then ignored: no per-index listing here (callers walk listActive instead).
    if (options.index !== undefined) assertIndexKey(options.index);
    if (!(value instanceof Uint8Array)) assertState(value, 'record');
    return this.locks.run(id, async () => {
      if (options.ifAbsent === true || options.ifVersion !== undefined) {
        const current = await this.read(id);
        if (options.ifAbsent === true && current !== undefined) throw new ConflictError('record already exists');
        if (options.ifVersion !== undefined && current?.version !== options.ifVersion) throw new ConflictError();
      }
      const version = newVersion(this.random);
      const wrapped = value instanceof Uint8Array ? { v: version, e: options.expiresAt, b: base64urlEncode(value) } : { v: version, e: options.expiresAt, j: value };
      const ttlMs = Math.max(1, options.expiresAt - this.now() + this.graceMs);
      const ok = await this.call('set', () => this.keyv.set(this.prefix + id, JSON.stringify(wrapped), ttlMs));
      if (ok === false) throw new BackendUnavailableError('Keyv set reported failure', { outcome: 'unknown', version });
      return version;
    });
  }

  async deleteRecord(id: string, options: DeleteRecordOptions = {}): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    optionsObject(options, 'deleteRecord options');
    return this.locks.run(id, async () => {
      const current = await this.read(id);
      if (current === undefined) return false;
      if (options.ifVersion !== undefined && current.version !== options.ifVersion) throw new ConflictError();
      await this.call('delete', () => this.keyv.delete(this.prefix + id));
      return true;
    });
  }

  /** Every entry under the prefix, sorted by id: the iterator's order is the store's, not stable across calls. */
  private async allEntries(): Promise<Array<[string, unknown]>> {
    const iterator = this.keyv.iterator;
    if (typeof iterator !== 'function') throw new KeyvListingUnsupportedError();
    const entries: Array<[string, unknown]> = [];
    await this.call('iterator', async () => {
      for await (const [key, value] of iterator.call(this.keyv)) {
        if (typeof key === 'string' && key.startsWith(this.prefix)) entries.push([key.slice(this.prefix.length), value]);
      }
    });
    return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Pages by id: the cursor is the last id returned, so no id repeats across the pages of one walk
   * whatever order the store iterates in. Each page walks the whole prefix (Keyv has no ordered
   * scan): fine for the sizes a Keyv store is chosen for, slow for millions of sessions.
   */
  async listActive(options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    optionsObject(options, 'listActive options');
    const limit = normalizeLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const now = this.now();
    const ids: string[] = [];
    const all = await this.allEntries();
    let i = after === undefined ? 0 : all.findIndex(([id]) => id > after);
    if (i < 0) i = all.length;
    for (; i < all.length && ids.length < limit; i++) {
      const [id, text] = all[i]!;
      const rec = decodeOrSkip(text);
      if (rec !== undefined && rec.expiresAt > now) ids.push(id);
    }
    return i < all.length ? { ids, cursor: CURSOR_PREFIX + base64urlEncode(new TextEncoder().encode(ids[ids.length - 1]!)) } : { ids };
  }

  async cleanupExpired(): Promise<number> {
    this.assertOpen();
    let removed = 0;
    const now = this.now();
    for (const [id, text] of await this.allEntries()) {
      const seen = decodeOrSkip(text);
      if (seen === undefined || seen.expiresAt > now) continue;
      // Checked again under the lock: the record may have been renewed since the walk read it.
      const gone = await this.locks.run(id, async () => {
        const rec = decodeOrSkip(await this.call('get', () => this.keyv.get(this.prefix + id)));
        if (rec === undefined || rec.expiresAt > now) return false;
        await this.call('delete', () => this.keyv.delete(this.prefix + id));
        return true;
      });
      if (gone) removed++;
    }
    return removed;
  }

  protected override async onClose(): Promise<void> {
    // The Keyv instance is the application's: it is not disconnected here.
    await this.locks.idle();
  }
}

const CURSOR_PREFIX = 'k1.';

/** Only cursors this backend issued are accepted. */
function decodeCursor(cursor: unknown): string {
  const bytes = typeof cursor === 'string' && cursor.startsWith(CURSOR_PREFIX) ? base64urlDecode(cursor.slice(CURSOR_PREFIX.length)) : undefined;
  if (bytes === undefined) throw new InvalidInputError('cursor is not one this store issued');
  return new TextDecoder().decode(bytes);
}

/** A listed entry that is not a record of ours (another writer under the prefix) is never listed. */
function decodeOrSkip(text: unknown): StoredRecord | undefined {
  try {
    return decode(text);
  } catch (err) {
    if (err instanceof IntegrityError) return undefined;
    throw err;
  }
}

/** A Keyv entry back into a record; anything this backend did not write is `integrity`. */
function decode(text: unknown): StoredRecord {
  let w: { v?: unknown; e?: unknown; j?: unknown; b?: unknown };
  try {
    w = typeof text === 'string' ? (JSON.parse(text) as typeof w) : (undefined as never);
  } catch {
    throw new IntegrityError();
  }
  if (w === null || typeof w !== 'object' || typeof w.v !== 'string' || typeof w.e !== 'number') throw new IntegrityError();
  if (typeof w.b === 'string') {
    const bytes = base64urlDecode(w.b);
    if (bytes === undefined) throw new IntegrityError();
    return { value: bytes, version: w.v, expiresAt: w.e };
  }
  if (w.j === null || typeof w.j !== 'object' || Array.isArray(w.j)) throw new IntegrityError();
  return { value: w.j as StoredRecord['value'], version: w.v, expiresAt: w.e };
}

/**
 * A record store over a Keyv instance, for `secureStore()` and the layers. SINGLE PROCESS ONLY
 * (header of this file). `keyv` must be built with `throwOnErrors: true`.
 */
export function keyvBackend(keyv: KeyvLike, options: KeyvBackendOptions = {}): BackendStore {
  if (keyv === null || typeof keyv !== 'object' || typeof keyv.get !== 'function' || typeof keyv.set !== 'function' || typeof keyv.delete !== 'function') {
    throw new InvalidInputError('keyvBackend needs a Keyv instance');
  }
  // Threat: Keyv's default swallows store errors, so a failed read would look like "no session"
  // and a failed write like a write made. Refuse rather than run on silent failures.
  if (keyv.throwOnErrors !== true) throw new InvalidInputError('keyvBackend needs a Keyv built with throwOnErrors: true (new Keyv({ store, throwOnErrors: true })): otherwise Keyv reports a failed read as "no value"');
  return new KeyvBackend(keyv, optionsObject(options, 'keyvBackend options'));
}
