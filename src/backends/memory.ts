/**
 * MemoryStore: the embedded default, for one process, no server. Built on lru-cache and bounded
 * by entry count and total bytes; when full, the least recently used sessions are evicted (a later
 * `load` says `not_found`), never the process's memory.
 *
 * Expiry is decided here against the injected clock on every read, not by lru-cache's TTL, which
 * would silently turn `expired` into `not_found`. States are kept serialized (JSON text) and bytes
 * are kept as copies, so nothing a caller holds can mutate what is stored, in either direction.
 */
import { LRUCache } from 'lru-cache';
import { BackendStore, type VersionedStoreOptions } from '../contract/versioned-store.js';
import { idCursor } from '../contract/cursor.js';
import { ConflictError } from '../contract/errors.js';
import { type KeysetSlotStore, type KeysetWriteCondition, type StoredKeysetText, assertKeysetWrite } from '../contract/keyset-slot.js';
import { assertIndexKey, assertIndexOption } from '../contract/index-key.js';
import { encodeRecordValue } from '../contract/record-value.js';
import { type DeleteRecordOptions, type ListOptions, type ListPage, type RecordValue, type SaveRecordOptions, type StoredRecord } from '../contract/store.js';
import { assertExpiresAt, assertSessionId, normalizeLimit } from '../contract/validate.js';
import { newVersion } from '../contract/version.js';
import { intOption } from '../util/options.js';
import type { RandomSource } from '../util/random.js';

export interface MemoryStoreOptions extends VersionedStoreOptions {
  /** Most sessions kept; default 100,000. */
  maxEntries?: number;
  /** Most bytes kept across all sessions (approximate: serialized size + id + overhead); default 256 MiB. */
  maxBytes?: number;
  /** Largest single record; bigger writes fail with `payload_too_large`. Default 4 MiB. */
  maxRecordBytes?: number;
  /** Random source for version tokens. */
  random?: RandomSource;
}

interface Entry {
  json: string | undefined;
  bytes: Uint8Array | undefined;
  version: string;
  expiresAt: number;
  size: number;
  /** The index the record is filed under (`SaveRecordOptions.index`). */
  index: string | undefined;
}

const ENTRY_OVERHEAD = 96;
const cursors = idCursor('m1.');
const indexCursors = idCursor('mx1.');

