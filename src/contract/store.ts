/**
 * The two contracts every store in this library keeps.
 *
 * `SessionStore` is what an application or a protocol server needs of a session store: save, load,
 * delete, list, clean up, merge, extend, all async. `RecordStore` adds the record-level
 * compare-and-swap that lets a layer (encryption, TTL, ownership) keep `update` atomic over ANY
 * inner store: a layer cannot ask the server to merge a state it only sees sealed, so it reads a
 * versioned record, transforms it, and writes it back only if the version is unchanged.
 */

/** Any JSON value. States are JSON objects; nothing else survives every backend. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A session state: a plain JSON object. */
export type SessionState = { [key: string]: JsonValue };

export interface SaveOptions {
  /** Time to live in milliseconds from now; positive. Defaults to the store's `defaultTtlMs`. */
  ttlMs?: number;
}

export interface ListOptions {
  /** Page size; defaults to 100, at most 1000. */
  limit?: number;
  /** The opaque `cursor` of the previous page. */
  cursor?: string;
}

export interface ListPage {
  ids: string[];
  /** Present when more ids may follow; pass it back to get them. */
  cursor?: string;
}

/**
 * The change `update(id, fn)` makes, computed from the current state. `fn(current)` returns the keys
 * to change (merged shallowly into the state, as `update(id, partial)` merges) or the whole next
 * state; a key it leaves out keeps its value, so remove a key with `save` or set it to `null`.
 *
 * It runs INSIDE the compare-and-swap loop: once per attempt, so possibly several times for one
 * call (each time on the state as it is then), and only what the last run returned is written. So
 * it must be pure and synchronous: no I/O, no side effects, nothing that depends on how many times
 * it runs. A function that returns a promise is refused with `invalid_input`; one that throws ends
 * the update with nothing written, and the update rejects with what it threw.
 */
export type StateUpdater = (current: SessionState) => SessionState;

export interface SessionStore {
  /** Optional start-up (connect, migrate, start timers). Idempotent. */
  start?(): Promise<void>;
  /** Stops timers and waits for in-flight compare-and-swap loops. Idempotent. Does not close injected clients. */
  close(): Promise<void>;
  /** Creates or replaces the session. */
  save(id: string, state: SessionState, options?: SaveOptions): Promise<void>;
  /** Resolves the state; rejects `not_found` or `expired` (an expired session stays distinguishable until cleanup). */
  load(id: string): Promise<SessionState>;
  /** Removes the session. Idempotent: resolves whether or not it existed. */
  delete(id: string): Promise<void>;
  /** Ids that exist and are not expired, one page at a time; no id repeats across the pages of one walk. */
  listActive(options?: ListOptions): Promise<ListPage>;
  /** Removes expired sessions; resolves how many it removed. */
  cleanupExpired(): Promise<number>;
  /**
   * Atomic shallow merge into the state: of `change` itself, or of what `change(current)` returns
   * (an atomic read-modify-write; see `StateUpdater`: it may run more than once, keep it pure).
   * Never creates a session and never resurrects a deleted one.
   */
  update(id: string, change: SessionState | StateUpdater): Promise<void>;
  /** Sets the session to expire `ttlMs` from now. */
  updateTtl(id: string, ttlMs: number): Promise<void>;
}

/** What a record holds: a plain state, or the opaque bytes of a sealed envelope. */
export type RecordValue = SessionState | Uint8Array;

export interface StoredRecord<V extends RecordValue = RecordValue> {
  value: V;
  /** Opaque token; never repeats for an id, so a delete + re-create never satisfies an old `ifVersion`. */
  version: string;
  /** Epoch milliseconds after which the record is expired. */
  expiresAt: number;
}

export interface SaveRecordOptions {
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Write only if the current record has exactly this version; otherwise `conflict`. */
  ifVersion?: string;
  /** Write only if no record exists under the id (an expired one counts as existing); otherwise `conflict`. */
  ifAbsent?: boolean;
  /**
   * Files the record under this index key, for `listByIndex` (the ownership layer passes a keyed
   * hash of the session's subject, never the subject). A save with `index` files the record there,
   * moving it from any other index; a save without `index` creates an unfiled record, or leaves an
   * existing record where it is filed (so a re-seal or re-key that knows nothing of indexes keeps
   * it). Deleting the record, or cleaning it up once expired, takes it out of its index. 1..128
   * visible ASCII characters (`assertIndexKey`). A store without `listByIndex` accepts and ignores it.
   */
  index?: string;
}

export interface DeleteRecordOptions {
  /** Delete only if the current record has exactly this version; otherwise `conflict`. */
  ifVersion?: string;
}

/**
 * The record-level contract, kept by every backend and every layer.
 *
 * `loadRecord` returns expired records too (until cleanup or the backend's grace window ends):
 * deciding what expiry means is the caller's business.
 */
export interface RecordStore<V extends RecordValue = RecordValue> extends SessionStore {
  loadRecord(id: string): Promise<StoredRecord<V> | undefined>;
  /** Resolves the new version, or rejects `conflict` when a condition fails. */
  saveRecord(id: string, value: V, options: SaveRecordOptions): Promise<string>;
  /** Resolves whether a record was deleted; rejects `conflict` when `ifVersion` names another version. */
  deleteRecord(id: string, options?: DeleteRecordOptions): Promise<boolean>;
  /**
   * Optional: the ids of the records filed under `index` (see `SaveRecordOptions.index`), in id
   * order, one page at a time, without opening any other record. Expired records are listed too
   * until cleanup or the backend's grace window removes them (as `loadRecord` returns them: the
   * caller decides what expiry means). Every built-in backend keeps it; the single-process adapter
   * does not, and a caller then falls back to walking `listActive` (see `isIndexedStore`).
   */
  listByIndex?(index: string, options?: ListOptions): Promise<ListPage>;
}

/** A record store that keeps the per-index listing. */
export type IndexedRecordStore<V extends RecordValue = RecordValue> = RecordStore<V> & {
  listByIndex(index: string, options?: ListOptions): Promise<ListPage>;
};

export function isIndexedStore<V extends RecordValue>(store: RecordStore<V>): store is IndexedRecordStore<V> {
  return typeof store === 'object' && store !== null && typeof (store as Partial<IndexedRecordStore<V>>).listByIndex === 'function';
}

export function isRecordStore(store: SessionStore): store is RecordStore {
  if (store === null || typeof store !== 'object') return false;
  const s = store as Partial<RecordStore>;
  return typeof s.loadRecord === 'function' && typeof s.saveRecord === 'function' && typeof s.deleteRecord === 'function';
}