export class MemoryStore extends BackendStore implements KeysetSlotStore {
  private readonly cache: LRUCache<string, Entry>;
  private readonly maxRecordBytes: number;
  private readonly maxEntries: number;
  private readonly random: RandomSource | undefined;
  /** Ids in sorted order (may still hold deleted ids until the next merge; listing re-checks the cache). */
  private sorted: string[] = [];
  /** Ids inserted since the last merge into `sorted`. */
  private pending: string[] = [];
  /** Ids per index key. Kept in step with the cache by its dispose hook: evicted, deleted and replaced entries leave their index. */
  private readonly byIndex = new Map<string, Set<string>>();
  /** The keyset slot (contract/keyset-slot.ts): a field apart from the cache, so no eviction, expiry or listing reaches it. */
  private keyset: StoredKeysetText | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    super(options);
    this.maxEntries = intOption(options.maxEntries, 100_000, 1, 2 ** 30, 'maxEntries');
    const maxBytes = intOption(options.maxBytes, 256 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER, 'maxBytes');
    this.maxRecordBytes = Math.min(intOption(options.maxRecordBytes, 4 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER, 'maxRecordBytes'), maxBytes);
    this.random = options.random;
    this.cache = new LRUCache<string, Entry>({
      // The entry bound is enforced in saveRecord rather than with lru-cache's `max`, which
      // preallocates arrays of that size up front, for every store created.
      maxSize: maxBytes,
      sizeCalculation: (entry) => entry.size,
      // Runs for every entry that leaves the cache (evicted, deleted, replaced by `set`, cleared):
      // the index never names a record this store no longer holds. A replacement is filed again
      // by saveRecord right after.
      dispose: (entry, id) => this.unfile(id, entry.index),
    });
  }

  /** `saveRecord` validates every plain state where it serializes it (`serializeState`): `save` / `update` check only its top level. */
  protected override readonly serializesOnSave = true;


  /** Sessions currently held (expired ones included until cleanup). */
  get size(): number {
    return this.cache.size;
  }

  /** Approximate bytes currently held. */
  get bytes(): number {
    return this.cache.calculatedSize;
  }

  async loadRecord(id: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    assertSessionId(id);
    const e = this.cache.get(id);
    if (e === undefined) return undefined;
    const value: RecordValue = e.bytes !== undefined ? e.bytes.slice() : (JSON.parse(e.json!) as RecordValue);
    return { value, version: e.version, expiresAt: e.expiresAt };
  }

  async saveRecord(id: string, value: RecordValue, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertSessionId(id);
    assertExpiresAt(options.expiresAt);
    assertIndexOption(options);
    const { json, bytes: given } = encodeRecordValue(value, this.maxRecordBytes);
    // A copy: the caller keeps its buffer, and may change it.
    const bytes = given?.slice();
    const size = bytes !== undefined ? bytes.length : json!.length * 2;
    const current = this.cache.peek(id);
    if (options.ifAbsent === true && current !== undefined) throw new ConflictError('record already exists');
    if (options.ifVersion !== undefined && current?.version !== options.ifVersion) throw new ConflictError();
    const version = newVersion(this.random);
    // Full: make room by evicting the least recently used session.
    if (current === undefined && this.cache.size >= this.maxEntries) this.cache.pop();
    // Without `index`, an existing record stays filed where it is.
    const index = options.index ?? current?.index;
    const extra = index === undefined ? 0 : index.length * 2;
    this.cache.set(id, { json, bytes, version, expiresAt: options.expiresAt, size: size + extra + id.length * 2 + ENTRY_OVERHEAD, index });
    if (index !== undefined && this.cache.peek(id)?.version === version) this.file(id, index);
    if (current === undefined) this.pending.push(id);
    return version;
  }

  async deleteRecord(id: string, options: DeleteRecordOptions = {}): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    const current = this.cache.peek(id);
    if (current === undefined) return false;
    if (options.ifVersion !== undefined && current.version !== options.ifVersion) throw new ConflictError();
    this.cache.delete(id);
    return true;
  }

  async listActive(options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    const limit = normalizeLimit(options.limit);
    const after = options.cursor === undefined ? undefined : cursors.decode(options.cursor);
    this.mergePending();
    const now = this.now();
    // Sorted ids make the cursor stable under concurrent writes: a page resumes strictly after the
    // last id returned, so no id repeats across pages whatever was added or removed meanwhile.
    let i = after === undefined ? 0 : upperBound(this.sorted, after);
    const ids: string[] = [];
    for (; i < this.sorted.length && ids.length < limit; i++) {
      const id = this.sorted[i]!;
      const e = this.cache.peek(id);
      if (e !== undefined && e.expiresAt > now) ids.push(id);
    }
    const last = ids[ids.length - 1];
    return i < this.sorted.length && last !== undefined ? { ids, cursor: cursors.encode(last) } : { ids };
  }

  /** Ids filed under `index` (expired ones too, until cleanup), in id order. */
  async listByIndex(index: string, options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    assertIndexKey(index);
    const limit = normalizeLimit(options.limit);
    const after = options.cursor === undefined ? undefined : indexCursors.decode(options.cursor);
    // One subject's sessions: a small set, sorted per page (ids compare by UTF-16 code units, like `<`).
    const all = [...(this.byIndex.get(index) ?? [])].sort();
    const from = after === undefined ? 0 : upperBound(all, after);
    const ids = all.slice(from, from + limit);
    const last = ids[ids.length - 1];
    return from + limit < all.length && last !== undefined ? { ids, cursor: indexCursors.encode(last) } : { ids };
  }

  async cleanupExpired(): Promise<number> {
    this.assertOpen();
    const now = this.now();
    const expired: string[] = [];
    for (const [id, e] of this.cache.entries()) if (e.expiresAt <= now) expired.push(id);
    for (const id of expired) this.cache.delete(id);
    return expired.length;
  }

  async loadKeysetText(): Promise<StoredKeysetText | undefined> {
    this.assertOpen();
    return this.keyset === undefined ? undefined : { ...this.keyset };
  }

  async saveKeysetText(text: string, condition: KeysetWriteCondition): Promise<string> {
    this.assertOpen();
    const { ifAbsent, ifVersion } = assertKeysetWrite(text, condition);
    if (ifAbsent && this.keyset !== undefined) throw new ConflictError('a keyset is already stored');
    if (ifVersion !== undefined && this.keyset?.version !== ifVersion) throw new ConflictError('the stored keyset changed concurrently');
    const version = newVersion(this.random);
    this.keyset = { text, version };
    return version;
  }

  async deleteKeysetText(): Promise<boolean> {
    this.assertOpen();
    const had = this.keyset !== undefined;
    this.keyset = undefined;
    return had;
  }

  protected override async onClose(): Promise<void> {
    this.cache.clear();
    this.byIndex.clear();
    this.sorted = [];
    this.pending = [];
  }

  private file(id: string, index: string): void {
    let ids = this.byIndex.get(index);
    if (ids === undefined) this.byIndex.set(index, (ids = new Set()));
    ids.add(id);
  }

  private unfile(id: string, index: string | undefined): void {
    if (index === undefined) return;
    const ids = this.byIndex.get(index);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.byIndex.delete(index);
  }

  /** Folds ids inserted since the last listing into the sorted index and drops ids no longer held. */
  private mergePending(): void {
    if (this.pending.length === 0 && this.sorted.length <= this.cache.size * 2) return;
    // The default sort orders strings by UTF-16 code units, as `<` does (what upperBound relies
    // on), and without a comparator call per pair.
    const fresh = this.pending.sort();
    this.pending = [];
    const merged: string[] = [];
    let a = 0;
    let b = 0;
    while (a < this.sorted.length || b < fresh.length) {
      const x = this.sorted[a];
      const y = fresh[b];
      let next: string;
      if (y === undefined || (x !== undefined && x <= y)) {
        next = x!;
        a++;
        if (x === y) b++;
      } else {
        next = y;
        b++;
      }
      if (merged[merged.length - 1] !== next && this.cache.has(next)) merged.push(next);
    }
    this.sorted = merged;
  }
}

/** First index whose id sorts strictly after `id`. */
function upperBound(ids: string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
